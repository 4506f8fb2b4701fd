"""The alert contract (shared/spec/patterns.md, "Alert events"): model, ids, rendering, and parsing.

Alert bytes are a pure function of the alert: no processing time goes into the
value, so a replay and the live worker emit identical bytes. Live processing
time travels in a Kafka header instead.

Consumers of the alert topic read them back with `parse_alert`, which checks
the published contract and returns a typed `ParsedAlert` (or raises
`InvalidAlert` naming the field at fault).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from hashlib import blake2b
from importlib import resources
from typing import Any

from schemas import codec
from schemas.errors import InvalidAlert
from schemas.timestamps import format_instant, parse_instant

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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = ("firing", "resolved")
SEGMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A segment's name, as `customer.segmented` gives it (schemas.events, which imports this module)."""
SUBJECT_MAX_LENGTH = 128


@dataclass(frozen=True, slots=True)
class ParsedAlert:
    """One alert event as a consumer reads it: checked against the contract, every field typed.

    `time` is an aware UTC datetime (millisecond precision, as on the wire); `time_ms`
    gives the same instant in epoch milliseconds.
    """

    event_id: str
    """The CloudEvents `id`: unique per alert event, the same on every delivery (an idempotency key)."""
    alert_id: str
    """Shared by an episode's fired and resolved events."""
    customer: str
    """The CloudEvents `subject`, also the Kafka key."""
    fired: bool
    """True for `alert.fired`, False for `alert.resolved`."""
    pattern: str
    danger_point: int | None
    phase: str
    """The customer's phase when it fired, or when it resolved for a resolution."""
    severity: str
    summary: str
    recommendation: str
    evidence: Mapping[str, Any] = field(hash=False)
    trigger_event_ids: tuple[str, ...]
    resolution: str | None
    """None while firing; why the episode ended on a resolution."""
    time: datetime
    """Event time at which it fired or cleared, not when it was noticed."""
    segment: str | None = None
    """The customer's segment whose thresholds applied; None: none (or an alert older than segments)."""
    holdout: bool = False
    """The customer is in the holdout group: nobody is meant to act on it (False in older alerts)."""

    @property
    def resolved(self) -> bool:
        return not self.fired

    @property
    def type(self) -> str:
        return FIRED if self.fired else RESOLVED

    @property
    def status(self) -> str:
        return "firing" if self.fired else "resolved"

    @property
    def notice(self) -> bool:
        """A notice fires once and never resolves; the other patterns open episodes."""
        return self.pattern in notice_patterns()

    @property
    def time_ms(self) -> int:
        return (self.time - _EPOCH) // timedelta(milliseconds=1)


@cache
def notice_patterns() -> frozenset[str]:
    """The patterns the published alert schema marks as notices (their status is always firing)."""
    text = resources.files("schemas").joinpath("alert.schema.json").read_text(encoding="utf-8")
    rules = json.loads(text)["$defs"]["alertData"]["allOf"]
    return frozenset(
        rule["if"]["properties"]["pattern"]["const"]
        for rule in rules
        if "pattern" in rule["if"].get("properties", {})
        and rule["then"].get("properties", {}).get("status", {}).get("const") == "firing"
    )


