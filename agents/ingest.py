"""Ingest: validate touchpoints, dead-letter bad ones, and repartition the rest by customer.

Faust's per-message path costs ~90 µs here, so this stateless stage reads the
touchpoints topic with aiokafka's `getmany` and forwards compact batch messages
per internal partition per poll; the stateful Faust agent then pays that cost
once per batch. `route` is the pure part; `IngestLoop` is Kafka I/O.

Every record this stage sends fits the producer's request limit, made explicit
as `MAX_REQUEST_BYTES`: an internal batch is cut at `BATCH_MAX_BYTES` as well as
at `batch_max_events`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from agents.records import DeadLetter, Headers, Record
from schemas.batches import (
    ClockReport,
    Origin,
    batch_head,
    encode_batch,
    encode_row,
    encode_tick,
    partition_for,
)
from schemas.errors import InvalidEvent
from schemas.events import INTERNAL_ERROR, Rejected, Touchpoint, decode_message, event_from_binary
from streams.kafka import Backoff, commit_with_backoff, send_acknowledged

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024
"""The ingest producer's max_request_size (aiokafka's default, set explicitly): no record may be larger."""
BATCH_MAX_BYTES = MAX_REQUEST_BYTES // 2
"""An internal batch message stops growing here. The other half is headroom: a row that does not fit
goes alone, and one event's row can be ~4 times its 64 KiB (orjson writes 1e15 as 1000000000000000.0)."""
DEAD_LETTER_MAX_BYTES = MAX_REQUEST_BYTES - 16 * 1024
"""A dead letter's key, value and headers together; the rest of a request is framing (~100 bytes)."""
TRUNCATED_KEY_BYTES = 1024
"""What is kept of a key when a dead letter must be cut and the key is longer (a subject has 128 chars)."""
MESSAGE_HEADER_MAX_BYTES = 1024
"""`sentinel-message` is cut here: it may quote the input (an unknown type of 60,000 characters)."""


@dataclass(slots=True)
class Routed:
    """What one poll of the touchpoints topic turns into."""

    batches: dict[int, list[bytes]] = field(default_factory=dict)
    """Per internal partition, each accepted touchpoint as a batch row (`schemas.batches.encode_row`)."""
    dead_letters: list[DeadLetter] = field(default_factory=list)
    accepted_by_type: dict[str, int] = field(default_factory=dict)
    latest_by_input: dict[str, int] = field(default_factory=dict)
    """The highest accepted event time per input partition ("topic:partition") in this poll."""


def dead_letter(
    record: ConsumerRecord, bad: Rejected, more_headers: Sequence[tuple[str, bytes]] = ()
) -> DeadLetter:
    """A rejected record or batch element as the producer may send it (see `fit`)."""
    headers = dead_letter_headers(record, bad) + list(more_headers)
    return fit(DeadLetter(record.key, bad.raw, headers, bad.reason))


def fit(dead: DeadLetter) -> DeadLetter:
    """The dead letter cut to `DEAD_LETTER_MAX_BYTES`, if it is larger: the value keeps its start,
    headers say how large it was (`sentinel-original-size`) and that it was cut; a key longer than
    `TRUNCATED_KEY_BYTES` is cut too (`sentinel-original-key-size`). A record read off the topic
    can be larger than this producer may write, and headers add to it."""
    key, value, headers = dead.key, dead.value, dead.headers
    if len(value) + len(key or b"") < DEAD_LETTER_MAX_BYTES // 2:
        return dead  # the headers written here are a few hundred bytes: no need to weigh them
    if _size(key, value, headers) <= DEAD_LETTER_MAX_BYTES:
        return dead
    original_size = str(len(value)).encode()
    headers = [*headers, ("sentinel-truncated", b"true"), ("sentinel-original-size", original_size)]
    if key is not None and len(key) > TRUNCATED_KEY_BYTES:
        headers.append(("sentinel-original-key-size", str(len(key)).encode()))
        key = key[:TRUNCATED_KEY_BYTES]
    room = DEAD_LETTER_MAX_BYTES - _size(key, b"", headers)
    return DeadLetter(key, value[:room], headers, dead.reason)


def _size(key: bytes | None, value: bytes, headers: Headers) -> int:
    return len(key or b"") + len(value) + sum(len(name) + len(raw) for name, raw in headers)


