"""Dense random histories that crowd events around the patterns' deadlines and windows.

Lifecycle traffic (streams.traffic) is realistic but sparse: a customer's next
event rarely lands just after one of its deadlines. These histories are made
to: gaps cluster around the thresholds (24 h, 48 h, 72 h, 7, 14, 21, 90 and
365 days), so clearing events, new triggers, re-opened cases and windows that
clear and fill again land between a deadline and the moment a lagging
watermark passes it. Every event type but erasure occurs, so every pattern is
reachable.

`dense_history(choose, ...)` takes its randomness from `choose`, a function
picking one item of a sequence: `random.Random.choice` for a seeded history,
or a Hypothesis `draw` of `sampled_from` so that failures shrink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from schemas.events import Touchpoint
from schemas.timestamps import DAY, HOUR, MINUTE, SECOND, format_instant

T = TypeVar("T")
Choose = Callable[[Sequence[T]], T]

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z

GAPS = (
    0,
    SECOND,
    MINUTE,
    10 * MINUTE,
    HOUR,
    6 * HOUR,
    23 * HOUR + 59 * MINUTE,
    DAY + SECOND,
    47 * HOUR,
    48 * HOUR,
    48 * HOUR + SECOND,
    3 * DAY + SECOND,
    4 * DAY,
    7 * DAY + SECOND,
    14 * DAY + SECOND,
    21 * DAY + SECOND,
    45 * DAY,
    90 * DAY + MINUTE,
    365 * DAY + SECOND,
)
"""Gaps between a customer's consecutive events; the short ones keep bursts (window fills) common."""

STARTS = (0, 10 * MINUTE, 5 * HOUR, 2 * DAY, 40 * DAY)

REPS = ("R-1", "R-2", "R-3")
CASES = ("K-1", "K-2")


def _event(choose: Choose[Any], now: int, kinds: Sequence[str]) -> tuple[str, dict[str, Any]]:
    kind: str = choose(kinds)
    if kind == "alert.snoozed":
        until = now + choose((0, HOUR, 2 * DAY, 10 * DAY, 100 * DAY))
        return kind, {"pattern": choose(SNOOZED), "until": format_instant(until)}
    if kind == "alert.unsnoozed":
        return kind, {"pattern": choose(SNOOZED)}
    if kind == "customer.segmented":
        return kind, {"segment": choose(("key_account", "smb", None))}
    if kind == "marketing.transactional":
        return "marketing.sent", {"channel": choose(("email", "sms")), "kind": "transactional"}
    if kind == "lead.created":
        return kind, {"owner": choose(REPS)}
    if kind in ("contact.made", "contact.outbound"):
        direction = "outbound" if kind == "contact.outbound" else choose(("inbound", "outbound"))
        return "contact.made", {
            "channel": choose(("phone", "email", "sms", "meeting")),
            "direction": direction,
            "rep": choose(REPS),
        }
    if kind == "marketing.sent":
        return kind, {
            "channel": choose(("email", "email", "sms", "letter")),
            "topic": choose(("pricing", "product", "events")),
            "kind": "newsletter",
        }
    if kind == "marketing.engaged":
        return kind, {"campaign": "CMP-1"}
    if kind == "preference.updated":
        return kind, {
            "preferred_channels": choose((["email", "phone"], [])),
            "opted_out_channels": choose((["sms"], [])),
            "interests": choose((["pricing"], ["pricing", "product"], [])),
        }
    if kind == "rep.assigned":
        return kind, {"rep": choose(REPS), "reason": choose(("reassigned", "departed", "initial"))}
    if kind == "offer.sent":
        return kind, {"offer_id": "O-1", "amount": 5000}
    if kind == "competitor.mentioned":
        return kind, {"competitor": "Rival"}
    if kind == "order.placed":
        return kind, {"amount": choose((500, 12_000, 60_000)), "currency": "EUR"}
    if kind == "deal.lost":
        return kind, {"reason": "price"}
    if kind == "case.opened":
        return kind, {
            "case_id": choose(CASES),
            "kind": choose(("complaint", "claim", "support")),
            "severity": choose(("low", "medium", "high")),
        }
    if kind == "case.updated":
        return kind, {"case_id": choose(CASES), "direction": choose(("inbound", "outbound"))}
    if kind == "case.resolved":
        return kind, {"case_id": choose(CASES), "outcome": "fixed"}
    if kind == "invoice.issued":
        return kind, {
            "amount": choose((1000, 1100)),
            "agreed_amount": 1000,
            "invoice_id": choose(("I-1", "I-2")),
            "fees": [{"name": "service", "amount": 9, "disclosed": choose((True, False))}],
        }
    if kind == "change_request.quoted":
        return kind, {"amount": choose((100, 5000)), "contract_value": choose((0, 10_000))}
    if kind == "innovation.offered":
        return kind, {"product": "Widget 2"}
    if kind == "feedback.received":
        return kind, {"score": choose((0, 2, 5, 7, 9, 10))}
    return kind, {"reason": "moved"}  # contract.cancelled


KINDS = (
    "lead.created",
    "lead.created",
    "contact.made",
    "contact.made",
    "contact.outbound",
    "contact.outbound",
    "marketing.sent",
    "marketing.sent",
    "marketing.sent",
    "marketing.engaged",
    "preference.updated",
    "rep.assigned",
    "offer.sent",
    "competitor.mentioned",
    "order.placed",
    "order.placed",
    "deal.lost",
    "case.opened",
    "case.opened",
    "case.updated",
    "case.updated",
    "case.resolved",
    "invoice.issued",
    "change_request.quoted",
    "innovation.offered",
    "feedback.received",
    "contract.cancelled",
)
"""Event kinds, the frequent ones listed more than once; `contact.outbound` is an outbound contact."""
ACTION_KINDS = (
    *KINDS,
    "alert.snoozed",
    "alert.unsnoozed",
    "customer.segmented",
    "customer.segmented",
    "marketing.transactional",
    "marketing.transactional",
)
"""With the commands and the transactional sends of shared/spec/actions.md."""
SNOOZED = ("*", "lead_not_followed_up", "over_communication", "missing_appreciation", "wrong_channel")


def dense_history(
    choose: Choose[Any], customers: int, events_per_customer: int, *, actions: bool = False
) -> list[Touchpoint]:
    """`customers` customers' events merged in event-time order (each customer's own order kept);
    with `actions`, snoozes, segments and transactional sends among them."""
    kinds = ACTION_KINDS if actions else KINDS
    rows: list[tuple[int, int, str, dict[str, Any]]] = []
    for number in range(customers):
        now = START + choose(STARTS)
        for _ in range(events_per_customer):
            now += choose(GAPS)
            kind, data = _event(choose, now, kinds)
            rows.append((now, number, kind, data))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [
        Touchpoint(f"d-{index}", "dense", kind, f"C-{number}", at, data)
        for index, (at, number, kind, data) in enumerate(rows)
    ]
