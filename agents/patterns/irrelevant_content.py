"""Danger point 3: marketing that misses what the customer cares about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.patterns.base import Pattern
from agents.state import CustomerState
from agents.step import Step
from schemas.events import Touchpoint


@dataclass(frozen=True, slots=True)
class Thresholds:
    unengaged_sends: int = 3
    """Consecutive marketing sends without any engagement that make content irrelevant."""


class IrrelevantContent(Pattern[Thresholds]):
    name = "irrelevant_content"
    danger_point = 3
    phases = "all"
    summary = "Marketing content misses the customer's declared interests or goes unanswered."
    recommendation = (
        "Align the next sends with the customer's stated interests and pause the campaigns "
        "they keep ignoring."
    )
    reacts_to = ("marketing.sent", "marketing.engaged")
    Thresholds = Thresholds

    def facts(self, state: CustomerState, at: int) -> dict[str, Any] | None:
        unengaged = self.recall(state)
        return None if not unengaged else {"sends_without_engagement": unengaged}

    def on_event(self, step: Step, event: Touchpoint) -> None:
        state = step.state
        if event.type == "marketing.engaged":
            self.forget(state)
            step.resolve(self, self.name, event.time, "engaged", event.id)
            return
        unengaged = (self.recall(state) or 0) + 1
        self.remember(state, min(unengaged, self.limits.unengaged_sends))
        if not step.may_trigger:
            return
        topic = event.data.get("topic")
        if state.interests and topic is not None and topic not in state.interests:
            evidence = {"rule": "topic", "topic": topic, "interests": state.interests}
        elif unengaged >= self.limits.unengaged_sends:
            evidence = {"rule": "unengaged", "sends_without_engagement": unengaged}
        else:
            return
        step.fire(self, self.name, event.time, "warning", evidence, [event.id])
