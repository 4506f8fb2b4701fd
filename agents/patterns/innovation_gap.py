"""Danger point 14: a long-standing customer never hears about anything new."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.patterns.base import Duration, Pattern
from agents.state import Watch
from agents.step import DEFERRED, Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY


@dataclass(frozen=True, slots=True)
class Thresholds:
    within: Duration = 365 * DAY
    """The longest a customer may go without an innovation being offered."""
    critical_lifetime_amount: float = 50_000
    """Customers who ordered at least this much in total make it critical."""


class InnovationGap(Pattern[Thresholds]):
    name = "innovation_gap"
    danger_point = 14
    phases = "new_customer, established"
    summary = "The customer has not been offered anything new for a year."
    recommendation = (
        "Present a relevant innovation, new product or individual service to the customer; "
        "show them why staying keeps paying off."
    )
    reacts_to = ("order.placed", "innovation.offered")
    Thresholds = Thresholds

    def after_held(self, step: Step, key: str, at: int) -> None:
        """A snooze held the alert: the clock restarts from when it would have fired."""
        step.rearm(key, at + self.limits.within, at, None)

    def on_event(self, step: Step, event: Touchpoint) -> None:
        state = step.state
        if event.type == "order.placed":
            if step.clock_restarted and step.may_trigger:
                step.rearm(self.name, event.time + self.limits.within, event.time, event.id)
            return
        if not state.clock_start or event.time < state.clock_start:
            return
        if step.answer(self, self.name, event.time, "innovation", event.id) != DEFERRED and step.may_trigger:
            step.rearm(self.name, event.time + self.limits.within, event.time, event.id)

    def due_severity(self, step: Step, watch: Watch) -> str:
        critical = step.state.order_total >= self.limits.critical_lifetime_amount
        return "critical" if critical else "warning"

    def due_evidence(self, step: Step, watch: Watch) -> dict[str, Any]:
        return {**super().due_evidence(step, watch), "lifetime_order_amount": step.state.order_total}
