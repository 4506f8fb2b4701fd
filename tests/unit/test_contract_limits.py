"""Limits of the contract that hold for bytes off the topic: nesting depth, batch size, binary mode.

A message that breaks one gets a reason like any other bad input and never an
exception: the ingest and `sentinel replay` both go through `decode_message`.
"""

from __future__ import annotations

from typing import Any

import pytest

from schemas import codec
from schemas.errors import InvalidEvent
from schemas.events import (
    MAX_BATCH_EVENTS,
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    MAX_MESSAGE_BYTES,
    decode_message,
    event_from_binary,
)
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


def test_a_batch_holds_at_most_its_limit_of_elements() -> None:
    """One message must not turn into any number of dead letters: a longer array is one too_large."""
    accepted, rejected = decode_message(b"[" + b",".join([b"0"] * MAX_BATCH_EVENTS) + b"]")
    assert accepted == []
    assert {bad.reason for bad in rejected} == {"not_an_object"}
    assert len(rejected) == MAX_BATCH_EVENTS
    value = b"[" + b",".join([b"0"] * (MAX_BATCH_EVENTS + 1)) + b"]"
    accepted, rejected = decode_message(value)
    assert accepted == []
    assert [(bad.index, bad.reason, bad.raw) for bad in rejected] == [(None, "too_large", value)]
    assert f"{MAX_BATCH_EVENTS + 1:,} elements" in rejected[0].message


def test_the_smallest_valid_events_reach_the_byte_limit_before_the_element_limit() -> None:
    smallest = {"specversion": "1.0", "id": "1", "source": "s", "type": "deal.lost", "subject": "C"}
    smallest |= {"time": "2026-03-01T09:30:00Z", "data": {}}
    assert decode_message(codec.dumps(smallest))[1] == []
    assert len(codec.dumps([smallest] * MAX_BATCH_EVENTS)) > MAX_MESSAGE_BYTES


def test_a_batch_message_is_at_most_the_message_size_limit() -> None:
    events_in_a_mebibyte = MAX_MESSAGE_BYTES // len(codec.dumps(envelope(id="e0000")))
    value = codec.dumps([envelope(id=f"e{n:04d}") for n in range(events_in_a_mebibyte + 100)])
    assert len(value) > MAX_MESSAGE_BYTES
    accepted, rejected = decode_message(value)
    assert accepted == []
    assert [(bad.index, bad.reason, bad.raw) for bad in rejected] == [(None, "too_large", value)]


def test_an_empty_batch_is_rejected_not_dropped() -> None:
    accepted, rejected = decode_message(b" [ ] ")
    assert accepted == []
    assert [(bad.index, bad.reason, bad.raw) for bad in rejected] == [(None, "not_an_object", b" [ ] ")]


BINARY = {
    "ce_specversion": b"1.0",
    "ce_id": b"b1",
    "ce_source": b"crm",
    "ce_type": b"contact.made",
    "ce_subject": b"C-9",
    "ce_time": b"2026-03-01T09:00:00Z",
}
BINARY_DATA = b'{"channel":"phone","direction":"inbound"}'


def _binary_reason(headers: dict[str, bytes | None], value: bytes = BINARY_DATA) -> str | None:
    try:
        event_from_binary(headers, value)
    except InvalidEvent as error:
        return error.reason
    return None


def test_a_binary_mode_header_without_a_value_is_an_absent_attribute() -> None:
    """Kafka headers may carry null; CloudEvents counts a null attribute as absent."""
    assert _binary_reason({**BINARY, "ce_id": None}) == "missing_attribute"
    assert _binary_reason({**BINARY, "ce_traceparent": None}) is None


def test_a_binary_mode_attribute_that_is_not_utf8_is_invalid() -> None:
    """Decoded with replacement characters, two different bad ids would be the same id."""
    assert _binary_reason({**BINARY, "ce_id": b"b\xff"}) == "invalid_attribute"


def test_binary_mode_attributes_count_toward_the_event_size() -> None:
    assert _binary_reason(BINARY) is None
    assert _binary_reason({**BINARY, "ce_source": b"s" * MAX_EVENT_BYTES}) == "too_large"


def test_binary_mode_data_nested_too_deep_is_too_deep() -> None:
    assert _binary_reason(BINARY, b'{"x":' + b"[" * 100 + b"]" * 100 + b"}") == "too_deep"
    assert _binary_reason(BINARY, b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}") == "too_deep"
