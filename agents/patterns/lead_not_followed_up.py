"""Danger point 1: a fresh lead or a prospect's inbound contact nobody answers."""

from __future__ import annotations

from dataclasses import dataclass

from agents.lifecycle import is_outbound_contact
from agents.patterns.base import Duration, Pattern
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import HOUR

FUNNEL_PHASES = ("prospect", "negotiating")


@dataclass(frozen=True, slots=True)
class Thresholds:
    within: Duration = 48 * HOUR
    """How long a lead or an inbound prospect may wait for an outbound contact."""
    clock: str = "wall"
    """"wall", or "business": `within` counts the business hours of the [calendar]."""


class LeadNotFollowedUp(Pattern[Thresholds]):
    name = "lead_not_followed_up"
    danger_point = 1
    phases = "prospect, negotiating"
    summary = "A new lead or a prospect's enquiry has had no personal answer in time."
    recommendation = (
        "Call or write to the prospect personally today; a first answer within hours "
        "decides whether the interest survives."
    )
    reacts_to = ("lead.created", "contact.made")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if is_outbound_contact(event):
            step.answer(self, self.name, event.time, "contact", event.id)
            return
        if not step.may_trigger:
            return
        if event.type == "contact.made" and step.phase(event.time) not in FUNNEL_PHASES:
            return
        due = self.deadline_after(event.time, self.limits.within)
        if event.time <= step.state.last_outbound_at <= due:
            return
        watch = step.arm(self.name, due, event.time, event.id)
        if watch.due and event.time < watch.since:
            watch.due, watch.since, watch.triggers = due, event.time, [event.id]
