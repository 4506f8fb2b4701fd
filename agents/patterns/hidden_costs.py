"""Danger point 12: an invoice with surprise costs."""

from __future__ import annotations

from dataclasses import dataclass

from agents.patterns.base import Pattern
from agents.step import Step
from schemas.events import Touchpoint

MAX_REMEMBERED_INVOICES = 32


@dataclass(frozen=True, slots=True)
class Thresholds:
    tolerance: float = 0.05
    """An invoice above the agreed amount by more than this share is a surprise."""


class HiddenCosts(Pattern[Thresholds]):
    name = "hidden_costs"
    danger_point = 12
    phases = "all"
    summary = "An invoice carries costs the customer did not agree to or was not told about."
    recommendation = (
        "Explain the difference to the customer before they find it, and credit fees that "
        "were never disclosed."
    )
    reacts_to = ("invoice.issued",)
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if not step.may_trigger:
            return
        data = event.data
        agreed = data.get("agreed_amount")
        over_agreed = agreed is not None and data["amount"] > agreed * (1 + self.limits.tolerance)
        undisclosed = [fee.get("name") for fee in data.get("fees", ()) if fee.get("disclosed") is False]
        if not over_agreed and not undisclosed:
            return
        invoice_id = data.get("invoice_id")
        if invoice_id is not None:
            noticed: list[str] = self.recall(step.state) or self.remember(step.state, [])
            if invoice_id in noticed:
                return
            noticed.append(invoice_id)
            del noticed[:-MAX_REMEMBERED_INVOICES]
        evidence = {
            "invoice_id": invoice_id,
            "amount": data["amount"],
            "agreed_amount": agreed,
            "over_agreed": over_agreed,
            "undisclosed_fees": undisclosed,
        }
        step.notice(self, event.time, "critical", evidence, sub_key=invoice_id or "")
