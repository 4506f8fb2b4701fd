"""Danger point 7: the sales rep disappears right after the first order."""

from __future__ import annotations

from dataclasses import dataclass

from agents.lifecycle import is_outbound_contact
from agents.patterns.base import Duration, Pattern
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY


@dataclass(frozen=True, slots=True)
class Thresholds:
    within: Duration = 14 * DAY
    """A first order must be followed by an outbound contact within this period."""


class PostSaleAbandonment(Pattern[Thresholds]):
    name = "post_sale_abandonment"
    danger_point = 7
    phases = "new_customer"
    summary = "Nobody has personally contacted the customer since their first order."
    recommendation = (
        "Have the rep who won the customer call to thank them and check the start went well; "
        "do not hand the customer off in silence."
    )
    reacts_to = ("order.placed", "contact.made")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if is_outbound_contact(event):
            step.answer_after_trigger(self, self.name, event, "contact")
        elif event.type == "order.placed" and not step.had_order and step.may_trigger:
            due = event.time + self.limits.within
            if not event.time <= step.state.last_outbound_at <= due:
                step.arm(self.name, due, event.time, event.id)
