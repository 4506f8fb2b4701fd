"""The stateful Faust agent: a thin shell around one `PartitionRuntime` per owned partition.

It takes the internal messages that arrived together as one round, hands each
to its partition's runtime, and writes what the round gave in
`agents.partition.write_round`'s order; Faust acknowledges the messages (and
later commits their offsets) only after that. A round and a revocation never
overlap: the revocation waits for the round, so no state is written for a
partition another worker may already be recovering. Writes the broker does
not acknowledge are tried again with backoff until it does, holding the
round: a stalled broker stalls the worker, it does not crash it.

Each partition applies its internal messages contiguously from the offset its
record names (`PartitionRuntime.admit`), not from where Faust starts it or what
Faust delivers: Faust starts a partition at its committed offset, which can be
past messages never applied, and drops messages taken off the stream's queue
during a rebalance. A partition with no record yet starts where its log begins
(`log_start`). After a message that comes after a gap, the round seeks the
partition back to the next message to apply (`seek_back`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust import streams as faust_streams
from faust.types import TP, EventT, StreamT

from agents.config import Config
from agents.engine import BEFORE_TIME
from agents.partition import IdleAdvance, PartitionRuntime, Record, RoundWrites, Topics, write_round
from agents.state import readable_next_due
from schemas.alerts import Alert, render
from schemas.batches import decode_internal, partition_for
from streams.kafka import Backoff, LazyProducer, describe_kafka_error, send_acknowledged
from streams.metrics import Metrics

log = logging.getLogger(__name__)

ROUND_MAX_MESSAGES = 64
"""Internal messages handled in one round (each holds up to `batch_max_events` touchpoints)."""
ROUND_WAIT_SECONDS = 0.005
"""How long a round waits for more messages: the writes of a round are awaited together, so
under load rounds grow and the wait for the broker's acknowledgement is shared."""


class PartitionStates(MutableMapping[str, bytes]):
    """One partition's encoded customer states in the customers table's local store.

    The store holds every partition this worker owns (and its standby copies), so
    the count is kept here rather than scanned. Writes need the partition's message
    as Faust's current event (see `_handling`), as a RocksDB store picks its
    database from it.
    """

    def __init__(self, store: Any, partition: int, partitions: int, count: int) -> None:
        """`count`: the partition's customers in the store now (`survey_store` finds them)."""
        self._store = store
        self._partition = partition
        self._partitions = partitions
        self._count = count

    def __getitem__(self, subject: str) -> bytes:
        value: bytes | None = self._store.get(subject.encode())
        if value is None:
            raise KeyError(subject)
        return value

    def get(self, subject: str, default: Any = None) -> Any:
        value = self._store.get(subject.encode())
        return default if value is None else value

    def __setitem__(self, subject: str, value: bytes) -> None:
        key = subject.encode()
        if key not in self._store:
            self._count += 1
        self._store[key] = value

    def __delitem__(self, subject: str) -> None:
        key = subject.encode()
        if key not in self._store:
            raise KeyError(subject)
        del self._store[key]
        self._count -= 1

    def __contains__(self, subject: object) -> bool:
        return isinstance(subject, str) and subject.encode() in self._store

    def __iter__(self) -> Iterator[str]:
        for key in list(self._store.keys()):
            subject = key.decode()
            if partition_for(subject, self._partitions) == self._partition:
                yield subject

    def __len__(self) -> int:
        return self._count


@dataclass(slots=True)
class StoredPartition:
    """What loading a partition needs to know of its customers at rest."""

    customers: int = 0
    waiting: list[tuple[int, str]] = field(default_factory=list)
    """(earliest deadline, subject) of each customer with one, read off the encoded states' headers."""
    unreadable: int = 0
    """States this worker cannot read: their events fail one by one as internal errors."""


