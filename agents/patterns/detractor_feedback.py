"""Seed 003: a customer who tells us they are unhappy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.patterns.base import Pattern
from agents.state import CustomerState
from agents.step import Step
from schemas.events import Touchpoint


@dataclass(frozen=True, slots=True)
class Thresholds:
    detractor_max: int = 6
    """Scores up to this are detractors."""
    critical_max: int = 3
    """Scores up to this are critical."""
    drop: int = 3
    """A fall of at least this many points from the previous score fires too."""
    recovered_min: int = 7
    """A later score of at least this (and not such a drop) clears."""


class DetractorFeedback(Pattern[Thresholds]):
    name = "detractor_feedback"
    danger_point = None
    phases = "all"
    summary = "The customer's feedback score is low or has fallen sharply."
    recommendation = (
        "Call the customer within a day, listen to what went wrong and agree one concrete "
        "improvement with them."
    )
    reacts_to = ("feedback.received",)
    Thresholds = Thresholds

    def facts(self, state: CustomerState, at: int) -> dict[str, Any] | None:
        score = self.recall(state)
        return None if score is None else {"last_score": score}

    def on_event(self, step: Step, event: Touchpoint) -> None:
        score = int(event.data["score"])
        previous = self.recall(step.state)
        self.remember(step.state, score)
        dropped = previous is not None and previous - score >= self.limits.drop
        if score <= self.limits.detractor_max or dropped:
            if step.may_trigger:
                severity = "critical" if score <= self.limits.critical_max else "warning"
                evidence = {"score": score, "previous_score": previous, "dropped": dropped}
                step.fire(self, self.name, event.time, severity, evidence, [event.id])
        elif score >= self.limits.recovered_min:
            step.resolve(self, self.name, event.time, "feedback_improved", event.id)
