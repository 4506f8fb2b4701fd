"""Danger point 8: doubt after a big purchase that nobody addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.lifecycle import is_outbound_contact
from agents.patterns.base import Duration, Pattern
from agents.state import Watch
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import HOUR


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_amount: float = 10_000
    """Orders of at least this amount are big purchases."""
    within: Duration = 72 * HOUR
    """A big purchase must be followed by an outbound contact within this period."""
    clock: str = "wall"
    """"wall", or "business": `within` counts the business hours of the [calendar]."""


class PostPurchaseDissonance(Pattern[Thresholds]):
    name = "post_purchase_dissonance"
    danger_point = 8
    phases = "new_customer, established"
    summary = "A big purchase has not been followed by a reassuring personal contact."
    recommendation = (
        "Call the customer to confirm they made the right choice: recap the benefits and "
        "answer open questions before doubt sets in."
    )
    reacts_to = ("order.placed", "contact.made")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if is_outbound_contact(event):
            step.answer_after_trigger(self, self.name, event, "contact")
        elif event.type == "order.placed" and step.may_trigger:
            if event.data["amount"] < self.limits.min_amount:
                return
            due = self.deadline_after(event.time, self.limits.within)
            if not event.time <= step.state.last_outbound_at <= due:
                watch = step.arm(self.name, due, event.time, event.id)
                if watch.due and event.time < watch.since:
                    watch.due, watch.since, watch.triggers = due, event.time, [event.id]

    def due_evidence(self, step: Step, watch: Watch) -> dict[str, Any]:
        return {**super().due_evidence(step, watch), "min_amount": self.limits.min_amount}
