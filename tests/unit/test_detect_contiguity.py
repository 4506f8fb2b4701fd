"""The detection shell without a broker: it applies a partition's internal messages contiguously
and seeks the consumer back after a gap, whatever Faust delivers.

A stand-in app captures the agent `register_detector` declares; the agent is then run over
rounds of stand-in events, as Faust's `take_events` would hand them over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka.errors import IllegalStateError
from faust.streams import current_event
from faust.types import TP
from prometheus_client import CollectorRegistry

from agents.config import Config
from agents.detect import Detection, register_detector
from agents.partition import PartitionRuntime, Topics
from schemas import codec
from schemas.batches import ClockReport, Origin, encode_batch, encode_row
from schemas.timestamps import parse_instant
from streams.metrics import Metrics
from streams.traffic import lifecycle_history

INTERNAL = "internal"
TOPICS = Topics("alerts", "dead-letters", "customers-changelog", "partitions-changelog")
HISTORY = lifecycle_history(40, seed=5, start=parse_instant("2025-03-01T00:00:00Z"), span_days=10)


@dataclass
class LocalTable:
    data: dict[bytes, bytes] = field(default_factory=dict)

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


class RecordsTable(LocalTable):
    """The watermarks table as a RocksDB store reads it: from the current event's partition."""

    def get(self, key: bytes) -> bytes | None:
        event = current_event()
        assert event is not None and event.message.partition == int(key), "read outside its partition"
        return super().get(key)


@dataclass
class Message:
    partition: int
    offset: int

    @property
    def tp(self) -> TP:
        return TP(INTERNAL, self.partition)


class Event:
    def __init__(self, offset: int, value: bytes) -> None:
        self.message = Message(0, offset)
        self.value = value


class Sender:
    def __init__(self, sent: list[tuple[str, bytes | None, bytes | None]]) -> None:
        self.sent = sent

    async def send(self, topic: str, value: bytes | None, *, key: Any, headers: Any, partition: Any) -> Any:
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@dataclass
class Producers:
    sent: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)

    async def get(self) -> Sender:
        return Sender(self.sent)

    async def stop(self) -> None:
        pass


@dataclass
class Consumer:
    seeks: list[Mapping[TP, int]] = field(default_factory=list)
    earliest: list[int] = field(default_factory=lambda: [0])
    """Where the log begins, answer by answer; the last one holds from then on."""
    refusals: int = 0
    """Seeks refused first, as for a partition revoked meanwhile."""

    def highwater(self, tp: TP) -> None:
        return None

    async def earliest_offsets(self, *partitions: TP) -> Mapping[TP, int]:
        begins = self.earliest.pop(0) if len(self.earliest) > 1 else self.earliest[0]
        return {tp: begins for tp in partitions}

    async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise IllegalStateError("No current assignment for partition")
        self.seeks.append(dict(partitions))


@dataclass
class App:
    consumer: Consumer = field(default_factory=Consumer)
    agents: list[Any] = field(default_factory=list)

    def agent(self, source: Any, name: str) -> Any:
        def declare(fn: Any) -> Any:
            self.agents.append(fn)
            return fn

        return declare


class Source:
    def get_topic_name(self) -> str:
        return INTERNAL


