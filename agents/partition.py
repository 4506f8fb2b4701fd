"""One internal partition's detection in the worker, and the order its results are written in.

`PartitionRuntime` owns what the worker keeps for a partition: the engine over
its customers, the input partitions' clocks its watermark follows, the states
staged for writing, the dead letters of the error policy and the partition's
metric series. It knows neither Kafka nor Faust: agents/detect.py hands it
the internal messages of a round and writes what it gives back with
`write_round`, which fixes the order (as quix-streams' PartitionTransaction
does) that keeps every alert through a crash at any point:

1. the round's alerts and dead letters, acknowledged by the broker;
2. the customers' changelog records, acknowledged;
3. the partition's record (watermark, clocks, offsets read, the next internal
   message to apply), acknowledged;
4. the local store;
5. and only then may Faust commit the round's input offsets.

A crash before 2 completes makes the round run again from the previous state
and send the same alerts again, with the same ids. A crash after it leaves the
customers' states saying which events they have applied (`CustomerState.origin`),
so the redelivered events are skipped. The local store never holds a state the
changelog does not, so a RocksDB store cannot get ahead of the alerts.

The internal messages are applied contiguously, whatever Faust delivers: the
record keeps the offset of the next internal message to apply (`next_offset`),
and `admit` takes only that one. Faust may skip messages (it drops those
taken off a stream's queue during a rebalance and may commit past them, and
starts a partition at its committed offset); an earlier message is a
redelivery and is skipped, a later one is not applied and the shell is asked
to seek back (`take_seek`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.config import Config
from agents.engine import BEFORE_TIME, Engine, EngineCounts, Failure
from agents.records import DeadLetter, Record
from agents.watermark import InputClocks
from schemas import codec
from schemas.alerts import Alert
from schemas.batches import InternalMessage
from schemas.events import INTERNAL_ERROR, encode_event


class StagedStore(MutableMapping[str, bytes]):
    """A partition's stored states as the engine sees them: the local store, overlaid with the
    writes of the current round, which reach the local store only at `commit`."""

    def __init__(self, store: MutableMapping[str, bytes]) -> None:
        self.store = store
        self.staged: dict[str, bytes | None] = {}
        """None: deleted (an erased customer)."""

    def __getitem__(self, subject: str) -> bytes:
        if subject in self.staged:
            value = self.staged[subject]
            if value is None:
                raise KeyError(subject)
            return value
        return self.store[subject]

    def get(self, subject: str, default: Any = None) -> Any:
        if subject in self.staged:
            value = self.staged[subject]
            return default if value is None else value
        return self.store.get(subject, default)

    def __setitem__(self, subject: str, value: bytes) -> None:
        self.staged[subject] = value

    def __delitem__(self, subject: str) -> None:
        if self.get(subject) is None:
            raise KeyError(subject)
        self.staged[subject] = None

    def __iter__(self) -> Iterator[str]:
        staged = self.staged
        yield from (subject for subject in self.store if subject not in staged)
        yield from (subject for subject, value in staged.items() if value is not None)

    def __len__(self) -> int:
        store, added = self.store, 0
        for subject, value in self.staged.items():
            if value is None:
                added -= subject in store
            else:
                added += subject not in store
        return len(store) + added

    def commit(self) -> None:
        """The staged writes are in the changelog: the local store may have them now."""
        store = self.store
        for subject, value in self.staged.items():
            if value is None:
                store.pop(subject, None)
            else:
                store[subject] = value
        self.staged.clear()


APPLY = "apply"
"""The message is the next one to apply."""
REDELIVERED = "redelivered"
"""The message is before the next one: it was applied already."""
GAP = "gap"
"""The message is after the next one: messages between were not delivered; it is not applied."""


def place(next_offset: int | None, offset: int) -> str:
    """Where an internal message at `offset` stands to a partition that applies `next_offset` next
    (None: not known, so whatever comes first is applied)."""
    if next_offset is None or offset == next_offset:
        return APPLY
    return REDELIVERED if offset < next_offset else GAP


@dataclass(slots=True)
class PartitionCounters:
    """What a partition's rounds add to the worker's counters (the shell turns it into metrics)."""

    duplicates: int = 0
    late: int = 0
    unknown_cases: int = 0
    redelivered: int = 0
    event_errors: int = 0
    deadline_errors: int = 0
    held: dict[str, int] = field(default_factory=dict)
    """Alerts a snooze held back, by pattern."""
    messages_redelivered: int = 0
    """Internal messages skipped as applied already."""
    messages_out_of_order: int = 0
    """Internal messages not applied because messages before them were not delivered."""


@dataclass(slots=True)
class RoundWrites:
    """What one partition's round gives to write, in `write_round`'s order."""

    alerts: list[tuple[Alert, int | None]]
    """Each alert with when the touchpoint that caused it reached Kafka (None: a deadline)."""
    dead_letters: list[DeadLetter]
    changelog: list[tuple[str, bytes | None]]
    """The customers' new states (None: erased)."""
    record: bytes | None
    """The partition's record: watermark, input clocks, offsets read and the next internal message
    to apply; None before any."""


