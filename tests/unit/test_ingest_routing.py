"""Ingest's pure part: routing by customer, dead letters with reasons, and input clocks."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from agents import ingest
from agents.ingest import (
    BATCH_MAX_BYTES,
    MAX_REQUEST_BYTES,
    MESSAGE_HEADER_MAX_BYTES,
    DeadLetter,
    Routed,
    route,
    split,
)
from schemas import codec
from schemas.batches import ClockReport, Origin, decode_internal, encode_batch, encode_row, partition_for
from schemas.events import MAX_EVENT_BYTES, Touchpoint
from schemas.timestamps import parse_instant
from streams.settings import Settings

ORIGIN = Origin(0, 0)


def _record(
    value: bytes | None,
    offset: int,
    partition: int = 0,
    headers: list[tuple[str, bytes | None]] | None = None,
    key: bytes | None = b"k",
) -> ConsumerRecord:
    return ConsumerRecord(
        topic="touchpoints",
        partition=partition,
        offset=offset,
        timestamp=1_700_000_000_000 + offset,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value or b""),
        headers=headers or [],
    )


def _forwarded(routed: Routed) -> dict[int, list[Touchpoint]]:
    """The touchpoints routed to each internal partition, read back from their rows."""
    return {
        partition: decode_internal(encode_batch(rows, ClockReport())).events
        for partition, rows in routed.batches.items()
    }


def _event(subject: str, event_id: str, time: str = "2026-03-01T09:00:00Z") -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "crm",
        "type": "contact.made",
        "subject": subject,
        "time": time,
        "data": {"channel": "phone", "direction": "inbound"},
    }


def test_events_are_routed_to_their_customers_partition_with_the_input_clock() -> None:
    records = [
        _record(codec.dumps(_event("C-1", "e1")), 0),
        _record(
            codec.dumps([_event("C-2", "e2", "2026-03-02T09:00:00Z"), _event("C-1", "e3")]), 1, partition=3
        ),
    ]
    routed = route(records, 4, not_after_ms=None)
    assert routed.dead_letters == []
    assert routed.accepted_by_type == {"contact.made": 3}
    placed = {event.id: partition for partition, events in _forwarded(routed).items() for event in events}
    assert placed == {
        "e1": partition_for("C-1", 4),
        "e2": partition_for("C-2", 4),
        "e3": partition_for("C-1", 4),
    }
    assert routed.latest_by_input == {"touchpoints:0": 1772355600000, "touchpoints:3": 1772442000000}


def test_bad_input_becomes_dead_letters_with_reason_and_origin() -> None:
    batch = codec.dumps([_event("C-1", "ok"), {"specversion": "1.0"}])
    routed = route([_record(b"{oops", 7), _record(batch, 8)], 4, not_after_ms=None)
    first, second = routed.dead_letters
    assert first.value == b"{oops"
    assert dict(first.headers)["sentinel-reason"] == b"invalid_json"
    assert dict(first.headers)["sentinel-source-offset"] == b"7"
    assert "sentinel-batch-index" not in dict(first.headers)
    assert dict(second.headers)["sentinel-batch-index"] == b"1"
    assert second.value == b'{"specversion":"1.0"}'
    assert sum(len(rows) for rows in routed.batches.values()) == 1


def test_binary_mode_reads_attributes_from_ce_headers() -> None:
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"b1"),
        ("ce_source", b"crm"),
        ("ce_type", b"order.placed"),
        ("ce_subject", b"C-9"),
        ("ce_time", b"2026-03-01T09:00:00Z"),
    ]
    routed = route([_record(b'{"amount": 120}', 0, headers=headers)], 2, not_after_ms=None)
    (events,) = _forwarded(routed).values()
    assert (events[0].id, events[0].type, events[0].data) == ("b1", "order.placed", {"amount": 120})


def test_events_further_ahead_than_the_future_tolerance_are_refused_in_live_operation() -> None:
    now = parse_instant("2026-03-01T09:00:00Z")
    ahead = [_event("C-1", "in-59m", "2026-03-01T09:59:00Z"), _event("C-1", "in-20h", "2026-03-02T05:00:00Z")]
    routed = route([_record(codec.dumps(ahead), 0)], 2, not_after_ms=now + Settings().future_tolerance)
    assert [event.id for events in _forwarded(routed).values() for event in events] == ["in-59m"]
    (dead,) = routed.dead_letters
    assert (dead.reason, codec.loads(dead.value)["id"]) == ("time_in_future", "in-20h")
    assert "2026-03-01T10:00:00Z" in dict(dead.headers)["sentinel-message"].decode()


def test_only_the_last_chunk_claims_the_new_clocks() -> None:
    routed = route([_record(codec.dumps(_event("C-1", f"e{n}")), n) for n in range(5)], 1, not_after_ms=None)
    before, after = ClockReport({"t:0": 1}, [], 2), ClockReport({"t:0": 9}, ["t:1"], 2)
    chunks = [decode_internal(value) for value in split(routed.batches[0], 2, BATCH_MAX_BYTES, before, after)]
    assert [len(chunk.events) for chunk in chunks] == [2, 2, 1]
    assert [chunk.clocks for chunk in chunks] == [before, before, after]
    assert [chunk.received_ms for chunk in chunks][-1] == [1_700_000_000_004]
    assert [origin for chunk in chunks for origin in chunk.origins] == [(0, n) for n in range(5)]


def test_a_burst_of_60_kb_events_is_cut_into_messages_the_producer_may_send() -> None:
    """Cut by count alone, 2,000 events of 60 KB made one message of 120 MB."""
    data = {"channel": "phone", "direction": "inbound", "note": "x" * 60_000}
    burst = [_record(codec.dumps({**_event("C-1", f"e{n}"), "data": data}), n) for n in range(40)]
    routed = route(burst, 1, not_after_ms=None)
    clocks = ClockReport({f"touchpoints:{n}": 1_772_355_600_000 for n in range(64)}, [], 64)
    chunks = list(split(routed.batches[0], Settings().batch_max_events, BATCH_MAX_BYTES, clocks, clocks))
    assert BATCH_MAX_BYTES < MAX_REQUEST_BYTES
    assert all(len(chunk) <= BATCH_MAX_BYTES for chunk in chunks)
    assert len(chunks) == 5
    forwarded = [event.id for chunk in chunks for event in decode_internal(chunk).events]
    assert forwarded == [f"e{n}" for n in range(40)]


def test_a_row_larger_than_the_byte_cap_goes_alone() -> None:
    small, large = Touchpoint("s", "crm", "lead.created", "C-1", 0, {}), {"note": "x" * 500}
    rows = [
        encode_row(small, 0, ORIGIN),
        encode_row(Touchpoint("l", "crm", "lead.created", "C-1", 0, large), 0, ORIGIN),
    ]
    rows += [encode_row(small, 0, ORIGIN), encode_row(small, 0, ORIGIN)]
    cap = len(encode_batch(rows[2:], ClockReport()))
    chunks = [decode_internal(chunk) for chunk in split(rows, 10, cap, ClockReport(), ClockReport())]
    assert [[event.id for event in chunk.events] for chunk in chunks] == [["s"], ["l"], ["s", "s"]]


def test_an_event_with_data_nested_300_deep_is_dead_lettered_not_forwarded() -> None:
    """orjson writes at most 255 levels: once accepted, such an event made the internal batch fail."""
    shallow = codec.dumps({**_event("C-1", "deep"), "data": {"channel": "phone", "direction": "inbound"}})
    value = shallow[:-2] + b',"x":' + b"[" * 300 + b"]" * 300 + b"}}"
    routed = route([_record(value, 0)], 2, not_after_ms=None)
    assert [(dead.reason, dead.value) for dead in routed.dead_letters] == [("too_deep", value)]
    assert routed.batches == {}


def test_a_binary_mode_header_without_a_value_is_dead_lettered() -> None:
    headers: list[tuple[str, bytes | None]] = [("ce_specversion", b"1.0"), ("ce_id", None)]
    routed = route([_record(b'{"amount": 1}', 0, headers=headers)], 2, not_after_ms=None)
    assert [dead.reason for dead in routed.dead_letters] == ["missing_attribute"]


def _request_size(dead: DeadLetter) -> int:
    """What aiokafka's producer weighs a record at against its max_request_size."""
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(dead.key, dead.value, dead.headers)
    return size


