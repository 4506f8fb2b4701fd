"""Seed 003: a complaint that gets no answer within a day."""

from __future__ import annotations

from dataclasses import dataclass

from agents.lifecycle import is_outbound_contact
from agents.patterns.base import Duration, Pattern
from agents.patterns.endless_case import case_severity
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import HOUR


@dataclass(frozen=True, slots=True)
class Thresholds:
    within: Duration = 24 * HOUR
    """A complaint must get a response within this period."""
    clock: str = "wall"
    """"wall", or "business": `within` counts the business hours of the [calendar]."""


class ComplaintUnanswered(Pattern[Thresholds]):
    name = "complaint_unanswered"
    danger_point = None
    phases = "all"
    summary = "A complaint has had no response from us in time."
    recommendation = (
        "Answer the complaint personally now: acknowledge it, name the person in charge "
        "and say when the customer will hear back."
    )
    reacts_to = ("case.opened", "case.updated", "case.resolved", "contact.made")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if event.type == "contact.made":
            if is_outbound_contact(event) and step.state.watches:
                prefix = self.name + "|"
                for key in [key for key in step.state.watches if key.startswith(prefix)]:
                    step.answer_after_trigger(self, key, event, "contact")
            return
        key = self.key(event.data["case_id"])
        if event.type == "case.resolved":
            step.answer(self, key, event.time, "case_resolved", event.id)
        elif event.type == "case.updated":
            if event.data["direction"] == "outbound":
                step.answer(self, key, event.time, "case_answered", event.id)
        elif event.data["kind"] == "complaint" and step.may_trigger:
            case = step.state.cases[event.data["case_id"]] if step.state.cases else None
            if case is not None and case.opened_at == event.time and not case.silenced:
                due = self.deadline_after(event.time, self.limits.within)
                watch = step.arm(key, due, event.time, event.id)
                watch.severity = case_severity(case.severity)