@dataclass(frozen=True, slots=True)
class IdleAdvance:
    """Live operation: a partition without data this long follows the wall clock (less the lateness)."""

    after_ms: int


@dataclass
class PartitionRuntime:
    """Detection for one internal partition; see the module docstring for the write order."""

    partition: int
    engine: Engine
    staged: StagedStore
    clocks: InputClocks = field(default_factory=InputClocks)
    idle_advance: IdleAdvance | None = None
    source_topic: str = ""
    """The touchpoints topic, named in the dead letters' headers."""
    counters: PartitionCounters = field(default_factory=PartitionCounters)
    newest_received_ms: int | None = None
    """When the newest touchpoint of the round reached Kafka, for the detection delay."""
    next_offset: int | None = None
    """The internal topic's offset of the next message to apply; None: not known (no record, or one
    written before records kept it), so the first message delivered is applied."""
    never_applied: bool = True
    """No record: nothing of this partition was applied yet, so the shell can learn `next_offset`
    from where the partition's log begins before the first message is admitted."""
    _seek_to: int | None = None
    _alerts: list[tuple[Alert, int | None]] = field(default_factory=list)
    _dead_letters: list[DeadLetter] = field(default_factory=list)
    _changes: dict[str, bytes | None] = field(default_factory=dict)
    _reported: EngineCounts = field(default_factory=EngineCounts)
    _last_data_wall_ms: int = 0

    @classmethod
    def load(
        cls,
        partition: int,
        config: Config,
        store: MutableMapping[str, bytes],
        *,
        waiting: Sequence[tuple[int, str]],
        record: bytes | None,
        idle_advance: IdleAdvance | None = None,
        source_topic: str = "",
    ) -> PartitionRuntime:
        """The partition as stored: its customers in `store` (the ones with a deadline in
        `waiting`, read off their headers) and its record from the watermarks table."""
        staged = StagedStore(store)
        engine = Engine(config, staged, follow_event_time=False, waiting=waiting)
        runtime = cls(partition, engine, staged, idle_advance=idle_advance, source_topic=source_topic)
        if record:
            runtime.never_applied = False
            watermark, newest, idle, inputs, *read = codec.loads(record)
            engine.watermark = watermark
            runtime.clocks = InputClocks.from_list([newest, idle, inputs])
            if read:
                engine.read_up_to = {int(partition): offset for partition, offset in read[0].items()}
            if len(read) > 1:
                runtime.next_offset = read[1]
        return runtime

    def admit(self, offset: int) -> bool:
        """Whether the internal message at `offset` is the one to apply next; if it is, it counts
        as applied (hand it to `handle`). A later one leaves a seek back to ask for (`take_seek`)
        until the next one arrives."""
        placed = place(self.next_offset, offset)
        if placed == APPLY:
            self.next_offset = offset + 1
            self._seek_to = None
            return True
        if placed == REDELIVERED:
            self.counters.messages_redelivered += 1
        else:
            self.counters.messages_out_of_order += 1
            self._seek_to = self.next_offset
        return False

    def take_seek(self) -> int | None:
        """The offset to seek the partition back to, if a message after a gap was offered since the
        last one applied; asked once per round, as records Faust was fetching when it seeked can
        undo the seek (its fetch loop then drops the records read again)."""
        seek_to, self._seek_to = self._seek_to, None
        return seek_to

    def handle(self, message: InternalMessage, wall_ms: int) -> None:
        """One internal message: its events through the engine, then the watermark it allows."""
        engine, alerts = self.engine, self._alerts
        for event, received_ms, origin in zip(
            message.events, message.received_ms, message.origins, strict=True
        ):
            engine.process(event, origin)
            if produced := engine.drain():
                alerts.extend((alert, received_ms) for alert in produced)
        if message.received_ms:
            newest = max(message.received_ms)
            if self.newest_received_ms is None or newest > self.newest_received_ms:
                self.newest_received_ms = newest
        self.clocks.merge(message.clocks)
        slowest = self.clocks.slowest()
        if slowest is not None:
            engine.advance_to(slowest - engine.lateness)
        if message.wall_ms is None:
            self._last_data_wall_ms = wall_ms
        elif (
            self.idle_advance is not None
            and message.wall_ms - self._last_data_wall_ms >= self.idle_advance.after_ms
        ):
            engine.advance_to(message.wall_ms - engine.lateness)
        alerts.extend((alert, None) for alert in engine.drain())
        for failure in engine.drain_failures():
            self._on_failure(failure)
        held = self.counters.held
        for pattern in engine.drain_held():
            held[pattern] = held.get(pattern, 0) + 1
        self._changes.update(engine.flush())

    def take_writes(self) -> RoundWrites:
        """What the round gave since the last call; the counters are brought up to date too."""
        writes = RoundWrites(self._alerts, self._dead_letters, list(self._changes.items()), self._record())
        self._alerts, self._dead_letters = [], []
        self._changes.clear()
        self._count()
        return writes

    def commit(self) -> None:
        """The round's changelog records are acknowledged: write the local store."""
        self.staged.commit()

    def _record(self) -> bytes | None:
        engine = self.engine
        if engine.watermark == BEFORE_TIME and not engine.read_up_to and self.next_offset is None:
            return None
        # Appended after the offsets read: a worker that reads only those ignores it.
        tail = [] if self.next_offset is None else [self.next_offset]
        return codec.dumps([engine.watermark, *self.clocks.as_list(), engine.read_up_to, *tail])

    def _on_failure(self, failure: Failure) -> None:
        event = failure.event
        if event is None:
            self.counters.deadline_errors += 1
            return
        self.counters.event_errors += 1
        headers = [
            ("sentinel-reason", INTERNAL_ERROR.encode()),
            ("sentinel-message", f"{event.type} failed: {failure.error}"[:1000].encode()),
            ("sentinel-error", type(failure.error).__name__.encode()),
            ("sentinel-source-topic", self.source_topic.encode()),
        ]
        self._dead_letters.append(
            DeadLetter(event.subject.encode(), encode_event(event), headers, INTERNAL_ERROR)
        )

    def _count(self) -> None:
        counts, before, counters = self.engine.counts, self._reported, self.counters
        counters.duplicates += counts.duplicates - before.duplicates
        counters.late += counts.late - before.late
        counters.unknown_cases += counts.unknown_cases - before.unknown_cases
        counters.redelivered += counts.redelivered - before.redelivered
        self._reported = EngineCounts(**{name: getattr(counts, name) for name in counts.__slots__})