def parse_alert(value: bytes | bytearray | memoryview | str) -> ParsedAlert:
    """An alert event's bytes (as on the alert topic) → `ParsedAlert`; `InvalidAlert` names what is wrong.

    Checked: the CloudEvents attributes the contract requires, every data field's
    type and vocabulary, and that type, status and resolution agree. Extension
    attributes and data fields this version does not know are ignored, and so is
    an unknown pattern name: the catalog grows, and a consumer should not break
    when it does.
    """
    try:
        event = codec.loads(value)
    except codec.JSONDecodeError as error:
        raise InvalidAlert("(event)", f"not JSON ({error})") from None
    if not isinstance(event, dict):
        raise InvalidAlert("(event)", f"a JSON object is expected, got {_kind(event)}")
    _expect(event, "specversion", "1.0")
    _expect(event, "source", SOURCE)
    _expect(event, "datacontenttype", "application/json")
    event_type = _choice(event, "type", (FIRED, RESOLVED))
    event_id = _text(event, "id")
    subject = _text(event, "subject")
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise InvalidAlert("subject", f"longer than {SUBJECT_MAX_LENGTH} characters")
    time_text = _text(event, "time")
    try:
        time_ms = parse_instant(time_text)
    except ValueError:
        raise InvalidAlert("time", f"not an RFC 3339 time: {_shown(time_text)}") from None
    data = _field(event, "data", "")
    if not isinstance(data, dict):
        raise InvalidAlert("data", f"an object is expected, got {_kind(data)}")
    fired = event_type == FIRED
    status = _choice(data, "status", STATUSES, "data.")
    if status != ("firing" if fired else "resolved"):
        raise InvalidAlert("data.status", f"{_shown(status)} contradicts type {_shown(event_type)}")
    resolution = data.get("resolution", ...)
    if resolution is ...:
        raise InvalidAlert("data.resolution", "missing")
    if fired and resolution is not None:
        raise InvalidAlert("data.resolution", f"must be null while firing, got {_shown(resolution)}")
    if not fired:
        resolution = _choice(data, "resolution", RESOLUTIONS, "data.")
    return ParsedAlert(
        event_id=event_id,
        alert_id=_text(data, "alert_id", "data."),
        customer=subject,
        fired=fired,
        pattern=_text(data, "pattern", "data."),
        danger_point=_danger_point(data),
        phase=_choice(data, "phase", PHASES, "data."),
        severity=_choice(data, "severity", SEVERITIES, "data."),
        summary=_text(data, "summary", "data."),
        recommendation=_text(data, "recommendation", "data."),
        evidence=_evidence(data),
        trigger_event_ids=_trigger_event_ids(data),
        resolution=resolution,
        time=_EPOCH + timedelta(milliseconds=time_ms),
        segment=_segment(data),
        holdout=_holdout(data),
    )


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _shown(value: Any) -> str:
    """A value as it was in the JSON, cut short: messages quote the input."""
    text = codec.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _field(where: Mapping[str, Any], name: str, prefix: str) -> Any:
    if name not in where:
        raise InvalidAlert(prefix + name, "missing")
    return where[name]


def _expect(where: Mapping[str, Any], name: str, wanted: str) -> None:
    value = _field(where, name, "")
    if value != wanted:
        raise InvalidAlert(name, f"must be {_shown(wanted)}, got {_shown(value)}")


def _text(where: Mapping[str, Any], name: str, prefix: str = "") -> str:
    value = _field(where, name, prefix)
    if not isinstance(value, str) or not value:
        shown = "an empty string" if value == "" else _kind(value)
        raise InvalidAlert(prefix + name, f"a non-empty string is expected, got {shown}")
    return value


def _choice(where: Mapping[str, Any], name: str, allowed: tuple[str, ...], prefix: str = "") -> str:
    value = _field(where, name, prefix)
    if value not in allowed or not isinstance(value, str):
        raise InvalidAlert(prefix + name, f"must be one of {', '.join(allowed)}, got {_shown(value)}")
    return value


def _danger_point(data: Mapping[str, Any]) -> int | None:
    value = _field(data, "danger_point", "data.")
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= 14:
        raise InvalidAlert(
            "data.danger_point", f"must be null or a whole number from 1 to 14, got {_shown(value)}"
        )
    return value


def _segment(data: Mapping[str, Any]) -> str | None:
    """Absent in alerts written before segments existed, which `parse_alert` still reads."""
    value = data.get("segment")
    if value is not None and (type(value) is not str or not SEGMENT_NAME.fullmatch(value)):
        raise InvalidAlert(
            "data.segment", f"must be null or 1-64 letters, digits, _ or -, got {_shown(value)}"
        )
    return value


def _holdout(data: Mapping[str, Any]) -> bool:
    """Absent in alerts written before holdouts existed; only JSON true holds a customer out."""
    value = data.get("holdout", False)
    if type(value) is not bool:
        raise InvalidAlert("data.holdout", f"must be true or false, got {_shown(value)}")
    return value is True


def _evidence(data: Mapping[str, Any]) -> Mapping[str, Any]:
    value = _field(data, "evidence", "data.")
    if not isinstance(value, dict):
        raise InvalidAlert("data.evidence", f"an object is expected, got {_kind(value)}")
    return value


def _trigger_event_ids(data: Mapping[str, Any]) -> tuple[str, ...]:
    value = _field(data, "trigger_event_ids", "data.")
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InvalidAlert("data.trigger_event_ids", "an array of non-empty strings is expected")
    return tuple(value)
