"""Danger point 4: too many messages in too short a time."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from agents.lifecycle import is_communication
from agents.patterns.base import Duration, Pattern
from agents.state import CustomerState, Watch
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY, format_duration, format_instant

_sent_at = itemgetter(0)
"""The time of a remembered communication, a [time, event id] pair."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    max_communications: int = 5
    """More than this many communications in one window fires."""
    window: Duration = 7 * DAY
    """The rolling window (T - window, T]."""


class OverCommunication(Pattern[Thresholds]):
    name = "over_communication"
    danger_point = 4
    phases = "all"
    summary = "The customer receives more messages in a week than they can take in."
    recommendation = (
        "Hold back scheduled sends for this customer and bundle the next messages into "
        "one personal, relevant contact."
    )
    reacts_to = ("contact.made", "marketing.sent")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if not is_communication(event):
            return
        sent: list[list[Any]] = self.recall(step.state) or self.remember(step.state, [])
        bisect.insort(sent, [event.time, event.id])
        del sent[: -2 * (self.limits.max_communications + 1)]
        watch = step.watch(self.name)
        if watch is not None and watch.fired_at:
            if event.time <= watch.due:
                watch.due = self._clear_time(sent, watch.fired_at)
            return
        if step.may_trigger and self._count(sent, event.time) > self.limits.max_communications:
            self._fire(step, sent, event.time, event.id)

    def on_due(self, step: Step, key: str, watch: Watch) -> None:
        """The window holds few enough again: the episode resolves (later sends open the next one)."""
        cleared_at = watch.due
        watch.due = 0
        step.resolve(self, key, cleared_at, "window_cleared", None)

    def facts(self, state: CustomerState, at: int) -> dict[str, Any] | None:
        sent = self.recall(state)
        if not sent:
            return None
        return {
            "communications_in_window": self._count(sent, at),
            "window": format_duration(self.limits.window),
            "most_allowed": self.limits.max_communications,
        }

    def _fire(self, step: Step, sent: list[list[Any]], at: int, event_id: str) -> None:
        count = self._count(sent, at)
        evidence = {
            "communications": count,
            "window": format_duration(self.limits.window),
            "window_start": format_instant(at - self.limits.window),
        }
        if step.fire(self, self.name, at, "warning", evidence, [event_id]):
            watch = step.watch(self.name)
            assert watch is not None
            watch.due = self._clear_time(sent, at)

    def _count(self, sent: list[list[Any]], at: int) -> int:
        """Communications in (at - window, at]; `sent` is sorted by time, so two binary searches."""
        start = at - self.limits.window
        return bisect.bisect_right(sent, at, key=_sent_at) - bisect.bisect_right(sent, start, key=_sent_at)

    def _clear_time(self, sent: list[list[Any]], fired_at: int) -> int:
        """The first moment T after firing at which (T - window, T] holds few enough again."""
        for when, _ in sent:
            candidate = when + self.limits.window
            if candidate > fired_at and self._count(sent, candidate) <= self.limits.max_communications:
                return candidate
        raise AssertionError("a window always empties after its last send")
