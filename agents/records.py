"""What the worker writes to Kafka, as plain data: the ingest and the detection runtime build
these, and the Kafka shells (agents/ingest.py's loop, agents/detect.py) send them."""

from __future__ import annotations

from dataclasses import dataclass

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Record:
    """One record to write: topic, key, value (None: a tombstone), headers, partition (None: by key)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    partition: int | None


@dataclass(slots=True)
class DeadLetter:
    """A refused touchpoint: the original bytes plus why and where it came from."""

    key: bytes | None
    value: bytes
    headers: Headers
    reason: str