@dataclass(frozen=True, slots=True)
class Topics:
    alerts: str
    dead_letters: str
    customers_changelog: str
    partitions_changelog: str


async def write_round(
    rounds: Sequence[tuple[PartitionRuntime, RoundWrites]],
    send_alerts: Callable[[list[tuple[Alert, int | None]]], Awaitable[None]],
    send: Callable[[list[Record]], Awaitable[None]],
    topics: Topics,
    commit_local: Callable[[PartitionRuntime, RoundWrites], None],
) -> None:
    """Write a round's results in the order of the module docstring; each step waits for the
    broker's acknowledgement before the next begins."""
    alerts = [alert for _, writes in rounds for alert in writes.alerts]
    dead_letters = [
        Record(topics.dead_letters, dead.key, dead.value, dead.headers, None)
        for _, writes in rounds
        for dead in writes.dead_letters
    ]
    if alerts:
        await send_alerts(alerts)
    if dead_letters:
        await send(dead_letters)
    customers = [
        Record(topics.customers_changelog, subject.encode(), value, [], runtime.partition)
        for runtime, writes in rounds
        for subject, value in writes.changelog
    ]
    if customers:
        await send(customers)
    records = [
        Record(
            topics.partitions_changelog, str(runtime.partition).encode(), writes.record, [], runtime.partition
        )
        for runtime, writes in rounds
        if writes.record is not None
    ]
    if records:
        await send(records)
    for runtime, writes in rounds:
        commit_local(runtime, writes)