def survey_store(store: Any, partitions: int, owned: set[int]) -> dict[int, StoredPartition]:
    """The owned partitions' customers in a worker's local store, in one pass over it.

    The store holds all the partitions the worker owns, and its standby copies of
    others: loading each partition by a pass of its own would read it once per partition.
    """
    found: dict[int, StoredPartition] = {}
    for key, encoded in store.items():
        subject = key.decode()
        partition = partition_for(subject, partitions)
        if partition not in owned:
            continue
        stored = found.get(partition)
        if stored is None:
            stored = found[partition] = StoredPartition()
        stored.customers += 1
        due = readable_next_due(encoded)
        if due is None:
            stored.unreadable += 1
        elif due:
            stored.waiting.append((due, subject))
    return found


@dataclass
class Detection:
    """The partitions of the internal topic this worker owns, each a runtime loaded lazily."""

    config: Config
    customers: Any
    """The customers table: its local store (`.data`) holds the states at rest."""
    watermarks: Any
    """The watermarks table: one record per partition (`PartitionRuntime.load`)."""
    partitions: int
    idle_advance: IdleAdvance | None = None
    source_topic: str = ""
    owned: Callable[[], set[int]] = lambda: set()
    """The internal topic's partitions this worker actively owns now (Faust's assignment)."""
    runtimes: dict[int, PartitionRuntime] = field(default_factory=dict)
    at_rest: dict[int, StoredPartition] | None = None
    """The owned partitions not loaded yet, as surveyed when the first one loaded after a rebalance."""
    surveyed: set[int] = field(default_factory=set)
    """The partitions `at_rest` speaks for: one assigned after the survey was taken is not in it."""
    round_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def runtime_for(self, partition: int) -> PartitionRuntime:
        runtime = self.runtimes.get(partition)
        if runtime is None:
            runtime = self.runtimes[partition] = self._load(partition)
        return runtime

    def forget(self, partitions: set[int]) -> list[int]:
        """Revoked partitions: another worker owns them now; reload if they come back. Returns the
        partitions that were loaded. A rebalance also outdates the survey of the store."""
        dropped = [partition for partition in partitions if self.runtimes.pop(partition, None) is not None]
        self.at_rest, self.surveyed = None, set()
        return dropped

    def _load(self, partition: int) -> PartitionRuntime:
        store = self.customers.data
        if self.at_rest is None or partition not in self.surveyed:
            # A round between a revocation and the next assignment (Faust does not wait for the
            # agent's buffered messages) surveys the partitions owned then, not those assigned next.
            self.surveyed = self.owned() | {partition}
            self.at_rest = survey_store(store, self.partitions, self.surveyed)
        found = self.at_rest.pop(partition, None) or StoredPartition()
        if found.unreadable:
            log.error(
                "partition %d: %d stored customer states cannot be read by this worker; their events "
                "will be dead-lettered as internal_error",
                partition,
                found.unreadable,
            )
        return PartitionRuntime.load(
            partition,
            self.config,
            PartitionStates(store, partition, self.partitions, found.customers),
            waiting=found.waiting,
            record=self.watermarks.get(_partition_key(partition)),
            idle_advance=self.idle_advance,
            source_topic=self.source_topic,
        )


@contextmanager
def _handling(event: EventT[bytes]) -> Iterator[None]:
    """Make `event` Faust's current event, as it is while Faust's own stream hands it over."""
    token = faust_streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust_streams._current_event.reset(token)


def _partition_key(partition: int) -> bytes:
    return str(partition).encode()


def owned_partitions(app: faust.App, topic: str) -> Callable[[], set[int]]:
    """The partitions of `topic` Faust has assigned this worker as their active owner."""

    def owned() -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

    return owned