@pytest.mark.parametrize(
    ("key_size", "value_size"),
    [(1, 2 * 1024 * 1024), (1, MAX_REQUEST_BYTES - 100), (2 * 1024 * 1024, 10), (600_000, 600_000)],
    ids=["value-2MiB", "value-just-under-the-limit", "key-2MiB", "key-and-value-600KB"],
)
def test_a_dead_letter_never_exceeds_what_the_producer_may_send(key_size: int, value_size: int) -> None:
    """Its own bytes were read, but a copy with headers added is over the limit: it is cut to fit."""
    key, value = b"k" * key_size, b"v" * value_size
    (dead,) = route([_record(value, 5, key=key)], 2, not_after_ms=None).dead_letters
    assert dead.reason == ("too_large" if value_size > MAX_EVENT_BYTES else "invalid_json")
    assert _request_size(dead) <= MAX_REQUEST_BYTES
    headers = dict(dead.headers)
    assert headers["sentinel-truncated"] == b"true"
    assert headers["sentinel-original-size"] == str(value_size).encode()
    assert value.startswith(dead.value) and len(dead.value) > value_size // 3
    assert headers["sentinel-source-offset"] == b"5"
    assert dead.key is not None and key.startswith(dead.key)
    if dead.key != key:
        assert headers["sentinel-original-key-size"] == str(key_size).encode()