class Rounds(faust.Stream):
    """Only `take_events`, handing over the rounds given; made without Faust's constructor."""

    rounds: Sequence[Sequence[Event]]

    async def take_events(self, max_: int, within: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        for events in self.rounds:
            yield list(events)


def rounds_of(rounds: Sequence[Sequence[Event]]) -> Rounds:
    stream = object.__new__(Rounds)
    stream.rounds = rounds
    return stream


def value_at(offset: int) -> bytes:
    """The internal message at `offset`: one touchpoint of the history, in order."""
    event = HISTORY[offset]
    row = encode_row(event, 0, Origin(0, offset))
    return encode_batch([row], ClockReport({f"{INTERNAL}:0": event.time}, [], 1))


def run(
    rounds: Sequence[Sequence[int]], earliest: Sequence[int] = (0,), refusals: int = 0
) -> tuple[App, Producers, Detection, CollectorRegistry]:
    consumer = Consumer(earliest=list(earliest), refusals=refusals)
    app, producers, registry = App(consumer), Producers(), CollectorRegistry()
    detection = Detection(
        config=Config.default(),
        customers=LocalTable(),
        watermarks=RecordsTable(),
        partitions=1,
        owned=lambda: {0},
    )
    register_detector(
        app,  # type: ignore[arg-type]
        Source(),  # type: ignore[arg-type]
        TOPICS,
        producers,  # type: ignore[arg-type]
        detection,
        Metrics.create(registry),
        lambda: 0,
    )
    (detect,) = app.agents

    async def drive() -> None:
        async for _ in detect(rounds_of([[Event(o, value_at(o)) for o in offsets] for offsets in rounds])):
            pass

    asyncio.run(drive())
    return app, producers, detection, registry


def written_next_offset(producers: Producers) -> int:
    records = [value for topic, _, value in producers.sent if topic == TOPICS.partitions_changelog]
    assert records[-1] is not None
    return int(codec.loads(records[-1])[5])


def skipped(registry: CollectorRegistry, reason: str) -> float | None:
    return registry.get_sample_value("sentinel_internal_messages_skipped_total", {"reason": reason})


def test_a_gap_is_not_applied_and_the_partition_is_read_again_from_the_next_offset() -> None:
    app, producers, detection, registry = run([[0, 1, 2], [5, 6], [3, 4, 5, 6]])
    assert app.consumer.seeks == [{TP(INTERNAL, 0): 3}]
    assert detection.runtimes[0].next_offset == 7
    assert written_next_offset(producers) == 7
    assert skipped(registry, "out_of_order") == 2


def test_a_redelivery_is_skipped_without_a_seek() -> None:
    app, _, detection, registry = run([[0, 1, 2], [1, 2, 3]])
    assert app.consumer.seeks == []
    assert detection.runtimes[0].next_offset == 4
    assert skipped(registry, "redelivered") == 2


def test_a_restart_starts_from_the_record_not_from_where_faust_delivers() -> None:
    """Faust committed past messages never applied (offsets 3 and 4): the worker taking over is
    handed 5 first, and reads again from 3."""
    _, producers, _, _ = run([[0, 1, 2]])
    record = next(v for t, _, v in reversed(producers.sent) if t == TOPICS.partitions_changelog)
    assert record is not None
    runtime = PartitionRuntime.load(0, Config.default(), {}, waiting=[], record=record)
    assert runtime.next_offset == 3
    assert runtime.admit(5) is False
    assert runtime.take_seek() == 3


def test_messages_deleted_before_they_were_applied_do_not_stop_the_partition() -> None:
    """Retention deleted offsets 3 to 5 first: waiting for them would wait for ever."""
    app, _, detection, _ = run([[0, 1, 2], [7, 8], [6, 7, 8]], earliest=[0, 6])
    assert app.consumer.seeks == [{TP(INTERNAL, 0): 6}]
    assert detection.runtimes[0].next_offset == 9


def test_a_seek_refused_is_asked_again_by_the_next_message_after_the_gap() -> None:
    app, _, detection, _ = run([[0, 1], [4], [5], [2, 3, 4, 5]], refusals=1)
    assert app.consumer.seeks == [{TP(INTERNAL, 0): 2}]
    assert detection.runtimes[0].next_offset == 6


def test_a_partition_nothing_was_applied_of_starts_where_its_log_begins() -> None:
    """Faust dropped offsets 0 and 1 before the first round (a rebalance while starting): with no
    record, they are read again rather than taken as applied."""
    app, producers, detection, registry = run([[2, 3], [0, 1, 2, 3]])
    assert app.consumer.seeks == [{TP(INTERNAL, 0): 0}]
    assert detection.runtimes[0].next_offset == 4
    assert written_next_offset(producers) == 4
    assert skipped(registry, "out_of_order") == 2


def test_a_partition_whose_log_was_trimmed_before_it_started_begins_at_the_first_message_kept() -> None:
    app, _, detection, registry = run([[5, 6]], earliest=[5])
    assert app.consumer.seeks == []
    assert detection.runtimes[0].next_offset == 7
    assert skipped(registry, "out_of_order") == 0
