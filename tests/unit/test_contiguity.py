"""Internal messages are applied contiguously whatever Faust delivers.

Faust can hand the detection agent a partition's messages with a run missing
(it drops messages taken off a stream's queue during a rebalance, may commit
past them, and starts a reassigned partition at its committed offset). The
partition's record keeps the offset of the next message to apply, so a later
message is not applied and the shell seeks back; an earlier one was applied
already and is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agents.config import Config
from agents.partition import APPLY, GAP, REDELIVERED, PartitionRuntime, place
from agents.replay import replay
from schemas import codec
from schemas.alerts import render
from schemas.batches import InternalMessage
from schemas.events import encode_event

from .test_partition_runtime import FAILING, HISTORY, messages


def fresh(record: bytes | None = None, config: Config = FAILING) -> PartitionRuntime:
    return PartitionRuntime.load(0, config, {}, waiting=[], record=record, source_topic="t")


def at(next_offset: int) -> PartitionRuntime:
    runtime = fresh()
    runtime.next_offset = next_offset
    return runtime


@pytest.mark.parametrize(
    ("next_offset", "offset", "placed"),
    [
        (None, 0, APPLY),
        (None, 41, APPLY),
        (10, 10, APPLY),
        (10, 9, REDELIVERED),
        (10, 0, REDELIVERED),
        (10, 11, GAP),
    ],
)
def test_place(next_offset: int | None, offset: int, placed: str) -> None:
    assert place(next_offset, offset) == placed


def test_a_round_after_a_gap_applies_up_to_it_and_asks_to_seek_back() -> None:
    runtime = at(10)
    assert [runtime.admit(offset) for offset in (10, 11, 15)] == [True, True, False]
    assert runtime.next_offset == 12
    assert runtime.take_seek() == 12
    assert runtime.take_seek() is None, "asked once per round"
    assert runtime.counters.messages_out_of_order == 1


def test_messages_after_the_gap_are_ignored_until_the_next_one_arrives() -> None:
    runtime = at(12)
    assert [runtime.admit(offset) for offset in (15, 16)] == [False, False]
    assert runtime.take_seek() == 12, "asked again: Faust's fetch under way may have undone the seek"
    assert [runtime.admit(offset) for offset in (17, 12, 13)] == [False, True, True]
    assert runtime.take_seek() is None, "the messages re-fetched arrived: no seek"
    assert runtime.next_offset == 14


def test_a_redelivered_message_is_skipped_without_a_seek() -> None:
    runtime = at(10)
    assert runtime.admit(9) is False
    assert runtime.take_seek() is None
    assert runtime.next_offset == 10
    assert runtime.counters.messages_redelivered == 1


def test_without_a_known_offset_the_first_message_delivered_is_applied() -> None:
    runtime = fresh()
    assert runtime.next_offset is None
    assert runtime.admit(37) is True
    assert runtime.next_offset == 38


def test_the_record_keeps_the_next_offset_through_a_reload() -> None:
    runtime = fresh()
    stream = messages(HISTORY[:20], per_message=5)
    for offset, message in enumerate(stream, start=100):
        assert runtime.admit(offset)
        runtime.handle(message, wall_ms=0)
    record = runtime.take_writes().record
    assert record is not None
    reloaded = fresh(record)
    assert reloaded.next_offset == 100 + len(stream)
    assert reloaded.engine.watermark == runtime.engine.watermark
    assert reloaded.engine.read_up_to == runtime.engine.read_up_to
    assert reloaded.clocks.as_list() == runtime.clocks.as_list()


def test_a_record_from_before_the_offset_was_kept_still_loads() -> None:
    runtime = fresh()
    for message in messages(HISTORY[:10], per_message=5):
        runtime.handle(message, wall_ms=0)
    assert runtime.next_offset is None
    record = runtime.take_writes().record
    assert record is not None
    assert len(codec.loads(record)) == 5, "the earlier layout, written while the offset is not known"
    reloaded = fresh(record)
    assert reloaded.next_offset is None
    assert reloaded.engine.read_up_to == runtime.engine.read_up_to


def test_a_worker_that_reads_only_the_offsets_read_ignores_the_next_offset() -> None:
    """A worker of the release before reads the record as `watermark, newest, idle, inputs, *read`
    and uses `read[0]`: the next offset, appended after it, is ignored (a rollback stays possible)."""
    runtime = at(7)
    for message in messages(HISTORY[:10], per_message=5):
        assert runtime.admit(runtime.next_offset or 0)
        runtime.handle(message, wall_ms=0)
    record = runtime.take_writes().record
    assert record is not None
    watermark, _newest, _idle, _inputs, *read = codec.loads(record)
    assert watermark == runtime.engine.watermark
    assert {int(p): o for p, o in read[0].items()} == runtime.engine.read_up_to
    assert read[1] == runtime.next_offset


def deliver(
    stream: Sequence[InternalMessage], *, per_round: int, skips: dict[int, int], start: int = 0
) -> tuple[list[bytes], int]:
    """A stand-in for Faust over the internal partition `stream` (offset = index): rounds of
    `per_round` messages from its read position; `skips` maps a round's number to how many messages
    Faust jumps over before it. The shell's seeks move the read position. Returns the alerts and the
    number of seeks."""
    runtime, position, seeks, round_number = fresh(), start, 0, 0
    alerts: list[bytes] = []
    while position < len(stream):
        position += skips.pop(round_number, 0)
        batch = range(position, min(position + per_round, len(stream)))
        for offset in batch:
            if runtime.admit(offset):
                runtime.handle(stream[offset], wall_ms=0)
        alerts += (render(alert) for alert, _ in runtime.take_writes().alerts)
        runtime.commit()
        position = batch.stop if batch else position
        if (seek_to := runtime.take_seek()) is not None:
            position, seeks = seek_to, seeks + 1
        round_number += 1
    return alerts, seeks


def test_a_delivery_that_skips_a_run_gives_the_alerts_of_replay() -> None:
    history = HISTORY[:400]
    stream = messages(history, per_message=4)
    expected = sorted(replay([encode_event(event) for event in history], config=FAILING).alerts)
    alerts, seeks = deliver(stream, per_round=8, skips={3: 5, 7: 20})
    assert seeks == 2
    assert sorted(alerts) == expected
