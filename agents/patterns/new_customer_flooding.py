"""Danger point 9: a new customer buried in catalogs and promotions."""

from __future__ import annotations

from dataclasses import dataclass

from agents.patterns.base import Duration, Pattern
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY, format_duration, format_instant


@dataclass(frozen=True, slots=True)
class Thresholds:
    sends: int = 4
    """The marketing send that counts as flooding (the 4th)."""
    window: Duration = 30 * DAY
    """Counted within [first order, first order + window]."""


class NewCustomerFlooding(Pattern[Thresholds]):
    name = "new_customer_flooding"
    danger_point = 9
    phases = "new_customer"
    summary = "A new customer is being flooded with marketing right after the first order."
    recommendation = (
        "Pause mass mailings and catalogs for this customer; replace them with one useful, personal welcome."
    )
    reacts_to = ("marketing.sent",)
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        state = step.state
        first_order = state.first_order_at
        if not first_order or not first_order <= event.time <= first_order + self.limits.window:
            return
        sends = (self.recall(state) or 0) + 1
        if sends > self.limits.sends:
            return
        self.remember(state, sends)
        if sends == self.limits.sends and step.may_trigger:
            evidence = {
                "sends": sends,
                "first_order_at": format_instant(first_order),
                "window": format_duration(self.limits.window),
            }
            step.notice(self, event.time, "warning", evidence)