def dead_letter_headers(record: ConsumerRecord, bad: Rejected) -> Headers:
    message = bad.message.encode()
    if len(message) > MESSAGE_HEADER_MAX_BYTES:
        message = message[: MESSAGE_HEADER_MAX_BYTES - 3].decode(errors="ignore").encode() + b"..."
    headers = [
        ("sentinel-reason", bad.reason.encode()),
        ("sentinel-message", message),
        ("sentinel-source-topic", str(record.topic).encode()),
        ("sentinel-source-partition", str(record.partition).encode()),
        ("sentinel-source-offset", str(record.offset).encode()),
    ]
    if bad.index is not None:
        headers.append(("sentinel-batch-index", str(bad.index).encode()))
    return headers


def decode_record(
    record: ConsumerRecord, not_after_ms: int | None
) -> tuple[list[Touchpoint], list[Rejected]]:
    """Structured mode (single or batch) by default; binary mode when `ce_*` headers carry the attributes.

    `not_after_ms`: the latest event time accepted (None: no limit, as in a replay)."""
    value: bytes = record.value or b""
    headers = dict(record.headers or ())
    if "ce_specversion" in headers:
        try:
            return [event_from_binary(headers, value, not_after_ms=not_after_ms)], []
        except InvalidEvent as error:
            return [], [Rejected(None, error.reason, error.message, value)]
    return decode_message(value, not_after_ms=not_after_ms)


def route(records: Iterable[ConsumerRecord], partitions: int, not_after_ms: int | None) -> Routed:
    """Sort one poll's records into per-partition batches and dead letters.

    Never raises for a record: one that makes routing fail (a bug) becomes a
    dead letter `internal_error`, with the exception's class in `sentinel-error`,
    and the poll goes on.
    """
    routed = Routed()
    batches, accepted, latest = routed.batches, routed.accepted_by_type, routed.latest_by_input
    for record in records:
        try:
            events, rejected = decode_record(record, not_after_ms)
            at = record.timestamp
            origin = Origin(record.partition, record.offset)
            rows = [
                (partition_for(event.subject, partitions), encode_row(event, at, origin)) for event in events
            ]
            dead_letters = [dead_letter(record, bad) for bad in rejected]
        except Exception as error:
            log.error(
                "routing %s:%s offset %s failed; dead-lettered as internal_error",
                record.topic,
                record.partition,
                record.offset,
                exc_info=True,
            )
            routed.dead_letters.append(internal_error(record, error))
            continue
        routed.dead_letters += dead_letters
        if events:
            source = f"{record.topic}:{record.partition}"
            newest = max(event.time for event in events)
            if newest > latest.get(source, newest - 1):
                latest[source] = newest
        for event in events:
            accepted[event.type] = accepted.get(event.type, 0) + 1
        for partition, row in rows:
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = []
            batch.append(row)
    return routed


def internal_error(record: ConsumerRecord, error: Exception) -> DeadLetter:
    """A record routing failed on, as it came, with the failure in its headers."""
    value: bytes = record.value or b""
    bad = Rejected(None, INTERNAL_ERROR, f"{type(error).__name__}: {error}", value)
    return dead_letter(record, bad, [("sentinel-error", type(error).__name__.encode())])


def split(
    rows: Sequence[bytes],
    max_events: int,
    max_bytes: int,
    clocks_before: ClockReport,
    clocks_after: ClockReport,
) -> Iterator[bytes]:
    """Batch messages of one partition's rows, each at most `max_events` rows and `max_bytes` bytes
    (a row too large for that goes alone); only the last may claim the clocks this poll reached."""
    head = max(len(batch_head(clocks_before)), len(batch_head(clocks_after)))
    start, count = 0, len(rows)
    while start < count:
        end, size = start + 1, head + len(rows[start]) + 2
        while end < count and end - start < max_events and size + 1 + len(rows[end]) <= max_bytes:
            size += 1 + len(rows[end])
            end += 1
        yield encode_batch(rows[start:end], clocks_after if end == count else clocks_before)
        start = end


