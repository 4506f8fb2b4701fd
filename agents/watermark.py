"""The watermark behind a repartitioning step: the slowest input partition's clock, less the lateness.

An internal partition holds customers from every input partition, so its
watermark may pass an event time only once every input partition has passed
it. Each internal message carries its ingest's `ClockReport`; `InputClocks`
folds them. Until it has heard of every input partition the watermark waits:
moving on with the first ones heard would make the others' events late. An
input partition reported idle (caught up and silent, in live operation) holds
nothing back, so a partition no customer hashes to does not stop the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.batches import ClockReport


@dataclass(slots=True)
class InputClocks:
    """One internal partition's view of the input partitions' clocks."""

    newest: dict[str, int] = field(default_factory=dict)
    """The highest event time heard of per input partition; never moves back."""
    idle: set[str] = field(default_factory=set)
    """Input partitions their ingest last reported idle."""
    inputs: int = 0
    """Input partitions in all, as the latest report said."""

    def merge(self, report: ClockReport) -> None:
        newest = self.newest
        for source, at in report.newest.items():
            if at > newest.get(source, at - 1):
                newest[source] = at
        reported_idle = set(report.idle)
        self.idle = (self.idle - report.newest.keys()) | reported_idle
        if report.inputs:
            self.inputs = report.inputs

    def slowest(self) -> int | None:
        """The clock the watermark may follow: None until every input partition has been heard
        of, and while every one heard of is idle (then only the wall clock can move it)."""
        idle, newest = self.idle, self.newest
        if len(newest.keys() | idle) < self.inputs:
            return None
        busy = [at for source, at in newest.items() if source not in idle]
        return min(busy) if busy else None

    def as_list(self) -> list[Any]:
        return [self.newest, sorted(self.idle), self.inputs]

    @classmethod
    def from_list(cls, fields: list[Any]) -> InputClocks:
        newest, idle, inputs = fields
        return cls(newest, set(idle), inputs)
