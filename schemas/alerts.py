"""The alert contract (shared/spec/patterns.md, "Alert events"): model, ids and rendering.

Alert bytes are a pure function of the alert: no processing time goes into the
value, so a replay and the live worker emit identical bytes. Live processing
time travels in a Kafka header instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

from schemas import codec
from schemas.timestamps import format_instant

SOURCE = "touchpoint-sentinel"
FIRED = "alert.fired"
RESOLVED = "alert.resolved"
PATTERNS = (
    "lead_not_followed_up",
    "wrong_channel",
    "irrelevant_content",
    "over_communication",
    "contact_person_changed",
    "competitor_in_negotiation",
    "post_sale_abandonment",
    "post_purchase_dissonance",
    "new_customer_flooding",
    "missing_appreciation",
    "endless_case",
    "hidden_costs",
    "costly_change_request",
    "innovation_gap",
    "silent_lane_change",
    "complaint_unanswered",
    "detractor_feedback",
    "advisor_exit_risk",
)
"""The catalog's patterns, in the order of shared/spec/patterns.md: what an alert's `pattern` may be
and what a snooze may name (agents/patterns implements one module for each; a test holds them equal)."""
SEVERITIES = ("warning", "critical")
PHASES = ("prospect", "negotiating", "new_customer", "established", "lost", "churned")
RESOLUTIONS = (
    "contact",
    "engaged",
    "window_cleared",
    "won",
    "lost",
    "churned",
    "case_answered",
    "case_resolved",
    "activity",
    "feedback_improved",
    "innovation",
)


@dataclass(slots=True)
class Alert:
    """One alert event: an episode firing, its resolution, or a notice."""

    subject: str
    pattern: str
    danger_point: int | None
    time: int
    firing: bool
    alert_id: str
    phase: str
    severity: str
    summary: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    trigger_event_ids: list[str] = field(default_factory=list)
    resolution: str | None = None
    segment: str | None = None
    """The customer's segment whose thresholds applied (repeated on the resolution)."""
    holdout: bool = False
    """The customer is in the holdout group: alerted as usual, not acted on (actions.md)."""

    @property
    def type(self) -> str:
        return FIRED if self.firing else RESOLVED


_DIGEST_HASH = blake2b(digest_size=16)
"""Copied per digest: a copy costs about a third less than setting up a new hasher."""


def _digest(*parts: str) -> str:
    hasher = _DIGEST_HASH.copy()
    hasher.update("\x1f".join(parts).encode())
    return hasher.hexdigest()


def alert_id(
    subject: str, pattern: str, sub_key: str, fired_at: int, notice_of: tuple[str, str] | None = None
) -> str:
    """Stable id of an episode or notice: same input history, same id, fired and resolved alike."""
    if notice_of is None:
        return _digest(subject, pattern, sub_key, str(fired_at))
    return _digest(subject, pattern, sub_key, str(fired_at), *notice_of)


def to_cloudevent(alert: Alert) -> dict[str, Any]:
    """The alert as a CloudEvents 1.0 structured-mode object, keys in the spec's order."""
    status = "firing" if alert.firing else "resolved"
    return {
        "specversion": "1.0",
        "id": _digest(alert.alert_id, status),
        "source": SOURCE,
        "type": alert.type,
        "subject": alert.subject,
        "time": format_instant(alert.time),
        "datacontenttype": "application/json",
        "data": {
            "alert_id": alert.alert_id,
            "pattern": alert.pattern,
            "danger_point": alert.danger_point,
            "phase": alert.phase,
            "severity": alert.severity,
            "status": status,
            "summary": alert.summary,
            "recommendation": alert.recommendation,
            "evidence": alert.evidence,
            "trigger_event_ids": alert.trigger_event_ids,
            "resolution": alert.resolution,
            "segment": alert.segment,
            "holdout": alert.holdout,
        },
    }


def render(alert: Alert) -> bytes:
    """Serialise an alert event; the bytes downstream consumers read."""
    return codec.dumps(to_cloudevent(alert))
