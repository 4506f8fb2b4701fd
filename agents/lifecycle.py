"""The shared rules: which events are contacts, communications and activity, and the phase model.

`apply` updates the facts every pattern relies on (phase, current rep, open
offer, orders, last outbound contact, preferences, open cases) before any
pattern sees the event, and says whether the event moved the customer into
or out of lost/churned.
"""

from __future__ import annotations

from math import isfinite

from agents.state import ACTIVE, CHURNED, LOST, MAX_OPEN_CASES, Case, CustomerState
from schemas.events import Touchpoint

LOST_NOW, CHURNED_NOW, RETURNED = "lost", "churned", "returned"
UNKNOWN_CASE = "unknown_case"


def is_outbound_contact(event: Touchpoint) -> bool:
    return event.type == "contact.made" and event.data["direction"] == "outbound"


def is_communication(event: Touchpoint) -> bool:
    """An outbound contact or a marketing send: what can overwhelm a customer."""
    return event.type == "marketing.sent" or is_outbound_contact(event)


def is_activity(event: Touchpoint) -> bool:
    """The customer's own activity: an order or an inbound contact."""
    return event.type == "order.placed" or (
        event.type == "contact.made" and event.data["direction"] == "inbound"
    )


def phase_at(state: CustomerState, at: int, new_customer_period: int) -> str:
    """The customer's phase at event time `at` (a deadline may fire after later events)."""
    if state.status != ACTIVE and at >= state.status_since:
        return "lost" if state.status == LOST else "churned"
    if not state.first_order_at or at < state.first_order_at:
        return "negotiating" if state.offer_open_at(at) else "prospect"
    if state.returned or at > state.first_order_at + new_customer_period:
        return "established"
    return "new_customer"


def apply(state: CustomerState, event: Touchpoint) -> str | None:
    """Update the shared facts; returns LOST_NOW, CHURNED_NOW, RETURNED, UNKNOWN_CASE or None."""
    kind, data, at = event.type, event.data, event.time
    if kind == "contact.made":
        if data["direction"] == "outbound" and at > state.last_outbound_at:
            state.last_outbound_at = at
    elif kind == "order.placed":
        state.offer_closed_at = max(state.offer_closed_at, at)
        total = state.order_total + data["amount"]
        if not isfinite(total):
            raise OverflowError(f"the customer's order total overflows after adding {data['amount']}")
        state.order_total = total
        if not state.first_order_at:
            state.first_order_at = state.clock_start = at
        if state.status != ACTIVE:
            state.status, state.status_since, state.returned, state.clock_start = ACTIVE, at, True, at
            return RETURNED
    elif kind == "rep.assigned":
        state.rep = data["rep"]
    elif kind == "lead.created":
        if "owner" in data:
            state.rep = data["owner"]
        if state.status == LOST:
            state.status, state.status_since = ACTIVE, at
    elif kind == "offer.sent":
        state.offer_sent_at = max(state.offer_sent_at, at)
        if state.status == LOST:
            state.status, state.status_since = ACTIVE, at
    elif kind == "deal.lost":
        state.offer_closed_at = max(state.offer_closed_at, at)
        if not state.first_order_at and state.status == ACTIVE:
            state.status, state.status_since = LOST, at
            return LOST_NOW
    elif kind == "contract.cancelled":
        state.offer_closed_at = max(state.offer_closed_at, at)
        if state.status != CHURNED:
            state.status, state.status_since = CHURNED, at
            return CHURNED_NOW
    elif kind == "preference.updated":
        for field in ("preferred_channels", "opted_out_channels", "interests"):
            if field in data:
                setattr(state, _PREFERENCE_SLOTS[field], list(data[field]) or None)
    elif kind.startswith("case."):
        return _apply_case(state, event)
    return None


_PREFERENCE_SLOTS = {
    "preferred_channels": "preferred",
    "opted_out_channels": "opted_out",
    "interests": "interests",
}


def _apply_case(state: CustomerState, event: Touchpoint) -> str | None:
    data = event.data
    case_id = data["case_id"]
    cases = state.cases
    if event.type == "case.opened":
        if cases is None:
            cases = state.cases = {}
        if case_id not in cases:
            cases[case_id] = Case(
                data["kind"], data.get("severity", "medium"), event.time, 0, state.status != ACTIVE, event.id
            )
            if len(cases) > MAX_OPEN_CASES:
                del cases[min(cases, key=lambda key: cases[key].opened_at)]
        return None
    case = cases.get(case_id) if cases else None
    if case is None:
        return UNKNOWN_CASE
    if event.type == "case.updated":
        case.updates += 1
    else:
        del cases[case_id]  # type: ignore[union-attr]
        if not cases:
            state.cases = None
    return None
