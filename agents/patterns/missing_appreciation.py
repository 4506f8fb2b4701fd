"""Danger point 10: a customer with orders who hears nothing personal for months."""

from __future__ import annotations

from dataclasses import dataclass

from agents.lifecycle import is_outbound_contact
from agents.patterns.base import Duration, Pattern
from agents.step import DEFERRED, Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY


@dataclass(frozen=True, slots=True)
class Thresholds:
    within: Duration = 90 * DAY
    """The longest a buying customer may go without an outbound contact."""


class MissingAppreciation(Pattern[Thresholds]):
    name = "missing_appreciation"
    danger_point = 10
    phases = "new_customer, established"
    summary = "A buying customer has had no personal contact for a long time."
    recommendation = (
        "Get in touch personally to thank the customer and ask how things are going; "
        "existing customers deserve the attention new ones get."
    )
    reacts_to = ("order.placed", "contact.made")
    Thresholds = Thresholds

    def after_held(self, step: Step, key: str, at: int) -> None:
        """A snooze held the alert: the clock restarts from when it would have fired."""
        step.rearm(key, at + self.limits.within, at, None)

    def on_event(self, step: Step, event: Touchpoint) -> None:
        state = step.state
        if event.type == "order.placed":
            if step.clock_restarted and step.may_trigger:
                since = max(state.clock_start, state.last_outbound_at)
                step.rearm(self.name, since + self.limits.within, since, event.id)
            return
        if not is_outbound_contact(event) or not state.clock_start or event.time < state.clock_start:
            return
        watch = step.watch(self.name)
        if watch is not None and event.time < watch.since:
            return
        if step.answer(self, self.name, event.time, "contact", event.id) != DEFERRED and step.may_trigger:
            step.rearm(self.name, event.time + self.limits.within, event.time, event.id)
