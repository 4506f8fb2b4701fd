"""The internal repartition format: validated touchpoints, many per Kafka message.

The ingest stage validates once and forwards compact rows
`[id, source, type, subject, time_ms, data, received_ms]` so the stateful stage
neither re-validates nor re-parses timestamps, and pays Kafka's per-message
cost once per batch instead of once per event. `received_ms` is when the
touchpoint reached Kafka (its message timestamp), for the latency metric.

Repartitioning merges several input partitions into each internal one, so
every message also carries the ingest's `clocks`: the highest event time
forwarded so far from each input partition ("topic:partition"). The stateful
stage takes its watermark from the slowest of them, as a watermark must be
carried through a shuffle; ticks carry the clocks and the wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zlib import crc32

from schemas import codec
from schemas.events import Touchpoint


@dataclass(slots=True)
class InternalMessage:
    """One decoded internal message: a batch (events) or a tick (wall_ms set)."""

    events: list[Touchpoint]
    received_ms: list[int]
    clocks: dict[str, int]
    wall_ms: int | None


def partition_for(subject: str, partitions: int) -> int:
    """Which internal partition owns a customer; stable across processes and restarts."""
    return crc32(subject.encode()) % partitions


def encode_batch(
    events: Sequence[Touchpoint], received_ms: Sequence[int], clocks: Mapping[str, int]
) -> bytes:
    rows = [
        [event.id, event.source, event.type, event.subject, event.time, event.data, at]
        for event, at in zip(events, received_ms, strict=True)
    ]
    return codec.dumps({"clocks": clocks, "events": rows})


def encode_tick(wall_ms: int, clocks: Mapping[str, int]) -> bytes:
    """A wall-clock tick for one partition, so an idle partition's watermark still moves."""
    return codec.dumps({"clocks": clocks, "tick": wall_ms})


def decode_internal(value: bytes) -> InternalMessage:
    """Messages written by `encode_batch`/`encode_tick` (trusted: only the ingest writes them)."""
    message = codec.loads(value)
    rows = message.get("events", ())
    return InternalMessage(
        [Touchpoint(*row[:6]) for row in rows],
        [row[6] for row in rows],
        message["clocks"],
        message.get("tick"),
    )
