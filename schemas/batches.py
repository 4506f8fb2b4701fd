"""The internal repartition format: validated touchpoints, many per Kafka message.

The ingest stage validates once and forwards compact rows
`[id, source, type, subject, time_ms, data, received_ms, input_partition, input_offset]`
so the stateful stage neither re-validates nor re-parses timestamps, and pays
Kafka's per-message cost once per batch instead of once per event.
`received_ms` is when the touchpoint reached Kafka (its message timestamp), for
the latency metric; the input partition and offset are where it was read, so
that an event forwarded twice is applied once.

Repartitioning merges several input partitions into each internal one, so
every message also carries its ingest's `ClockReport`: the highest event time
forwarded so far from each input partition it reads ("topic:partition"), which
of them are idle, and how many input partitions there are. The stateful stage
takes its watermark from the slowest of them (`agents.watermark`), as a
watermark must be carried through a shuffle; ticks carry the report and the
wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zlib import crc32

from schemas import codec
from schemas.events import Touchpoint


@dataclass(slots=True)
class ClockReport:
    """What an ingest knows of the input partitions it reads, sent with every internal message."""

    newest: dict[str, int] = field(default_factory=dict)
    """The highest event time forwarded per input partition ("topic:partition")."""
    idle: list[str] = field(default_factory=list)
    """Input partitions caught up and silent for a while: they hold no watermark back (live only)."""
    inputs: int = 0
    """Input partitions in all: a watermark waits until it has heard of each (0: unknown)."""

    def as_dict(self) -> dict[str, Any]:
        encoded: dict[str, Any] = {"clocks": self.newest, "inputs": self.inputs}
        if self.idle:
            encoded["idle"] = self.idle
        return encoded


class Origin(NamedTuple):
    """Where an event was read: its partition of the touchpoints topic and its offset there."""

    partition: int
    offset: int


@dataclass(slots=True)
class InternalMessage:
    """One decoded internal message: a batch (events) or a tick (wall_ms set)."""

    events: list[Touchpoint]
    received_ms: list[int]
    origins: list[Origin]
    clocks: ClockReport
    wall_ms: int | None


def partition_for(subject: str, partitions: int) -> int:
    """Which internal partition owns a customer; stable across processes and restarts."""
    return crc32(subject.encode()) % partitions


def encode_row(event: Touchpoint, received_ms: int, origin: Origin) -> bytes:
    """One touchpoint as a row of a batch; encoded alone, so that batches can be cut by bytes."""
    return codec.dumps(
        [event.id, event.source, event.type, event.subject, event.time, event.data, received_ms, *origin]
    )


def batch_head(clocks: ClockReport) -> bytes:
    """A batch message up to its first row: `batch_head(c) + b",".join(rows) + b"]}"` is the batch."""
    return codec.dumps(clocks.as_dict())[:-1] + b',"events":['


def encode_batch(rows: Sequence[bytes], clocks: ClockReport) -> bytes:
    """`{"clocks": ..., "inputs": ..., "events": [row, ...]}` from rows made by `encode_row`."""
    return batch_head(clocks) + b",".join(rows) + b"]}"


def encode_tick(wall_ms: int, clocks: ClockReport) -> bytes:
    """A wall-clock tick for one partition, so an idle partition's watermark still moves."""
    return codec.dumps({**clocks.as_dict(), "tick": wall_ms})


def decode_internal(value: bytes) -> InternalMessage:
    """Messages written by `encode_batch`/`encode_tick` (trusted: only the ingest writes them)."""
    message = codec.loads(value)
    rows = message.get("events", ())
    return InternalMessage(
        [Touchpoint(*row[:6]) for row in rows],
        [row[6] for row in rows],
        [Origin(row[7], row[8]) for row in rows],
        ClockReport(message["clocks"], message.get("idle", []), message.get("inputs", 0)),
        message.get("tick"),
    )