@dataclass
class IngestLoop:
    """Consume touchpoints, produce batches, dead letters and ticks; commit after they are acknowledged.

    Input never stops it (`route` turns any record into batches or dead letters),
    nor does the broker: a broker away or stalled holds it, with backoff.
    """

    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    internal_topic: str
    dead_letter_topic: str
    partitions: int
    batch_max_events: int
    tick_interval_ms: int
    wall_clock_ms: Callable[[], int]
    future_tolerance_ms: int | None
    """How far ahead of the wall clock an event may be; None: no limit (see `schemas.events`)."""
    on_routed: Callable[[Routed], None] = lambda routed: None
    on_lag: Callable[[TopicPartition, int], None] = lambda tp, lag: None
    on_retry: Callable[[], None] = lambda: None
    on_contact: Callable[[], None] = lambda: None
    """Called whenever the broker acknowledged a write (readiness: a poll answers empty without one)."""
    idle_after_ms: int | None = None
    """Report an input partition idle once caught up and silent this long (live operation; None: never)."""
    clocks: dict[str, int] = field(default_factory=dict)
    """Highest event time forwarded per input partition."""
    _quiet_since: dict[str, int] = field(default_factory=dict)
    _idle: list[str] = field(default_factory=list)
    _inputs: int = 0
    _last_tick: int = 0

    async def run(self) -> None:
        """Until cancelled; a broker away or stalled holds the loop (with backoff), it never ends it."""
        backoff = Backoff("reading touchpoints")
        while True:
            try:
                polled = await self.consumer.getmany(timeout_ms=200, max_records=20_000)
            except KafkaError as error:
                await backoff.wait(error)
                continue
            backoff.succeeded()
            now = self.wall_clock_ms()
            if polled:
                arrived = {_source(tp) for tp in polled}
                self._quiet_since.update(dict.fromkeys(arrived, now))
                self._idle = [source for source in self._idle if source not in arrived]
                records = [record for batch in polled.values() for record in batch]
                tolerance = self.future_tolerance_ms
                not_after = None if tolerance is None else now + tolerance
                await self._forward(route(records, self.partitions, not_after))
                await self._commit()
                for tp, batch in polled.items():
                    highwater = self.consumer.highwater(tp)
                    if highwater is not None:
                        self.on_lag(tp, max(0, highwater - batch[-1].offset - 1))
            if now - self._last_tick >= self.tick_interval_ms:
                self._last_tick = now
                await self._tick(now)

    def report(self) -> ClockReport:
        """The clocks of the input partitions this ingest reads now, for the next internal message."""
        assigned = {_source(tp) for tp in self.consumer.assignment()}
        clocks = {source: newest for source, newest in self.clocks.items() if source in assigned}
        if not self._inputs:
            self._count_inputs()
        return ClockReport(clocks, self._idle, self._inputs)

    def _count_inputs(self) -> None:
        """How many input partitions there are (known once the consumer has read the topic's metadata)."""
        topics = self.consumer.subscription()
        self._inputs = sum(len(self.consumer.partitions_for_topic(topic) or ()) for topic in topics)

    async def _forward(self, routed: Routed) -> None:
        clocks_before = self.report()
        for source, newest in routed.latest_by_input.items():
            if newest > self.clocks.get(source, newest - 1):
                self.clocks[source] = newest
        clocks_after = self.report()
        records = [
            Record(self.internal_topic, None, value, [], partition)
            for partition, rows in sorted(routed.batches.items())
            for value in split(rows, self.batch_max_events, BATCH_MAX_BYTES, clocks_before, clocks_after)
        ]
        records += (
            Record(self.dead_letter_topic, dead.key, dead.value, dead.headers, None)
            for dead in routed.dead_letters
        )
        await send_acknowledged(self._producer, records, on_retry=self.on_retry)
        self.on_contact()
        self.on_routed(routed)

    async def _producer(self) -> AIOKafkaProducer:
        return self.producer

    async def _commit(self) -> None:
        """Commit what was forwarded. A rebalance under way fails the commit: the new owner of the
        input partitions reads those records again, and detection applies them once."""
        await commit_with_backoff(self.consumer, "the touchpoints")

    async def _tick(self, now: int) -> None:
        self._count_inputs()
        if self.idle_after_ms is not None:
            self._idle = await self._idle_inputs(now, self.idle_after_ms)
        tick = encode_tick(now, self.report())
        records = [
            Record(self.internal_topic, None, tick, [], partition) for partition in range(self.partitions)
        ]
        await send_acknowledged(self._producer, records, on_retry=self.on_retry)
        self.on_contact()

    async def _idle_inputs(self, now: int, idle_after_ms: int) -> list[str]:
        """Assigned input partitions that are caught up and have been silent for `idle_after_ms`."""
        idle = []
        for tp in sorted(self.consumer.assignment()):
            source = _source(tp)
            if now - self._quiet_since.setdefault(source, now) < idle_after_ms:
                continue
            highwater = self.consumer.highwater(tp)
            if highwater is not None and await self.consumer.position(tp) >= highwater:
                idle.append(source)
        return idle


def _source(tp: TopicPartition) -> str:
    """An input partition's name in the clocks: "topic:partition"."""
    return f"{tp.topic}:{tp.partition}"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000
