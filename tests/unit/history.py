"""A tiny builder for touchpoint histories, and helpers to replay them.

    h = History("C-1", start="2026-03-01T09:00:00Z")
    lead = h.lead(owner="R-1")                     # at the start
    h.at("+2d").contact(direction="outbound")      # offsets count from `start`
    r = run(h, until="+10d")
    [alert] = fired(r, "lead_not_followed_up")
    check(alert, time=h.t("+48h"), severity="warning", trigger=lead)

Every event method returns the event id it wrote. Times are offsets from the
start ("+48h", "+1d12h", "-1d", "+14d1s") or absolute RFC 3339 times.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

_UNITS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_PART = re.compile(r"(\d+)(ms|d|h|m|s)")


def duration_ms(text: str) -> int:
    """ "1d12h" -> milliseconds."""
    if not re.fullmatch(r"(?:\d+(?:ms|d|h|m|s))+", text):
        raise ValueError(f"bad duration {text!r}")
    return sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text))


def render(ms: int) -> str:
    """Epoch milliseconds -> the alert time format (2026-03-15T09:30:00Z, .123Z if needed)."""
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    frac = f".{ms % 1000:03d}" if ms % 1000 else ""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def _parse(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class History:
    """Touchpoint events for one customer (switch with `customer()`), as JSON lines."""

    def __init__(
        self, subject: str = "C-1", start: str = "2026-03-01T09:00:00Z", source: str = "test"
    ) -> None:
        self.subject = subject
        self.source = source
        self.start = _parse(start)
        self.now = self.start
        self.lines: list[bytes] = []
        self._count = 0

    # -- time -------------------------------------------------------------
    def ms(self, when: str) -> int:
        if when[0] in "+-":
            sign = -1 if when[0] == "-" else 1
            return self.start + sign * duration_ms(when[1:])
        return _parse(when)

    def t(self, when: str) -> str:
        """The rendered time of an offset, as alerts show it."""
        return render(self.ms(when))

    def at(self, when: str) -> History:
        self.now = self.ms(when)
        return self

    def customer(self, subject: str) -> History:
        self.subject = subject
        return self

    # -- raw events -------------------------------------------------------
    def event(
        self,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        id: str | None = None,
        source: str | None = None,
    ) -> str:
        self._count += 1
        event_id = id or f"e{self._count}"
        self.lines.append(
            orjson.dumps(
                {
                    "specversion": "1.0",
                    "id": event_id,
                    "source": source or self.source,
                    "type": type,
                    "subject": self.subject,
                    "time": render(self.now),
                    "datacontenttype": "application/json",
                    "data": {k: v for k, v in (data or {}).items() if v is not None},
                }
            )
        )
        return event_id

    def raw(self, line: bytes | str | dict[str, Any]) -> None:
        self.lines.append(orjson.dumps(line) if isinstance(line, dict) else line)

    def clock(self, when: str) -> str:
        """A no-op event of another customer at `when`: moves the partition's watermark."""
        subject, now = self.subject, self.now
        self.subject, self.now = "C-clock", self.ms(when)
        try:
            return self.event("preference.updated", {})
        finally:
            self.subject, self.now = subject, now

    # -- the 19 event types -----------------------------------------------
    def lead(self, owner: str | None = None, source_channel: str | None = None, **kw: Any) -> str:
        return self.event("lead.created", {"owner": owner, "source_channel": source_channel}, **kw)

    def contact(
        self,
        direction: str = "outbound",
        channel: str = "phone",
        rep: str | None = None,
        purpose: str | None = None,
        **kw: Any,
    ) -> str:
        data = {"channel": channel, "direction": direction, "rep": rep, "purpose": purpose}
        return self.event("contact.made", data, **kw)

    def marketing(
        self,
        channel: str = "email",
        campaign: str | None = "CMP-1",
        topic: str | None = None,
        kind: str | None = "newsletter",
        **kw: Any,
    ) -> str:
        data = {"channel": channel, "campaign": campaign, "topic": topic, "kind": kind}
        return self.event("marketing.sent", data, **kw)

    def engaged(self, campaign: str | None = "CMP-1", **kw: Any) -> str:
        return self.event("marketing.engaged", {"campaign": campaign}, **kw)

    def preference(
        self,
        preferred: list[str] | None = None,
        opted_out: list[str] | None = None,
        interests: list[str] | None = None,
        **kw: Any,
    ) -> str:
        data = {"preferred_channels": preferred, "opted_out_channels": opted_out, "interests": interests}
        return self.event("preference.updated", data, **kw)

    def rep_assigned(self, rep: str, reason: str | None = "reassigned", **kw: Any) -> str:
        return self.event("rep.assigned", {"rep": rep, "reason": reason}, **kw)

    def offer(self, offer_id: str | None = "O-1", amount: float | None = 5000, **kw: Any) -> str:
        return self.event("offer.sent", {"offer_id": offer_id, "amount": amount}, **kw)

    def competitor(self, competitor: str = "Rival GmbH", **kw: Any) -> str:
        return self.event("competitor.mentioned", {"competitor": competitor}, **kw)

    def order(self, amount: float = 1000, currency: str = "EUR", kind: str = "order", **kw: Any) -> str:
        return self.event("order.placed", {"amount": amount, "currency": currency, "kind": kind}, **kw)

    def deal_lost(self, reason: str | None = "price", **kw: Any) -> str:
        return self.event("deal.lost", {"reason": reason}, **kw)

    def case_opened(
        self, case_id: str, kind: str = "complaint", severity: str | None = None, **kw: Any
    ) -> str:
        return self.event("case.opened", {"case_id": case_id, "kind": kind, "severity": severity}, **kw)

    def case_updated(self, case_id: str, direction: str = "inbound", **kw: Any) -> str:
        return self.event("case.updated", {"case_id": case_id, "direction": direction}, **kw)

    def case_resolved(self, case_id: str, outcome: str | None = "fixed", **kw: Any) -> str:
        return self.event("case.resolved", {"case_id": case_id, "outcome": outcome}, **kw)

    def invoice(
        self,
        amount: float,
        agreed_amount: float | None = None,
        invoice_id: str | None = None,
        fees: list[dict[str, Any]] | None = None,
        currency: str = "EUR",
        **kw: Any,
    ) -> str:
        data = {
            "amount": amount,
            "agreed_amount": agreed_amount,
            "invoice_id": invoice_id,
            "fees": fees,
            "currency": currency,
        }
        return self.event("invoice.issued", data, **kw)

    def change_request(self, amount: float, contract_value: float | None = None, **kw: Any) -> str:
        data = {"amount": amount, "contract_value": contract_value}
        return self.event("change_request.quoted", data, **kw)

    def innovation(self, product: str = "Widget 2", **kw: Any) -> str:
        return self.event("innovation.offered", {"product": product}, **kw)

    def feedback(self, score: int, comment: str | None = None, **kw: Any) -> str:
        return self.event("feedback.received", {"score": score, "comment": comment}, **kw)

    def cancelled(self, reason: str | None = "moved", **kw: Any) -> str:
        return self.event("contract.cancelled", {"reason": reason}, **kw)

    def erased(self, **kw: Any) -> str:
        return self.event("customer.erased", {}, **kw)

    # -- the commands of actions.md ----------------------------------------
    def snoozed(self, pattern: str, until: str, by: str | None = "agent-1", **kw: Any) -> str:
        return self.event("alert.snoozed", {"pattern": pattern, "until": self.t(until), "by": by}, **kw)

    def unsnoozed(self, pattern: str, **kw: Any) -> str:
        return self.event("alert.unsnoozed", {"pattern": pattern}, **kw)

    def segmented(self, segment: str | None, **kw: Any) -> str:
        self._count += 1
        event_id = kw.get("id") or f"e{self._count}"
        self.raw(
            {
                "specversion": "1.0",
                "id": event_id,
                "source": kw.get("source") or self.source,
                "type": "customer.segmented",
                "subject": self.subject,
                "time": render(self.now),
                "data": {"segment": segment},
            }
        )
        return event_id


