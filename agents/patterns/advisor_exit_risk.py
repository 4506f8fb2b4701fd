"""Seed 001: the customer's trusted advisor leaves the company, and the customer may follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.lifecycle import is_outbound_contact
from agents.patterns.base import Duration, Pattern
from agents.state import CustomerState
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY, format_duration

MAX_REMEMBERED_CONTACTS = 64


@dataclass(frozen=True, slots=True)
class Thresholds:
    share: float = 0.8
    """The departed rep's share of recent outbound contacts that makes the customer theirs."""
    min_contacts: int = 3
    """The departed rep must have had at least this many of those contacts."""
    window: Duration = 365 * DAY
    """Outbound contacts within this period before the departure count."""


class AdvisorExitRisk(Pattern[Thresholds]):
    name = "advisor_exit_risk"
    danger_point = None
    phases = "all"
    summary = "The customer's main contact has left the company; the relationship may leave with them."
    recommendation = (
        "Introduce a senior successor personally within days, and make sure the customer hears "
        "it from us before a competitor calls."
    )
    reacts_to = ("contact.made", "rep.assigned")
    Thresholds = Thresholds

    def facts(self, state: CustomerState, at: int) -> dict[str, Any] | None:
        horizon = at - self.limits.window
        recent = [rep for when, rep in self.recall(state) or () if horizon <= when <= at]
        if not recent:
            return None
        return {
            "outbound_contacts_in_window": len(recent),
            "by_current_rep": sum(1 for rep in recent if rep == state.rep),
            "window": format_duration(self.limits.window),
        }

    def on_event(self, step: Step, event: Touchpoint) -> None:
        state = step.state
        if event.type == "contact.made":
            if is_outbound_contact(event):
                contacts: list[list[Any]] = self.recall(state) or self.remember(state, [])
                contacts.append([event.time, event.data.get("rep")])
                horizon = event.time - self.limits.window
                contacts[:] = [c for c in contacts if c[0] >= horizon][-MAX_REMEMBERED_CONTACTS:]
            return
        departed = step.previous_rep
        if event.data.get("reason") != "departed" or departed is None or not step.may_trigger:
            return
        horizon = event.time - self.limits.window
        recent = [rep for at, rep in self.recall(state) or () if horizon <= at <= event.time]
        theirs = sum(1 for rep in recent if rep == departed)
        if theirs >= self.limits.min_contacts and theirs >= self.limits.share * len(recent):
            evidence = {
                "departed_rep": departed,
                "new_rep": event.data["rep"],
                "contacts_by_departed_rep": theirs,
                "outbound_contacts": len(recent),
                "window": format_duration(self.limits.window),
            }
            step.notice(self, event.time, "critical", evidence)
