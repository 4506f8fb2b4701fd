"""Why is this customer at risk right now? One customer's state in words a CRM screen can show.

A pure function of the stored state: the shared facts (phase, rep, orders, last
contact, preferences, open cases), the open episodes with the alert ids their
resolution will carry, the pending deadlines with the pattern and the time
they are due, and what each pattern knows of the customer (`Pattern.facts`).
"""

from __future__ import annotations

from typing import Any

from agents.config import Config
from agents.lifecycle import phase_at
from agents.state import CustomerState
from schemas.alerts import alert_id
from schemas.timestamps import format_instant


def customer_view(subject: str, state: CustomerState, *, at: int, config: Config) -> dict[str, Any]:
    """The customer as of event time `at` (the partition's watermark, or the latest event time)."""
    patterns = {pattern.name: pattern for pattern in config.patterns}
    episodes: list[dict[str, Any]] = []
    deadlines: list[tuple[int, dict[str, Any]]] = []
    for key, watch in sorted((state.watches or {}).items()):
        pattern, _, sub_key = key.partition("|")
        about = {"pattern": pattern, **({"about": sub_key} if sub_key else {})}
        if watch.fired_at:
            episodes.append(
                {
                    **about,
                    "alert_id": alert_id(subject, pattern, sub_key, watch.fired_at),
                    "fired_at": format_instant(watch.fired_at),
                    "severity": watch.severity,
                }
            )
        if watch.due:
            deadlines.append(
                (watch.due, {**about, "due": format_instant(watch.due), "since": format_instant(watch.since)})
            )
    facts = {name: found for name, pattern in patterns.items() if (found := pattern.facts(state, at))}
    return {
        "customer": subject,
        "as_of": format_instant(at),
        "phase": phase_at(state, at, config.engine.new_customer_period),
        "rep": state.rep,
        "first_order": _instant(state.first_order_at),
        "order_total": state.order_total,
        "open_offer": state.offer_open,
        "last_contact": _instant(state.last_outbound_at),
        "preferences": {
            "preferred_channels": state.preferred or [],
            "opted_out_channels": state.opted_out or [],
            "interests": state.interests or [],
        },
        "open_cases": [
            {
                "case_id": case_id,
                "kind": case.kind,
                "severity": case.severity,
                "opened_at": format_instant(case.opened_at),
                "updates": case.updates,
            }
            for case_id, case in sorted((state.cases or {}).items())
        ],
        "open_episodes": episodes,
        "pending_deadlines": [deadline for _, deadline in sorted(deadlines, key=lambda pair: pair[0])],
        "facts": facts,
    }


def _instant(at: int) -> str | None:
    return format_instant(at) if at else None