# -- running and reading --------------------------------------------------
@dataclass
class Result:
    alerts: list[dict[str, Any]]
    rejected: list[tuple[int, str, str]]
    duplicates: int


def run(h: History, *, until: str | None = None, config: Any = None, rejected_ok: bool = False) -> Result:
    """Replay the history; `config` may be a TOML-shaped mapping or a Config.
    A rejected line fails the test unless `rejected_ok` (so "no alert" means no alert)."""
    from agents.config import Config
    from agents.replay import replay

    if isinstance(config, Mapping):
        config = Config.from_mapping(config, origin="<test>")
    out = replay(list(h.lines), config=config, until=h.t(until) if until else None)
    assert rejected_ok or not out.rejected, f"rejected lines: {out.rejected}"
    return Result([orjson.loads(a) for a in out.alerts], list(out.rejected), out.duplicates)


def _select(
    alerts: Result | list[dict[str, Any]], type: str, pattern: str | None, subject: str | None
) -> list[dict[str, Any]]:
    items = alerts.alerts if isinstance(alerts, Result) else alerts
    return [
        a
        for a in items
        if a["type"] == type
        and (pattern is None or a["data"]["pattern"] == pattern)
        and (subject is None or a["subject"] == subject)
    ]


def fired(
    alerts: Result | list[dict[str, Any]], pattern: str | None = None, subject: str | None = "C-1"
) -> list[dict[str, Any]]:
    return _select(alerts, "alert.fired", pattern, subject)


def resolved(
    alerts: Result | list[dict[str, Any]], pattern: str | None = None, subject: str | None = "C-1"
) -> list[dict[str, Any]]:
    return _select(alerts, "alert.resolved", pattern, subject)


def check(alert: dict[str, Any], **expected: Any) -> None:
    """type/subject/time are envelope fields, trigger= must be in trigger_event_ids,
    everything else is a data field."""
    for key, want in expected.items():
        if key in ("type", "subject", "time", "source"):
            got = alert[key]
        elif key == "trigger":
            got = alert["data"]["trigger_event_ids"]
            assert want in got, f"trigger {want!r} not in {got!r}"
            continue
        else:
            assert key in alert["data"], f"data.{key} missing in {alert}"
            got = alert["data"][key]
        assert got == want, f"{key}: expected {want!r}, got {got!r}"


def episode(alerts: Result, pattern: str, subject: str = "C-1") -> tuple[dict[str, Any], dict[str, Any]]:
    """The one fired and the one resolved alert of a pattern, checked to pair up."""
    f, r = fired(alerts, pattern, subject), resolved(alerts, pattern, subject)
    assert len(f) == 1, f"expected one alert.fired for {pattern}, got {len(f)}: {f}"
    assert len(r) == 1, f"expected one alert.resolved for {pattern}, got {len(r)}: {r}"
    assert r[0]["data"]["alert_id"] == f[0]["data"]["alert_id"]
    assert r[0]["data"]["severity"] == f[0]["data"]["severity"]
    assert r[0]["data"]["status"] == "resolved"
    assert alerts.alerts.index(f[0]) < alerts.alerts.index(r[0])
    return f[0], r[0]
