"""Danger point 11: a complaint or claim argued back and forth for weeks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.patterns.base import Duration, Pattern
from agents.state import Watch
from agents.step import Step
from schemas.events import Touchpoint
from schemas.timestamps import DAY

ARGUED_KINDS = ("complaint", "claim")


def case_severity(case_severity: str) -> str:
    """High-severity cases are critical; missing severity counts as medium."""
    return "critical" if case_severity == "high" else "warning"


@dataclass(frozen=True, slots=True)
class Thresholds:
    open_for: Duration = 21 * DAY
    """A complaint or claim still open this long after opening fires."""
    max_updates: int = 7
    """The case update that fires while the case is open (the 7th)."""


class EndlessCase(Pattern[Thresholds]):
    name = "endless_case"
    danger_point = 11
    phases = "all"
    summary = "A complaint or claim has dragged on too long without being resolved."
    recommendation = (
        "Give the case to one senior owner with authority to settle it, call the customer "
        "and agree a resolution date."
    )
    reacts_to = ("case.opened", "case.updated", "case.resolved")
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        case_id = event.data["case_id"]
        key = self.key(case_id)
        if event.type == "case.resolved":
            step.answer(self, key, event.time, "case_resolved", event.id)
            return
        cases = step.state.cases
        case = cases.get(case_id) if cases else None
        if case is None or case.kind not in ARGUED_KINDS or case.silenced or not step.may_trigger:
            return
        severity = case_severity(case.severity)
        if event.type == "case.opened":
            watch = step.arm(key, event.time + self.limits.open_for, event.time, event.id)
            watch.severity = severity
        elif case.updates >= self.limits.max_updates:
            evidence = {"rule": "updates", "updates": case.updates, "case_id": case_id}
            step.fire(self, key, event.time, severity, evidence, [case.event_id, event.id])

    def due_evidence(self, step: Step, watch: Watch) -> dict[str, Any]:
        return {**super().due_evidence(step, watch), "rule": "open_too_long"}