def register_detector(
    app: faust.App,
    source: faust.TopicT,
    topics: Topics,
    producers: LazyProducer,
    detection: Detection,
    metrics: Metrics,
    wall_clock_ms: Callable[[], int],
) -> Callable[[set[TP]], Awaitable[None]]:
    """Declare the detection agent on `source` (the internal batch topic); returns what to call
    when partitions are revoked."""
    internal_topic = source.get_topic_name()

    async def send(records: Sequence[Record]) -> None:
        await send_acknowledged(producers.get, records, on_retry=metrics.write_retries.inc)

    async def send_alerts(alerts: list[tuple[Alert, int | None]]) -> None:
        sent_at = time.time()
        header = [("sentinel-processed-at", str(int(sent_at * 1000)).encode())]
        await send([Record(topics.alerts, a.subject.encode(), render(a), header, None) for a, _ in alerts])
        for alert, received_ms in alerts:
            metrics.count_alert(alert)
            if received_ms is not None:
                metrics.alert_latency.observe(max(0.0, sent_at - received_ms / 1000))

    async def detect(stream: StreamT[bytes]) -> AsyncIterator[None]:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        try:
            async for events in stream.take_events(ROUND_MAX_MESSAGES, within=ROUND_WAIT_SECONDS):
                async with detection.round_lock:
                    await handle_round(events)
                yield None
        finally:
            await producers.stop()

    async def handle_round(events: Sequence[EventT[bytes]]) -> None:
        """Messages that arrived together: run them, then write what they gave in order; Faust
        acknowledges them after. Messages of a partition revoked meanwhile are left to its new owner."""
        owned = detection.owned()
        wall_ms = wall_clock_ms()
        last_of: dict[int, EventT[bytes]] = {}
        offered: dict[int, TP] = {}
        for event in events:
            message = event.message
            partition = message.partition
            if partition not in owned:
                continue
            offered[partition] = message.tp
            # Loading reads the partition's record: a RocksDB store reads the current event's partition.
            with _handling(event):
                runtime = detection.runtime_for(partition)
                if runtime.next_offset is None and runtime.never_applied:
                    runtime.next_offset = await log_start(message.tp)
                if not runtime.admit(message.offset):
                    continue
                runtime.handle(decode_internal(event.value), wall_ms)
            last_of[partition] = event
        rounds = [(detection.runtimes[p], detection.runtimes[p].take_writes()) for p in sorted(last_of)]

        def commit_local(runtime: PartitionRuntime, writes: RoundWrites) -> None:
            with _handling(last_of[runtime.partition]):
                runtime.commit()
                if writes.record is not None:
                    detection.watermarks.data[_partition_key(runtime.partition)] = writes.record

        await write_round(rounds, send_alerts, send, topics, commit_local)
        for partition in offered:
            count_skipped(detection.runtimes[partition])
        for runtime, _ in rounds:
            report(runtime, last_of[runtime.partition])
        for partition, tp in offered.items():
            runtime = detection.runtimes[partition]
            if (seek_to := runtime.take_seek()) is not None:
                await seek_back(runtime, tp, seek_to)
            elif partition not in last_of:
                check_ahead(runtime, tp)

    def count_skipped(runtime: PartitionRuntime) -> None:
        counters = runtime.counters
        metrics.internal_skipped.labels("redelivered").inc(counters.messages_redelivered)
        metrics.internal_skipped.labels("out_of_order").inc(counters.messages_out_of_order)
        counters.messages_redelivered = counters.messages_out_of_order = 0

    async def log_start(tp: TP) -> int:
        """The first offset of `tp` still in the log: a partition nothing was applied of starts
        there, so that messages Faust drops before the first round are read again, not skipped."""
        backoff = Backoff(f"reading where {tp.topic}[{tp.partition}] begins")
        while True:
            try:
                return (await app.consumer.earliest_offsets(tp))[tp]
            except (TimeoutError, KafkaError) as error:
                await backoff.wait(error)

    async def seek_back(runtime: PartitionRuntime, tp: TP, offset: int) -> None:
        """Read `tp` again from `offset`, the next message its runtime applies. `seek_wait` runs in
        Faust's consumer thread and sets Faust's read offset too, so that Faust's fetch loop
        (`Consumer._drain_messages`) does not drop the messages read again as below it."""
        log.warning("%s: messages before offset %d were not delivered; reading again from it", tp, offset)
        try:
            earliest = (await app.consumer.earliest_offsets(tp)).get(tp)
            if earliest is not None and earliest > offset:
                # Deleted by retention: they cannot be applied, and waiting for them would stop
                # the partition for good.
                log.error(
                    "%s: messages %d to %d were deleted before they were applied; going on from %d",
                    tp,
                    offset,
                    earliest - 1,
                    earliest,
                )
                runtime.next_offset = offset = earliest
            await app.consumer.seek_wait({tp: offset})
        except (TimeoutError, KafkaError) as error:
            # Revoked meanwhile (IllegalStateError: the new owner starts from the partition's
            # record) or the broker did not answer: the next message after the gap asks again.
            log.info("%s: seek to %d not done now (%s)", tp, offset, describe_kafka_error(error))

    def check_ahead(runtime: PartitionRuntime, tp: TP) -> None:
        """A round that only skipped messages as applied already: if the log ends before the next
        offset the record names, the record belongs to an earlier incarnation of the topic."""
        highwater = app.consumer.highwater(tp)
        if highwater is not None and runtime.next_offset is not None and highwater < runtime.next_offset:
            log.error(
                "%s: the partition's record says offset %d is next but the log ends at %d (was the "
                "internal topic re-created?); its messages are skipped as applied already",
                tp,
                runtime.next_offset,
                highwater,
            )

    def report(runtime: PartitionRuntime, last: EventT[bytes]) -> None:
        """Metrics after a round is written; `last` is the partition's last message of the round."""
        tp, label = last.message.tp, str(runtime.partition)
        highwater = app.consumer.highwater(tp)
        if highwater is not None:
            metrics.consumer_lag.labels(tp.topic, label).set(max(0, highwater - last.message.offset - 1))
        if runtime.newest_received_ms is not None:
            delay = max(0.0, (wall_clock_ms() - runtime.newest_received_ms) / 1000)
            metrics.detection_delay.labels(label).set(delay)
            runtime.newest_received_ms = None
        counters = runtime.counters
        metrics.duplicates.inc(counters.duplicates)
        metrics.late.inc(counters.late)
        metrics.unknown_cases.inc(counters.unknown_cases)
        metrics.redelivered.inc(counters.redelivered)
        metrics.internal_errors.labels("event").inc(counters.event_errors)
        metrics.internal_errors.labels("deadline").inc(counters.deadline_errors)
        for pattern, held in counters.held.items():
            metrics.alerts_held.labels(pattern).inc(held)
        runtime.counters = type(counters)()
        if runtime.engine.watermark != BEFORE_TIME:
            metrics.watermark.labels(label).set(runtime.engine.watermark / 1000)
        metrics.customers.set(sum(len(r.engine) for r in detection.runtimes.values()))
        metrics.deadlines.set(sum(r.engine.customers_waiting for r in detection.runtimes.values()))
        metrics.partitions_owned.set(len(detection.runtimes))

    async def on_revoked(revoked: set[TP]) -> None:
        """Wait for the round under way, then let the revoked partitions go, metric series included."""
        partitions = {tp.partition for tp in revoked if tp.topic == internal_topic}
        async with detection.round_lock:
            for partition in detection.forget(partitions):
                label = str(partition)
                for gauge, labels in (
                    (metrics.consumer_lag, (internal_topic, label)),
                    (metrics.detection_delay, (label,)),
                    (metrics.watermark, (label,)),
                ):
                    with suppress(KeyError):
                        gauge.remove(*labels)
            metrics.partitions_owned.set(len(detection.runtimes))

    app.agent(source, name="sentinel-detect")(detect)
    return on_revoked
