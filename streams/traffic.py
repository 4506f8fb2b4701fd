"""Realistic lifecycle traffic for the demo, the benchmarks and the integration tests.

Each customer follows a plausible script through the lifecycle (lead, contacts,
offer, order or loss, marketing, cases, invoices, feedback, rep changes,
cancellation), with enough neglect sprinkled in that every danger pattern has
something to find. Seeded, so the same arguments give the same history.

With `outreach_effect`, the history also shows what acting on an alert did:
see `Outreach`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from agents.holdout import NO_HOLDOUT, Holdout
from schemas.events import Touchpoint
from schemas.timestamps import DAY, HOUR, MINUTE

CHANNELS = ("email", "phone", "meeting", "chat", "letter", "sms", "portal")
TOPICS = ("pricing", "product", "events", "service", "finance", "sustainability")
SOURCES = ("crm/eu-sales", "ticketing/support", "billing/erp", "marketing/automation", "callcenter/voice")

NEGLECT = 14 * DAY
"""No outbound contact this long after the first order: post_sale_abandonment's default `within`."""


@dataclass(frozen=True, slots=True)
class Outreach:
    """What the team's reaction to a neglected new customer does to churn, for the effectiveness demo.

    The generator cannot see alerts, so it plays both sides. A customer without
    an outbound contact within `NEGLECT` of their first order (post_sale_abandonment
    fires then) churns with probability `base_churn`, 3 to 30 days after the
    neglect shows, and their script ends there. Unless held out, the team acted
    on the alert: a rep calls within two days, and the churn probability is
    `base_churn * (1 + effect)`, at most 1: below 0 the call helps, above 0 it
    backfires. Held-out customers get no call and keep `base_churn`.
    """

    effect: float
    holdout: Holdout = NO_HOLDOUT
    base_churn: float = 0.3

    def __post_init__(self) -> None:
        if not (self.effect >= -1 and 0 <= self.base_churn <= 1):
            raise ValueError(f"outreach needs effect >= -1 and 0 <= base_churn <= 1, got {self}")

    def churn_probability(self, held_out: bool) -> float:
        return self.base_churn if held_out else min(1.0, self.base_churn * (1 + self.effect))

    def apply(self, script: _Script, draws: random.Random) -> None:
        """Act on the finished script of one customer; `draws` is a random stream of its own, so
        every other event is the one the generator makes without outreach."""
        ordered = script.first_order_at
        if ordered is None or any(
            kind == "contact.made" and data["direction"] == "outbound" and ordered <= at <= ordered + NEGLECT
            for at, kind, data in script.events
        ):
            return
        noticed = ordered + NEGLECT
        held_out = self.holdout.is_held_out(script.subject)
        if not held_out:
            call = {"channel": "phone", "direction": "outbound", "rep": script.rep}
            script.events.append((noticed + draws.randint(HOUR, 2 * DAY), "contact.made", call))
        if draws.random() < self.churn_probability(held_out):
            cancelled = noticed + draws.randint(3 * DAY, 30 * DAY)
            kept = [row for row in script.events if row[0] <= cancelled]
            if not any(kind in ("contract.cancelled", "customer.erased") for _, kind, _ in kept):
                script.events[:] = [*kept, (cancelled, "contract.cancelled", {"reason": "service"})]


@dataclass(slots=True)
class _Script:
    """One customer's history under construction."""

    subject: str
    rng: random.Random
    now: int
    rep: str
    preferred: list[str] = field(default_factory=list)
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    first_order_at: int | None = None

    def wait(self, low: int, high: int) -> None:
        self.now += self.rng.randint(low, high)

    def emit(self, event_type: str, /, **data: Any) -> None:
        self.events.append((self.now, event_type, data))

    def contact(self, direction: str, rep: str | None = None) -> None:
        self.emit(
            "contact.made", channel=self.rng.choice(CHANNELS[:4]), direction=direction, rep=rep or self.rep
        )

    def marketing(self, kind: str = "newsletter") -> None:
        self.emit(
            "marketing.sent",
            channel="email",
            campaign=f"cmp-{self.rng.randint(1, 40)}",
            topic=self.rng.choice(TOPICS),
            kind=kind,
        )


