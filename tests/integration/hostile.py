"""Hostile traffic: bad messages of every kind a topic can carry, between valid lifecycles.

Seeded, and every message knows what the worker must make of it: the dead
letters it gives (reason and batch index), or the touchpoint line it is, for
`replay` of the valid subset. The expectations are written here from the
contract (shared/spec/events.md and the limits in `schemas.events`), never by
asking the code under test.

What is valid and still hostile:
- keys: the subject is the message key by contract, but the worker routes by
  the subject and checks no key, so a valid event under a null or another
  customer's key is processed like any (it goes to its customer's partition
  here, as upstream would send it, so per-customer order holds);
- exact duplicates (same source and id, right after the original) are ignored
  and counted, not dead-lettered;
- times in 1970 are valid but centuries late against the history's watermark.
  A late event's deadline behind the watermark fires at once ("Time" in
  patterns.md), while a live worker may not have moved its watermark that far
  yet when it reads the event; so a customer whose events clear a deadline
  before it falls could give other alerts online than in a replay, as the spec
  allows for late input. Each 1970 customer is therefore one lead nobody
  follows up: its alert is the same whenever the watermark passes;
- a burst of 60 KB events, all for one internal partition, more than a 1 MiB
  message holds;
- orders of 1e308 (finite, so valid), one per customer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zlib import crc32

from schemas import codec
from schemas.events import MAX_BATCH_EVENTS, MAX_DEPTH, MAX_EVENT_BYTES, MAX_MESSAGE_BYTES
from schemas.timestamps import DAY, HOUR, MINUTE, format_instant, parse_instant

Headers = tuple[tuple[str, bytes | None], ...]
DeadLetters = tuple[tuple[int | None, str], ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One message to produce, and what the worker must make of it."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    category: str = "valid"
    dead: DeadLetters = ()
    """(batch index or None, reason) of each dead letter it must give; empty for a valid message."""
    line: bytes | None = None
    """For a valid message, the line `replay` of the valid subset reads."""


@dataclass(slots=True)
class Traffic:
    messages: list[Message] = field(default_factory=list)
    duplicates: int = 0

    @property
    def valid_lines(self) -> list[bytes]:
        return [message.line for message in self.messages if message.line is not None]

    @property
    def bad_messages(self) -> int:
        return sum(1 for message in self.messages if message.dead)


def input_partition(subject: str, partitions: int) -> int:
    return crc32(subject.encode()) % partitions


def _event(n: int, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": f"bad-{n}",
        "source": "hostile",
        "type": "contact.made",
        "subject": f"C-bad-{n % 997}",
        "time": "2024-01-10T10:00:00Z",
        "data": {"channel": "phone", "direction": "inbound"},
    }
    event.update(changes)
    return event


def _order(n: int, amount: Any) -> dict[str, Any]:
    return _event(n, type="order.placed", data={"amount": amount, "currency": "EUR"})


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _with_data_field(n: int, raw: bytes) -> bytes:
    """A contact.made whose data carries `raw` (JSON text) as field x."""
    shallow = codec.dumps(_event(n))
    return shallow[:-2] + b',"x":' + raw + b"}}"


Built = tuple[bytes | None, Headers, DeadLetters]
Builder = Callable[[random.Random, int], Built]

_NOT_JSON_STARTS = b"!#$%&'()*+./:;<=>?@\\^_`|~\x00\x01\x7f\xff"
BINARY_ATTRIBUTES: Headers = (
    ("ce_specversion", b"1.0"),
    ("ce_id", b"binary-1"),
    ("ce_source", b"hostile"),
    ("ce_type", b"contact.made"),
    ("ce_subject", b"C-binary"),
    ("ce_time", b"2024-01-10T10:00:00Z"),
)


def _one(reason: str) -> DeadLetters:
    return ((None, reason),)


def _random_bytes(rng: random.Random, n: int) -> Built:
    start = _NOT_JSON_STARTS[rng.randrange(len(_NOT_JSON_STARTS))]
    return bytes([start]) + rng.randbytes(rng.randrange(64)), (), _one("invalid_json")


def _over_event_size(rng: random.Random, n: int) -> Built:
    note = "x" * (MAX_EVENT_BYTES + rng.randrange(1, 8000))
    return (
        codec.dumps(_event(n, data={"channel": "phone", "direction": "inbound", "note": note})),
        (),
        _one("too_large"),
    )


def _over_request_size(rng: random.Random, n: int) -> Built:
    """2 MiB: the embedded broker stores it; the worker's copy must be cut to what it may send."""
    note = "y" * (2 * 1024 * 1024)
    return (
        codec.dumps(_event(n, data={"channel": "phone", "direction": "inbound", "note": note})),
        (),
        _one("too_large"),
    )


def _invalid_utf8(rng: random.Random, n: int) -> Built:
    value = codec.dumps(_event(n, subject="C-PLACE")).replace(b"C-PLACE", b"C-\xff\xfe" + rng.randbytes(2))
    return value, (), _one("invalid_json")


def _nested_far_too_deep(rng: random.Random, n: int) -> Built:
    value = _nested(10_000) if n % 2 else b'{"data":' + _nested(rng.randrange(1_100, 10_000)) + b"}"
    return value, (), _one("too_deep")


