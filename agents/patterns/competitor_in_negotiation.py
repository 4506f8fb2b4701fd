"""Danger point 6: a competitor courts the customer while our offer is open."""

from __future__ import annotations

from agents.patterns.base import NoThresholds, Pattern
from agents.step import Step
from schemas.events import Touchpoint


class CompetitorInNegotiation(Pattern[NoThresholds]):
    name = "competitor_in_negotiation"
    danger_point = 6
    phases = "any phase with an open offer"
    summary = "A competitor is in play while our offer is still open."
    recommendation = (
        "Call the customer now, learn what the competitor offers and sharpen our offer "
        "before the decision is made."
    )
    reacts_to = ("competitor.mentioned", "order.placed", "deal.lost")

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if event.type == "order.placed":
            step.resolve(self, self.name, event.time, "won", event.id)
        elif event.type == "deal.lost":
            step.resolve(self, self.name, event.time, "lost", event.id)
        elif step.may_trigger and step.state.offer_open:
            evidence = {"competitor": event.data.get("competitor")}
            step.fire(self, self.name, event.time, "critical", evidence, [event.id])
