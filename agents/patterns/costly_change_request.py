"""Danger point 13: the first change request comes back with a shocking price."""

from __future__ import annotations

from dataclasses import dataclass

from agents.patterns.base import Pattern
from agents.step import Step
from schemas.events import Touchpoint


@dataclass(frozen=True, slots=True)
class Thresholds:
    share: float = 0.2
    """A first quote at or above this share of the contract value is costly."""


class CostlyChangeRequest(Pattern[Thresholds]):
    name = "costly_change_request"
    danger_point = 13
    phases = "all"
    summary = "The customer's first change request was quoted at a large share of the contract."
    recommendation = (
        "Walk the customer through the quote personally, and look for a smaller first step "
        "or a goodwill price."
    )
    reacts_to = ("change_request.quoted",)
    Thresholds = Thresholds

    def on_event(self, step: Step, event: Touchpoint) -> None:
        state = step.state
        if self.recall(state):
            return
        self.remember(state, True)
        if not step.may_trigger:
            return
        contract_value = event.data.get("contract_value") or 0
        basis = "contract_value" if contract_value > 0 else "order_total"
        value = contract_value if contract_value > 0 else state.order_total
        amount = event.data["amount"]
        if value > 0 and amount >= self.limits.share * value:
            evidence = {"amount": amount, basis: value, "share": round(amount / value, 4)}
            step.notice(self, event.time, "warning", evidence)
