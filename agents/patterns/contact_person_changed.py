"""Danger point 5: the customer's contact person changes during a fragile phase."""

from __future__ import annotations

from dataclasses import dataclass

from agents.patterns.base import Duration, Pattern
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY, format_duration

FRAGILE_PHASES = ("prospect", "negotiating", "new_customer")
MAX_REMEMBERED_CHANGES = 8


@dataclass(frozen=True, slots=True)
class Thresholds:
    window: Duration = 180 * DAY
    """Changes within this period add up."""
    critical_changes: int = 2
    """This many changes within the window make the notice critical."""


class ContactPersonChanged(Pattern[Thresholds]):
    name = "contact_person_changed"
    danger_point = 5
    phases = "prospect, negotiating, new_customer"
    summary = "The customer's relationship owner changed while the relationship is still fragile."
    recommendation = (
        "Have the previous and the new owner introduce the change personally, and keep the "
        "same person from now on."
    )
    reacts_to = ("rep.assigned",)
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        previous, current = step.previous_rep, event.data["rep"]
        if previous is None or previous == current:
            return
        changes: list[int] = self.recall(step.state) or self.remember(step.state, [])
        changes.append(event.time)
        changes[:] = [at for at in changes if event.time - at <= self.limits.window][-MAX_REMEMBERED_CHANGES:]
        if not step.may_trigger or step.phase(event.time) not in FRAGILE_PHASES:
            return
        severity = "critical" if len(changes) >= self.limits.critical_changes else "warning"
        evidence = {
            "previous_rep": previous,
            "new_rep": current,
            "reason": event.data.get("reason"),
            "changes_in_window": len(changes),
            "window": format_duration(self.limits.window),
        }
        step.notice(self, event.time, severity, evidence)