def _data_nested_300(rng: random.Random, n: int) -> Built:
    return _with_data_field(n, _nested(300)), (), _one("too_deep")


def _data_nested_one_over(rng: random.Random, n: int) -> Built:
    return _with_data_field(n, _nested(MAX_DEPTH - 1)), (), _one("too_deep")


def _batch_of_deep_elements(rng: random.Random, n: int) -> Built:
    return (
        b"[" + _nested(300) + b"," + _nested(rng.randrange(70, 1_000)) + b"]",
        (),
        (
            (0, "too_deep"),
            (1, "too_deep"),
        ),
    )


def _batch_too_many(rng: random.Random, n: int) -> Built:
    return (
        b"[" + b",".join([b"0"] * (MAX_BATCH_EVENTS + 1 + rng.randrange(10_000))) + b"]",
        (),
        _one("too_large"),
    )


def _batch_over_message_size(rng: random.Random, n: int) -> Built:
    element = codec.dumps(_event(n))
    value = b"[" + b",".join([element] * (MAX_MESSAGE_BYTES // len(element) + 50)) + b"]"
    return value, (), _one("too_large")


def _batch_of_junk(rng: random.Random, n: int) -> Built:
    """The most dead letters one message may give: MAX_BATCH_EVENTS, one per element."""
    elements = [b"0", b'"x"', b"null", b"[]", b"true"]
    value = b"[" + b",".join(elements[index % 5] for index in range(MAX_BATCH_EVENTS)) + b"]"
    return value, (), tuple((index, "not_an_object") for index in range(MAX_BATCH_EVENTS))


def _empty_batch(rng: random.Random, n: int) -> Built:
    return rng.choice([b"[]", b" [ ] "]), (), _one("not_an_object")


def _amount_beyond_double(rng: random.Random, n: int) -> Built:
    token = rng.choice([b"1e400", b"-1e400", b"1.8e308", b"NaN", b"Infinity", b"-Infinity"])
    value = codec.dumps(_order(n, 12345)).replace(b'"amount":12345', b'"amount":' + token)
    return value, (), _one("invalid_json")


def _amount_minus_1e308(rng: random.Random, n: int) -> Built:
    return codec.dumps(_order(n, -1e308)), (), _one("invalid_field")


def _time_9999(rng: random.Random, n: int) -> Built:
    return codec.dumps(_event(n, time="9999-12-31T23:59:59Z")), (), _one("time_in_future")


def _wrong_type(rng: random.Random, n: int) -> Built:
    variants: list[tuple[Any, str]] = [
        (_event(n, id=n), "invalid_attribute"),
        (_event(n, subject=1001), "invalid_attribute"),
        (_event(n, time=1_704_880_800_000), "invalid_attribute"),
        (_event(n, data="channel=phone"), "invalid_attribute"),
        (_event(n, specversion=1.0), "invalid_attribute"),
        (_event(n, type=7), "invalid_attribute"),
        (_event(n, type="feedback.received", data={"score": "7"}), "invalid_field"),
        (_event(n, data={"channel": "phone", "direction": 5}), "invalid_field"),
        (_order(n, "100"), "invalid_field"),
        (_event(n, type="contact.deleted"), "unknown_type"),
        (_event(n, data={"channel": "phone"}), "missing_field"),
        ({k: v for k, v in _event(n).items() if k != "source"}, "missing_attribute"),
        ({}, "missing_attribute"),
        ("contact.made", "not_an_object"),
        (n, "not_an_object"),
        (None, "not_an_object"),
        (True, "not_an_object"),
    ]
    value, reason = variants[rng.randrange(len(variants))]
    return codec.dumps(value), (), _one(reason)


def _binary_without_id(rng: random.Random, n: int) -> Built:
    headers = tuple((name, None if name == "ce_id" else raw) for name, raw in BINARY_ATTRIBUTES)
    return b'{"channel":"phone","direction":"inbound"}', headers, _one("missing_attribute")


def _binary_not_utf8(rng: random.Random, n: int) -> Built:
    headers = tuple((name, b"\xff\xfe" if name == "ce_source" else raw) for name, raw in BINARY_ATTRIBUTES)
    return b'{"channel":"phone","direction":"inbound"}', headers, _one("invalid_attribute")


BAD_KINDS: dict[str, tuple[int, Builder]] = {
    "random-bytes": (35_000, _random_bytes),
    "empty": (4_000, lambda rng, n: (b"", (), _one("invalid_json"))),
    "tombstone": (4_000, lambda rng, n: (None, (), _one("invalid_json"))),
    "over-64-KiB": (40, _over_event_size),
    "over-1-MiB": (3, _over_request_size),
    "invalid-utf8": (6_000, _invalid_utf8),
    "nested-10000": (20, _nested_far_too_deep),
    "data-nested-300": (300, _data_nested_300),
    "data-nested-65": (300, _data_nested_one_over),
    "batch-of-deep-elements": (100, _batch_of_deep_elements),
    "batch-too-many": (20, _batch_too_many),
    "batch-over-1-MiB": (3, _batch_over_message_size),
    "batch-of-junk": (1, _batch_of_junk),
    "batch-empty": (1_000, _empty_batch),
    "amount-beyond-double": (3_000, _amount_beyond_double),
    "amount-minus-1e308": (1_000, _amount_minus_1e308),
    "time-9999": (2_000, _time_9999),
    "time-2h-ahead": (500, lambda rng, n: (b"", (), ())),  # built with the clock in hostile_traffic
    "wrong-types": (42_000, _wrong_type),
    "binary-null-header": (1_000, _binary_without_id),
    "binary-not-utf8": (1_000, _binary_not_utf8),
}


def _bad_key(rng: random.Random, n: int) -> bytes | None:
    roll = rng.random()
    if roll < 0.3:
        return None
    if roll < 0.6:
        return rng.randbytes(rng.randrange(1, 16))
    return f"C-bad-{n % 997}".encode()


def _bad_messages(rng: random.Random, partitions: int, now_ms: int) -> list[Message]:
    bad = []
    n = 0
    for kind, (count, build) in BAD_KINDS.items():
        for _ in range(count):
            n += 1
            if kind == "time-2h-ahead":
                ahead = format_instant(now_ms + 2 * HOUR + rng.randrange(HOUR))
                value, headers, dead = codec.dumps(_event(n, time=ahead)), (), _one("time_in_future")
            else:
                value, headers, dead = build(rng, n)
            key = _bad_key(rng, n)
            if value is None and key is None:
                key = b"tombstone"  # Kafka needs one of the two
            bad.append(Message(rng.randrange(partitions), key, value, headers, kind, dead))
    rng.shuffle(bad)
    return bad


def _valid(line: bytes, partitions: int, key: bytes | None, category: str = "valid") -> Message:
    subject = codec.loads(line)["subject"]
    return Message(input_partition(subject, partitions), key, line, category=category, line=line)


def _extra_valid(rng: random.Random, partitions: int, history_start: int) -> dict[str, list[bytes]]:
    """The hostile-but-valid customers of their own (see the module docstring). The burst's
    customers share one input and one internal partition (both are crc32 of the subject)."""
    subjects = (f"C-burst-{n:04d}" for n in range(2_000))
    burst_subjects = [subject for subject in subjects if input_partition(subject, partitions) == 0]
    note = "z" * 60_000
    burst = [
        codec.dumps(
            _event(0, id=f"burst-{n}", source="crm", type="lead.created", subject=subject)
            | {"time": format_instant(history_start + 20 * DAY + n * MINUTE), "data": {"note": note}}
        )
        for n, subject in enumerate(burst_subjects[:40])
    ]
    from_1970 = parse_instant("1970-01-02T00:00:00Z")
    leads_1970 = [
        codec.dumps(
            _event(0, id=f"old-{n}", source="crm", type="lead.created", subject=f"C-1970-{n:03d}")
            | {"time": format_instant(from_1970 + n * HOUR), "data": {"owner": "R-1"}}
        )
        for n in range(50)
    ]
    huge_orders = [
        codec.dumps(
            _order(0, 1e308)
            | {"id": f"huge-{n}", "source": "crm", "subject": f"C-huge-{n:03d}"}
            | {"time": format_instant(history_start + rng.randrange(50 * DAY))}
        )
        for n in range(20)
    ]
    return {"burst-60KB": burst, "time-1970": leads_1970, "amount-1e308": huge_orders}


def hostile_traffic(
    history: list[bytes], partitions: int, *, seed: int, now_ms: int, history_start: int
) -> Traffic:
    """The history's lines, with every kind of valid hostility and BAD_KINDS between them."""
    rng = random.Random(seed)
    traffic = Traffic()
    valid: list[Message] = []
    subjects = [codec.loads(line)["subject"] for line in history]
    for line, subject in zip(history, subjects, strict=True):
        roll = rng.random()
        if roll < 0.05:
            valid.append(_valid(line, partitions, None, "valid-null-key"))
        elif roll < 0.10:
            valid.append(_valid(line, partitions, rng.choice(subjects).encode() + b"-x", "valid-other-key"))
        else:
            valid.append(_valid(line, partitions, subject.encode()))
        if rng.random() < 0.06 and b'"customer.erased"' not in line:
            valid.append(_valid(line, partitions, subject.encode(), "valid-duplicate"))
            traffic.duplicates += 1
    for category, lines in _extra_valid(rng, partitions, history_start).items():
        extra = [_valid(line, partitions, codec.loads(line)["subject"].encode(), category) for line in lines]
        if category == "burst-60KB":
            at = rng.randrange(len(valid) // 5, len(valid))
            valid[at:at] = extra
        else:
            for message in extra:
                valid.insert(rng.randrange(len(valid) // 5, len(valid)), message)
    slots: list[list[Message]] = [[] for _ in range(len(valid) + 1)]
    for message in _bad_messages(rng, partitions, now_ms):
        slots[rng.randrange(len(slots))].append(message)
    for slot, message in zip(slots, valid, strict=False):
        traffic.messages += slot
        traffic.messages.append(message)
    traffic.messages += slots[-1]
    return traffic