def test_a_dead_letter_that_fits_is_sent_as_it_came() -> None:
    value = b"v" * 900_000
    (dead,) = route([_record(value, 5, key=None)], 2, not_after_ms=None).dead_letters
    assert (dead.key, dead.value) == (None, value)
    assert "sentinel-truncated" not in dict(dead.headers)


def test_the_reason_message_header_is_kept_short() -> None:
    value = codec.dumps({**_event("C-1", "e1"), "type": "x" * 60_000})
    (dead,) = route([_record(value, 0)], 2, not_after_ms=None).dead_letters
    assert dead.reason == "unknown_type"
    assert len(dict(dead.headers)["sentinel-message"]) <= MESSAGE_HEADER_MAX_BYTES
    assert dead.value == value


def test_a_record_routing_fails_on_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug met by one record costs that record, never the poll or the worker."""
    decode = ingest.decode_message

    def failing_on_boom(value: bytes, **kwargs: Any) -> Any:
        if value == b"boom":
            raise KeyError("no such thing")
        return decode(value, **kwargs)

    monkeypatch.setattr(ingest, "decode_message", failing_on_boom)
    records = [_record(codec.dumps(_event("C-1", "e1")), 0), _record(b"boom", 1, key=b"C-2")]
    records.append(_record(codec.dumps(_event("C-1", "e2")), 2))
    routed = route(records, 1, not_after_ms=None)
    assert [event.id for event in _forwarded(routed)[0]] == ["e1", "e2"]
    (dead,) = routed.dead_letters
    headers = dict(dead.headers)
    assert (dead.reason, dead.key, dead.value) == ("internal_error", b"C-2", b"boom")
    assert (headers["sentinel-reason"], headers["sentinel-error"]) == (b"internal_error", b"KeyError")
    assert headers["sentinel-source-offset"] == b"1"
    assert b"no such thing" in headers["sentinel-message"]
