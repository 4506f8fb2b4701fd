"""What every danger pattern is: a small unit with thresholds, words for people, and reactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from agents.calendar import WALL, Clock
from agents.state import CustomerState, Watch
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import Duration, format_duration, format_instant

__all__ = ["Duration", "NoThresholds", "Pattern"]


@dataclass(frozen=True, slots=True)
class NoThresholds:
    """For patterns whose rule has no number in it."""


LimitsT = TypeVar("LimitsT")


class Pattern(Generic[LimitsT]):
    """A danger pattern: reacts to the event types it names and to its own deadlines.

    Subclasses name their thresholds record (`Pattern[Thresholds]`, so a misspelt
    threshold is a type error), set the class attributes, implement `on_event`,
    and, when they arm deadlines, may refine `on_due`, `due_severity`,
    `due_evidence` and `after_held`. One instance per segment: it carries that
    segment's thresholds, the clock its response deadlines count on, and whether
    the segment has the pattern switched on (when off it still sees events, to
    clear what it armed before, but triggers nothing).
    """

    name: ClassVar[str]
    danger_point: ClassVar[int | None]
    phases: ClassVar[str]
    summary: ClassVar[str]
    recommendation: ClassVar[str]
    reacts_to: ClassVar[tuple[str, ...]]
    Thresholds: ClassVar[type[Any]] = NoThresholds
    memo_version: ClassVar[int] = 1
    """The version of what the pattern remembers of a customer (`recall`, `remember`): a pattern
    that changes its memo raises it, and customers stored with the old one start afresh for this
    pattern alone."""

    def __init__(self, limits: LimitsT | None = None, *, clock: Clock = WALL, enabled: bool = True) -> None:
        self.limits: LimitsT = limits if limits is not None else self.Thresholds()
        self.clock = clock
        self.enabled = enabled

    def recall(self, state: CustomerState) -> Any:
        """What the pattern remembers of the customer; None when nothing (or another version)."""
        entry = state.memo.get(self.name) if state.memo else None
        return entry[1] if entry is not None and entry[0] == self.memo_version else None

    def remember(self, state: CustomerState, value: Any) -> Any:
        """Keep `value` as what the pattern remembers of the customer; returns it, so that a list
        or dict can then be updated in place."""
        if state.memo is None:
            state.memo = {}
        state.memo[self.name] = [self.memo_version, value]
        return value

    def forget(self, state: CustomerState) -> None:
        if state.memo:
            state.memo.pop(self.name, None)
            if not state.memo:
                state.memo = None

    def deadline_after(self, start: int, duration: int) -> int:
        """`duration` after `start` on the pattern's clock (wall, or business hours)."""
        return self.clock.after(start, duration)

    def after_held(self, step: Step, key: str, at: int) -> None:
        """An episode whose firing time `at` a snooze holds did not open; a pattern whose clock
        restarts from it (missing_appreciation, innovation_gap) re-arms here."""

    def key(self, sub_key: str = "") -> str:
        """The watch key of an episode: the pattern name, plus the case/channel it is about."""
        return f"{self.name}|{sub_key}" if sub_key else self.name

    def on_event(self, step: Step, event: Touchpoint) -> None:
        raise NotImplementedError

    def on_due(self, step: Step, key: str, watch: Watch) -> None:
        """The watermark reached a deadline: fire at it."""
        step.fire(self, key, watch.due, self.due_severity(step, watch), self.due_evidence(step, watch))

    def facts(self, state: CustomerState, at: int) -> dict[str, Any] | None:
        """What this pattern knows of the customer at event time `at`, in words a CRM screen can
        show (the customer view); None when it keeps nothing worth showing."""
        return None

    def due_severity(self, step: Step, watch: Watch) -> str:
        return watch.severity or "warning"

    def due_evidence(self, step: Step, watch: Watch) -> dict[str, Any]:
        evidence = {
            "since": format_instant(watch.since),
            "deadline": format_instant(watch.due),
            "waited": format_duration(watch.due - watch.since),
        }
        if self.clock is not WALL:
            evidence["clock"] = self.clock.name
        return evidence

    def catalog_row(self) -> dict[str, Any]:
        """The pattern as `sentinel patterns` lists it."""
        limits = {
            name: format_duration(value) if _is_duration(type(self.limits), name) else value
            for name, value in _fields(self.limits).items()
        }
        return {
            "pattern": self.name,
            "danger_point": self.danger_point,
            "phases": self.phases,
            "thresholds": limits,
            "summary": self.summary,
            "recommendation": self.recommendation,
        }


def _fields(limits: Any) -> dict[str, Any]:
    return {name: getattr(limits, name) for name in limits.__dataclass_fields__}


def _is_duration(thresholds: type[Any], name: str) -> bool:
    return thresholds.__dataclass_fields__[name].type == "Duration"
