"""The stateful Faust agent: a thin shell that feeds batches to one engine per partition.

It loads a partition's customers from the changelogged table the first time it
sees that partition. It takes the internal messages that arrived together as one
round, runs the pure engine over each (or advances an idle partition's watermark
on a wall-clock tick), publishes the round's alerts and waits for the broker,
then writes each touched customer's state once. Alerts are written before
state: a crash in between repeats alerts rather than losing them, and the
customers' remembered event ids turn the redelivered events into ignored
duplicates. One wait per round, not per message, keeps latency low under load.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust import streams as faust_streams
from faust.types import EventT, StreamT

from agents.config import Config
from agents.engine import BEFORE_TIME, Engine, EngineCounts
from agents.state import next_due_of
from agents.watermark import InputClocks
from schemas import codec
from schemas.alerts import Alert, render
from schemas.batches import ClockReport, decode_internal, partition_for
from streams.kafka import LazyProducer
from streams.metrics import Metrics


class PartitionStates(MutableMapping[str, bytes]):
    """One partition's encoded customer states in the customers table's local store.

    This is the engine's `stored`: the table is the one copy of a customer at rest.
    The store holds every partition this worker owns, so the count is kept here
    rather than scanned. Writes need the partition's message as Faust's current
    event (see `_handling`), as a RocksDB store picks its database from it.
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


def survey_store(store: Any, partitions: int) -> dict[int, StoredPartition]:
    """Every partition's customers in a worker's local store, in one pass over it.

    The store holds all the partitions the worker owns (and its standby copies):
    loading each partition by a pass of its own would read it once per partition.
    """
    found: dict[int, StoredPartition] = {}
    for key, encoded in store.items():
        subject = key.decode()
        partition = partition_for(subject, partitions)
        stored = found.get(partition)
        if stored is None:
            stored = found[partition] = StoredPartition()
        stored.customers += 1
        if due := next_due_of(encoded):
            stored.waiting.append((due, subject))
    return found


@dataclass
class PartitionDetectors:
    """Engines for the partitions this worker owns, loaded lazily from the state tables."""

    config: Config
    customers: Any
    watermarks: Any
    partitions: int
    idle_after_ms: int
    idle_advance: bool
    engines: dict[int, Engine] = field(default_factory=dict)
    input_clocks: dict[int, InputClocks] = field(default_factory=dict)
    """Per internal partition: what it heard of the input partitions' clocks."""
    last_data_wall_ms: dict[int, int] = field(default_factory=dict)
    reported: dict[int, EngineCounts] = field(default_factory=dict)
    newest_received_ms: dict[int, int] = field(default_factory=dict)
    """Per partition: when the newest touchpoint of the round arrived in Kafka (wall clock)."""
    unwritten: dict[int, dict[str, bytes | None]] = field(default_factory=dict)
    """Per partition: states flushed to the local store, not yet sent to the changelog."""
    at_rest: dict[int, StoredPartition] | None = None
    """The partitions not loaded yet, as surveyed when the first one loaded after a rebalance."""

    def engine_for(self, partition: int) -> Engine:
        engine = self.engines.get(partition)
        if engine is None:
            engine = self.engines[partition] = self._load(partition)
        return engine

    def forget(self, partitions: set[int]) -> None:
        """Revoked partitions: another worker owns them now; reload if they come back.

        A rebalance also outdates the survey of the store: the next load makes a new one."""
        for partition in partitions:
            self.engines.pop(partition, None)
            self.input_clocks.pop(partition, None)
            self.reported.pop(partition, None)
            self.unwritten.pop(partition, None)
            self.newest_received_ms.pop(partition, None)
        self.at_rest = None

    def _load(self, partition: int) -> Engine:
        store = self.customers.data
        if self.at_rest is None:
            self.at_rest = survey_store(store, self.partitions)
        found = self.at_rest.pop(partition, None) or StoredPartition()
        stored = PartitionStates(store, partition, self.partitions, found.customers)
        engine = Engine(self.config, stored, follow_event_time=False, waiting=found.waiting)
        clock = self.watermarks.get(_partition_key(partition))
        if clock:
            engine.watermark, *clocks = codec.loads(clock)
            self.input_clocks[partition] = InputClocks.from_list(clocks)
        return engine

    def follow(self, partition: int, engine: Engine, report: ClockReport) -> None:
        """Move the watermark to the slowest input partition's clock, less the lateness."""
        clocks = self.input_clocks.get(partition)
        if clocks is None:
            clocks = self.input_clocks[partition] = InputClocks()
        clocks.merge(report)
        slowest = clocks.slowest()
        if slowest is not None:
            engine.advance_to(slowest - engine.lateness)

    def flush(self, partition: int, engine: Engine) -> None:
        """Encode the touched customers into the local store after each message, so that
        decoded states never pile up over a round; their changelog records wait for `persist`."""
        self.unwritten.setdefault(partition, {}).update(engine.flush())

    async def persist(
        self, partition: int, engine: Engine, producer: AIOKafkaProducer, event: EventT[bytes]
    ) -> list[Any]:
        """Write each customer touched since the last call once, and the partition's clock.

        `flush` has updated the local store; the records go to the tables'
        changelog topics through aiokafka directly, in the bytes Faust recovers from:
        Faust's own changelog path sends one record per loop turn (400-2,400/s here)
        and fell minutes behind. The caller awaits the returned sends before the
        batch counts as processed, so its offset is never committed ahead of its state.
        `event` is one of the partition's messages: a RocksDB store writes to the
        partition of Faust's current event.
        """
        with _handling(event):
            return await self._persist(partition, engine, producer)

    async def _persist(self, partition: int, engine: Engine, producer: AIOKafkaProducer) -> list[Any]:
        sends = []
        customers_log = self.customers.changelog_topic.get_topic_name()
        for subject, value in self.unwritten.pop(partition, {}).items():
            sends.append(await producer.send(customers_log, value, key=subject.encode(), partition=partition))
        if engine.watermark != BEFORE_TIME:
            clocks = self.input_clocks.get(partition) or InputClocks()
            key, value = _partition_key(partition), codec.dumps([engine.watermark, *clocks.as_list()])
            self.watermarks.data[key] = value
            topic = self.watermarks.changelog_topic.get_topic_name()
            sends.append(await producer.send(topic, value, key=key, partition=partition))
        return sends


