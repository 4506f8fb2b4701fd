"""The partition runtime without a broker: the write order that keeps every alert through a crash.

`write_round` is driven with send functions that record into in-memory logs
standing for the alert topic and the changelogs, and that can "crash" at any
step. After a crash the runtime is rebuilt as a restarted worker would find it
(a RocksDB store keeps its local state; a memory store is recovered from the
changelog) and the round's messages are delivered again. Every alert of a
replay must be in the alert log, nothing else, and repeats stay within the
round that crashed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from agents.config import Config, EngineSettings
from agents.partition import PartitionRuntime, Record, RoundWrites, StagedStore, Topics, write_round
from agents.patterns import PATTERN_TYPES
from agents.replay import replay
from schemas.alerts import Alert, render
from schemas.batches import (
    ClockReport,
    InternalMessage,
    Origin,
    decode_internal,
    encode_batch,
    encode_row,
    encode_tick,
)
from schemas.events import Touchpoint, encode_event
from schemas.timestamps import MINUTE, parse_instant
from streams.traffic import lifecycle_history

from .test_error_policy import FailsOnScoreFive

TOPICS = Topics("alerts", "dead-letters", "customers-changelog", "partitions-changelog")
STEPS = ("alerts", "dead-letters", "customers-changelog", "partitions-changelog", "local")


class Crash(Exception):
    """The worker is killed here."""


@dataclass
class Broker:
    """What outlives a worker: the topics (alerts as a log, changelogs by key) and its local store."""

    alerts: list[bytes] = field(default_factory=list)
    dead_letters: list[Record] = field(default_factory=list)
    customers: list[tuple[str, bytes | None]] = field(default_factory=list)
    """The customers' changelog."""
    partition_record: bytes | None = None
    local: dict[str, bytes] = field(default_factory=dict)
    """The local store; a memory store loses it in a crash."""
    local_record: bytes | None = None
    recovered_up_to: int = 0
    """The changelog records the local store was recovered from (Faust keeps this offset in RocksDB)."""
    committed: int = 0
    """How many messages the input offset commits cover."""
    alerts_by_round: list[int] = field(default_factory=list)
    """Alerts each completed round wrote."""


def messages(events: Sequence[Touchpoint], per_message: int) -> list[InternalMessage]:
    """The internal messages ingest would forward from one input partition, plus a closing tick
    that moves the input's clock one lateness past the last event."""
    out = []
    newest = 0
    for start in range(0, len(events), per_message):
        chunk = events[start : start + per_message]
        newest = max(newest, *(event.time for event in chunk))
        rows = [encode_row(event, 0, Origin(0, start + n)) for n, event in enumerate(chunk)]
        value = encode_batch(rows, ClockReport({"t:0": newest}, [], 1))
        out.append(decode_internal(value))
    out.append(decode_internal(encode_tick(0, ClockReport({"t:0": newest + 5 * MINUTE}, [], 1))))
    return out


def run(
    stream: list[InternalMessage],
    config: Config,
    *,
    per_round: int,
    crashes: dict[int, str],
    keeps_local_store: bool,
) -> Broker:
    """Rounds of `per_round` messages; `crashes` maps a round's number to the step it dies at
    (once: the round then runs again, as after a restart)."""
    broker = Broker()
    runtime = restart(broker, config, keeps_local_store)
    while broker.committed < len(stream):
        batch = stream[broker.committed : broker.committed + per_round]
        for message in batch:
            runtime.handle(message, wall_ms=0)
        writes = runtime.take_writes()
        crash_at = crashes.pop(len(broker.alerts_by_round), None)
        try:
            asyncio.run(write(broker, runtime, writes, crash_at))
        except Crash:
            runtime = restart(broker, config, keeps_local_store)
            continue
        broker.committed += len(batch)
        broker.alerts_by_round.append(len(writes.alerts))
    return broker


async def write(broker: Broker, runtime: PartitionRuntime, writes: RoundWrites, crash_at: str | None) -> None:
    def check(step: str) -> None:
        if step == crash_at:
            raise Crash(step)

    async def send_alerts(alerts: list[tuple[Alert, int | None]]) -> None:
        check("alerts")
        broker.alerts += (render(alert) for alert, _ in alerts)

    async def send(records: list[Record]) -> None:
        topic = records[0].topic
        check(topic)
        for record in records:
            if topic == TOPICS.dead_letters:
                broker.dead_letters.append(record)
            elif topic == TOPICS.customers_changelog:
                assert record.key is not None
                broker.customers.append((record.key.decode(), record.value))
            else:
                broker.partition_record = record.value

    def commit_local(runtime: PartitionRuntime, writes: RoundWrites) -> None:
        check("local")
        runtime.commit()
        broker.local_record = writes.record

    await write_round([(runtime, writes)], send_alerts, send, TOPICS, commit_local)