def _customer_script(script: _Script, reps: int) -> None:
    rng = script.rng
    s = script
    s.emit("lead.created", owner=s.rep, source_channel=rng.choice(("web", "fair", "referral")))
    if rng.random() < 0.5:
        s.preferred = ["email", rng.choice(("phone", "meeting", "chat"))]
        s.emit(
            "preference.updated",
            preferred_channels=s.preferred,
            opted_out_channels=[rng.choice(("sms", "letter"))],
            interests=rng.sample(TOPICS, 3),
        )
    s.wait(HOUR, 60 * HOUR if rng.random() < 0.2 else 30 * HOUR)
    s.contact("outbound")
    s.wait(HOUR, 5 * DAY)
    s.contact("inbound")
    s.wait(10 * MINUTE, 30 * HOUR)
    s.contact("outbound")
    s.wait(DAY, 10 * DAY)
    s.emit("offer.sent", offer_id=f"O-{s.subject}", amount=rng.choice((2_000, 8_000, 15_000, 60_000)))
    if rng.random() < 0.15:
        s.wait(HOUR, 5 * DAY)
        s.emit("competitor.mentioned", competitor=rng.choice(("Acme", "Globex", "Initech")))
    s.wait(DAY, 12 * DAY)
    if rng.random() < 0.2:
        s.emit("deal.lost", reason=rng.choice(("price", "timing", "competitor")))
        return
    amount = rng.choice((900, 3_500, 12_000, 25_000, 70_000))
    s.emit("order.placed", amount=amount, currency="EUR", kind=rng.choice(("order", "contract")))
    order_time = s.first_order_at = s.now
    for _ in range(rng.choice((1, 2, 3, 5, 6))):
        s.wait(HOUR, 6 * DAY)
        s.marketing(rng.choice(("newsletter", "catalog", "promotion")))
    if rng.random() < 0.7:
        s.now = order_time + rng.randint(HOUR, 20 * DAY)
        s.contact("outbound")
    if rng.random() < 0.1:
        s.emit("rep.assigned", rep=f"R-{rng.randint(1, reps)}", reason=rng.choice(("reassigned", "departed")))
    for _ in range(rng.randint(2, 9)):
        s.wait(2 * DAY, 25 * DAY)
        roll = rng.random()
        if roll < 0.3:
            s.contact("inbound")
        elif roll < 0.5:
            s.emit("order.placed", amount=rng.choice((300, 1_200, 4_000)), currency="EUR")
        elif roll < 0.65:
            s.marketing()
        elif roll < 0.75:
            fees = [{"name": "service", "amount": 19.0, "disclosed": rng.random() > 0.2}]
            s.emit(
                "invoice.issued",
                amount=amount * rng.choice((1.0, 1.02, 1.1)),
                agreed_amount=amount,
                currency="EUR",
                invoice_id=f"I-{s.subject}-{len(s.events)}",
                fees=fees,
            )
        elif roll < 0.82:
            s.emit("feedback.received", score=rng.choice((2, 5, 7, 8, 9, 10)))
        elif roll < 0.9:
            _case(s)
        elif roll < 0.94:
            s.emit("change_request.quoted", amount=rng.choice((500, 3_000, 20_000)), contract_value=amount)
        else:
            s.contact("outbound")
    if rng.random() < 0.25:
        s.wait(30 * DAY, 200 * DAY)
        s.emit("innovation.offered", product=rng.choice(("Cloud Suite", "Care+", "Insights")))
    if rng.random() < 0.08:
        s.wait(DAY, 60 * DAY)
        s.emit("contract.cancelled", reason=rng.choice(("price", "service", "moved")))
    if rng.random() < 0.005:
        s.wait(DAY, 30 * DAY)
        s.emit("customer.erased")


def _case(s: _Script) -> None:
    rng = s.rng
    case_id = f"K-{s.subject}-{len(s.events)}"
    kind = rng.choice(("complaint", "claim", "support"))
    s.emit("case.opened", case_id=case_id, kind=kind, severity=rng.choice(("low", "medium", "high")))
    opened = s.now
    for _ in range(rng.choice((1, 2, 4, 8))):
        s.wait(2 * HOUR, 3 * DAY)
        s.emit("case.updated", case_id=case_id, direction=rng.choice(("inbound", "outbound")))
    if rng.random() < 0.8:
        s.wait(HOUR, 10 * DAY)
        s.emit("case.resolved", case_id=case_id, outcome="settled")
    s.now = max(s.now, opened)


def lifecycle_history(
    customers: int,
    *,
    seed: int = 7,
    start: int = 1_767_225_600_000,
    span_days: int = 365,
    reps: int = 40,
    outreach_effect: float | None = None,
    holdout: Holdout | None = None,
) -> list[Touchpoint]:
    """Touchpoints of `customers` customers, merged in event-time order.

    Customers start uniformly over `span_days` from `start` (epoch ms); ids are
    unique, so there are no duplicates unless a caller adds them. With
    `outreach_effect`, neglected new customers churn, and the team's call to
    those not in `holdout` changes how many (see `Outreach`); without it the
    history is the plain one.
    """
    outreach = None if outreach_effect is None else Outreach(outreach_effect, holdout or NO_HOLDOUT)
    rng = random.Random(seed)
    merged: list[tuple[int, int, str, str, dict[str, Any]]] = []
    for number in range(customers):
        subject = f"C-{number:07d}"
        script = _Script(
            subject,
            random.Random(rng.getrandbits(64)),
            start + rng.randint(0, span_days * DAY),
            f"R-{rng.randint(1, reps)}",
        )
        _customer_script(script, reps)
        if outreach is not None:
            outreach.apply(script, random.Random(f"outreach/{seed}/{subject}"))
        merged.extend((at, number, subject, kind, data) for at, kind, data in script.events)
    merged.sort(key=lambda row: (row[0], row[1]))
    return [
        Touchpoint(f"evt-{index:09d}", SOURCES[index % len(SOURCES)], kind, subject, at, data)
        for index, (at, _, subject, kind, data) in enumerate(merged)
    ]
