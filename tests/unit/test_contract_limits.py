"""Limits of the contract that hold for bytes off the topic: nesting depth, batch size, binary mode.

A message that breaks one gets a reason like any other bad input and never an
exception: the ingest and `sentinel replay` both go through `decode_message`.
"""

from __future__ import annotations

from typing import Any

import pytest

from schemas import codec
from schemas.events import MAX_DEPTH, decode_message
from tests.unit.contract_samples import envelope


def nested(levels: int, leaf: Any = 1) -> Any:
    """`leaf` inside `levels` arrays."""
    for _ in range(levels):
        leaf = [leaf]
    return leaf


def _with_data_nesting(total_levels: int) -> dict[str, Any]:
    """A valid contact.made whose deepest point is `total_levels` containers down (the event is one)."""
    data = {"channel": "phone", "direction": "inbound", "x": nested(total_levels - 2)}
    return envelope("contact.made", data)


def test_an_event_nested_to_the_limit_is_accepted_and_one_level_more_is_too_deep() -> None:
    accepted, rejected = decode_message(codec.dumps(_with_data_nesting(MAX_DEPTH)))
    assert (len(accepted), rejected) == (1, [])
    value = codec.dumps(_with_data_nesting(MAX_DEPTH + 1))
    accepted, rejected = decode_message(value)
    assert accepted == []
    assert [(bad.index, bad.reason, bad.raw) for bad in rejected] == [(None, "too_deep", value)]


@pytest.mark.parametrize("levels", [300, 1_000, 10_000])
def test_a_value_nested_far_too_deep_is_too_deep(levels: int) -> None:
    """orjson reads 1,024 levels and writes 255: neither may decide what a deep value becomes."""
    value = b'{"data":' + b"[" * levels + b"]" * levels + b"}"
    accepted, rejected = decode_message(value)
    assert accepted == []
    assert [(bad.reason, bad.raw) for bad in rejected] == [("too_deep", value)]


@pytest.mark.parametrize("levels", [300, 1_000])
def test_a_batch_element_nested_far_too_deep_is_dead_lettered_on_its_own(levels: int) -> None:
    element = b"[" * levels + b"]" * levels
    good = codec.dumps(envelope())
    accepted, rejected = decode_message(b"[" + good + b"," + element + b"]")
    assert len(accepted) == 1
    assert [(bad.index, bad.reason, bad.raw) for bad in rejected] == [(1, "too_deep", element)]


def test_values_deeper_than_orjson_writes_are_written_in_the_same_bytes() -> None:
    text = b'{"a":' + b'[{"k":"\xc3\xa9","v":' * 400 + b"null" + b"}]" * 400 + b',"b":1.5,"c":{},"d":[]}'
    assert codec.dumps(codec.loads(text)) == text


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1.8e308", b"NaN", b"Infinity", b"-Infinity"])
def test_numbers_beyond_a_double_are_not_json(number: bytes) -> None:
    """Read as infinity, they would reach the state; orjson refuses them, and so must any codec."""
    value = codec.dumps(envelope("order.placed", {"amount": 1})).replace(b'"amount":1', b'"amount":' + number)
    accepted, rejected = decode_message(value)
    assert accepted == []
    assert [(bad.reason, bad.raw) for bad in rejected] == [("invalid_json", value)]


def test_the_largest_double_is_an_amount() -> None:
    value = codec.dumps(envelope("order.placed", {"amount": 1.7976931348623157e308}))
    accepted, _ = decode_message(value)
    assert [event.data["amount"] for event in accepted] == [1.7976931348623157e308]