ROUND_MAX_MESSAGES = 64
"""Internal messages handled in one round (each holds up to `batch_max_events` touchpoints)."""
ROUND_WAIT_SECONDS = 0.005
"""How long a round waits for more messages: the writes of a round are awaited together, so
under load rounds grow and the wait for the broker's acknowledgement is shared."""


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


def register_detector(
    app: faust.App,
    source: faust.TopicT,
    alerts_topic: str,
    producers: LazyProducer,
    detectors: PartitionDetectors,
    metrics: Metrics,
    wall_clock_ms: Callable[[], int],
) -> Any:
    """Declare the detection agent on `source` (the internal batch topic)."""

    async def publish(outgoing: list[tuple[Alert, int | None]], producer: AIOKafkaProducer) -> list[Any]:
        sent_at = time.time()
        header = [("sentinel-processed-at", str(int(sent_at * 1000)).encode())]
        sends = []
        for alert, received_ms in outgoing:
            sends.append(
                await producer.send(alerts_topic, render(alert), key=alert.subject.encode(), headers=header)
            )
            if alert.firing:
                metrics.alerts_fired.labels(alert.pattern, alert.severity).inc()
            else:
                metrics.alerts_resolved.labels(alert.pattern, alert.severity).inc()
            if received_ms is not None:
                metrics.alert_latency.observe(max(0.0, sent_at - received_ms / 1000))
        return sends

    def report(partition: int, engine: Engine, last: EventT[bytes]) -> None:
        """Metrics after a round's alerts and states are written; `last` is the partition's last message."""
        tp, label = last.message.tp, str(partition)
        highwater = app.consumer.highwater(tp)
        if highwater is not None:
            metrics.consumer_lag.labels(tp.topic, label).set(max(0, highwater - last.message.offset - 1))
        received_ms = detectors.newest_received_ms.pop(partition, None)
        if received_ms is not None:
            metrics.detection_delay.labels(label).set(max(0.0, (wall_clock_ms() - received_ms) / 1000))
        counts, before = engine.counts, detectors.reported.get(partition) or EngineCounts()
        metrics.duplicates.inc(counts.duplicates - before.duplicates)
        metrics.late.inc(counts.late - before.late)
        metrics.unknown_cases.inc(counts.unknown_cases - before.unknown_cases)
        detectors.reported[partition] = EngineCounts(**{f: getattr(counts, f) for f in counts.__slots__})
        if engine.watermark != BEFORE_TIME:
            metrics.watermark.labels(label).set(engine.watermark / 1000)
        metrics.customers.set(sum(len(e) for e in detectors.engines.values()))
        metrics.deadlines.set(sum(e.customers_waiting for e in detectors.engines.values()))

    async def detect(stream: StreamT[bytes]) -> AsyncIterator[None]:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        try:
            async for events in stream.take_events(ROUND_MAX_MESSAGES, within=ROUND_WAIT_SECONDS):
                await handle_round(events)
                yield None
        finally:
            await producers.stop()

    def run_engine(event: EventT[bytes], outgoing: list[tuple[Alert, int | None]]) -> int:
        """One internal message through its partition's engine; returns the partition."""
        with _handling(event):
            partition = event.message.partition
            engine = detectors.engine_for(partition)
            message = decode_internal(event.value)
            for touchpoint, received_ms in zip(message.events, message.received_ms, strict=True):
                engine.process(touchpoint)
                if alerts_now := engine.drain():
                    outgoing.extend((alert, received_ms) for alert in alerts_now)
            if message.received_ms:
                newest = max(message.received_ms)
                if newest > detectors.newest_received_ms.get(partition, 0):
                    detectors.newest_received_ms[partition] = newest
            detectors.follow(partition, engine, message.clocks)
            if message.wall_ms is None:
                detectors.last_data_wall_ms[partition] = wall_clock_ms()
            elif detectors.idle_advance:
                idle_since = detectors.last_data_wall_ms.get(partition, 0)
                if message.wall_ms - idle_since >= detectors.idle_after_ms:
                    engine.advance_to(message.wall_ms - engine.lateness)
            outgoing.extend((alert, None) for alert in engine.drain())
            detectors.flush(partition, engine)
            return partition

    async def handle_round(events: Sequence[EventT[bytes]]) -> None:
        """Messages that arrived together: run them, publish the alerts, then write each touched
        customer once; Faust acknowledges the messages only after both are written."""
        outgoing: list[tuple[Alert, int | None]] = []
        last_message_of = {run_engine(event, outgoing): event for event in events}
        producer = await producers.get()
        if outgoing:
            await asyncio.gather(*await publish(outgoing, producer))
        writes = []
        for partition, event in sorted(last_message_of.items()):
            engine = detectors.engines.get(partition)
            if engine is not None:  # None: revoked while the alerts were written
                writes += await detectors.persist(partition, engine, producer, event)
        if writes:
            await asyncio.gather(*writes)
        for partition, event in last_message_of.items():
            if (engine := detectors.engines.get(partition)) is not None:
                report(partition, engine, event)

    return app.agent(source, name="sentinel-detect")(detect)
