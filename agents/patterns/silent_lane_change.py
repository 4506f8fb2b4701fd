"""Seed 000: a customer whose own activity suddenly goes quiet ("lane change without signalling")."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from agents.lifecycle import is_activity
from agents.patterns.base import Duration, Pattern
from agents.state import CustomerState, Watch
from agents.step import DEFERRED, Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY, format_duration, format_instant


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_activities: int = 5
    """Activities needed before the customer's rhythm is known."""
    gaps: int = 10
    """The median is taken over at most this many latest gaps between activities."""
    factor: int = 3
    """Silence longer than this many median gaps fires."""
    min_silence: Duration = DAY
    """The silence that fires is never shorter than this."""


def median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


class SilentLaneChange(Pattern[Thresholds]):
    name = "silent_lane_change"
    danger_point = None
    phases = "all"
    summary = "An active customer has gone unusually quiet compared with their own rhythm."
    recommendation = (
        "Reach out personally and ask how the customer is doing before they change lanes to a competitor."
    )
    reacts_to = ("order.placed", "contact.made")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if not is_activity(event):
            return
        count, times = self.recall(step.state) or (0, [])
        bisect.insort(times, event.time)
        del times[: -(self.limits.gaps + 1)]
        count = min(count + 1, self.limits.min_activities)
        self.remember(step.state, [count, times])
        outcome = step.answer(self, self.name, event.time, "activity", event.id)
        if outcome != DEFERRED and step.may_trigger:
            self._arm(step, times, event.id)

    def _arm(self, step: Step, times: list[int], trigger: str | None) -> None:
        count = self.recall(step.state)[0]
        if count < self.limits.min_activities:
            return
        silence = self.silence(times)
        step.rearm(self.name, times[-1] + silence, times[-1], trigger)

    def facts(self, state: CustomerState, at: int) -> dict[str, Any] | None:
        remembered = self.recall(state)
        if not remembered:
            return None
        count, times = remembered
        facts: dict[str, Any] = {"last_activity": format_instant(times[-1])}
        if count >= self.limits.min_activities:
            facts["silence_that_fires"] = format_duration(self.silence(times))
        return facts

    def silence(self, times: list[int]) -> int:
        gaps = [later - earlier for earlier, later in pairwise(times)]
        return max(self.limits.min_silence, int(self.limits.factor * median(gaps)))

    def due_evidence(self, step: Step, watch: Watch) -> dict[str, Any]:
        return {**super().due_evidence(step, watch), "silence": format_duration(watch.due - watch.since)}