def restart(broker: Broker, config: Config, keeps_local_store: bool) -> PartitionRuntime:
    """A worker starting on the partition, as Faust's recovery leaves the store: a RocksDB store as it
    was on disk plus the changelog records after the offset it last recovered to; a memory store,
    the whole changelog."""
    if not keeps_local_store:
        broker.local, broker.local_record, broker.recovered_up_to = {}, None, 0
    for subject, value in broker.customers[broker.recovered_up_to :]:
        if value is None:
            broker.local.pop(subject, None)
        else:
            broker.local[subject] = value
    broker.recovered_up_to = len(broker.customers)
    record = broker.partition_record or broker.local_record
    waiting = [(due, subject) for subject, encoded in broker.local.items() if (due := _due(encoded))]
    return PartitionRuntime.load(0, config, broker.local, waiting=waiting, record=record, source_topic="t")


def _due(encoded: bytes) -> int:
    from agents.state import next_due_of

    return next_due_of(encoded)


HISTORY = lifecycle_history(120, seed=17, start=parse_instant("2025-02-01T00:00:00Z"), span_days=40)


FAILING = Config(EngineSettings(), (*(p() for p in PATTERN_TYPES), FailsOnScoreFive()))
"""With a pattern that fails on every score of 5, so that rounds have dead letters too."""


@pytest.fixture(scope="module")
def expected() -> list[bytes]:
    return sorted(replay([encode_event(event) for event in HISTORY], config=FAILING).alerts)


def test_rounds_without_a_crash_give_the_alerts_of_replay(expected: list[bytes]) -> None:
    broker = run(messages(HISTORY, 7), FAILING, per_round=3, crashes={}, keeps_local_store=True)
    assert sorted(broker.alerts) == expected
    assert (
        len(broker.dead_letters)
        == sum(1 for event in HISTORY if event.type == "feedback.received" and event.data["score"] == 5)
        > 0
    )


@pytest.mark.parametrize("keeps_local_store", [True, False], ids=["rocksdb", "memory"])
@pytest.mark.parametrize("step", STEPS)
def test_a_crash_at_any_step_loses_no_alert_and_repeats_at_most_one_round(
    expected: list[bytes], step: str, keeps_local_store: bool
) -> None:
    stream = messages(HISTORY, 7)
    crashing = range(2, len(stream) // 3, 5)
    broker = run(
        stream,
        FAILING,
        per_round=3,
        crashes=dict.fromkeys(crashing, step),
        keeps_local_store=keeps_local_store,
    )
    assert set(broker.alerts) == set(expected)
    repeats = sum(count - 1 for count in Counter(broker.alerts).values())
    assert repeats <= sum(broker.alerts_by_round[number] for number in crashing)
    assert repeats or step != "customers-changelog", "a crash between alerts and state repeats the round"
    if step in ("alerts", "partitions-changelog", "local"):
        assert repeats == 0, "before the alerts, or after the states that skip the round when it comes again"


def test_an_event_the_engine_fails_on_is_dead_lettered_with_its_error() -> None:
    base = 1_767_225_600_000
    events = [
        Touchpoint("ok", "t", "feedback.received", "C-1", base, {"score": 9}),
        Touchpoint("bad", "t", "feedback.received", "C-1", base + MINUTE, {"score": 5}),
    ]
    broker = run(messages(events, 1), FAILING, per_round=1, crashes={}, keeps_local_store=True)
    [dead] = broker.dead_letters
    headers = dict(dead.headers)
    assert headers["sentinel-reason"] == b"internal_error"
    assert headers["sentinel-error"] == b"Boom"
    assert dead.value == encode_event(events[1])
    assert dead.topic == TOPICS.dead_letters


def test_the_staged_store_reaches_the_local_store_only_at_commit() -> None:
    local = {"C-1": b"old", "C-2": b"gone"}
    staged = StagedStore(local)
    staged["C-1"] = b"new"
    staged["C-3"] = b"born"
    del staged["C-2"]
    assert local == {"C-1": b"old", "C-2": b"gone"}
    assert (staged["C-1"], staged.get("C-2"), len(staged), sorted(staged)) == (
        b"new",
        None,
        2,
        ["C-1", "C-3"],
    )
    staged.commit()
    assert local == {"C-1": b"new", "C-3": b"born"}
