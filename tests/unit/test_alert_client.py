"""`schemas.alerts.parse_alert`: the typed client consumers of the alert topic use.

It reads back exactly what the worker writes, agrees with the published alert
schema (but for a few documented tolerances that keep consumers working when the
contract grows), and says which field is wrong when it refuses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from agents.replay import replay
from schemas import alerts, codec, events
from schemas.alerts import ParsedAlert, notice_patterns, parse_alert
from schemas.errors import InvalidAlert, SentinelError
from schemas.timestamps import parse_instant
from streams.metrics import AlertLabels
from tests.unit.test_schema_agreement import INVALID_ALERTS, VALID_ALERTS, _scenario

TOLERATED = {
    # Any RFC 3339 time is read (digits past the millisecond are dropped), not only the producer's spelling.
    "time-offset-not-utc",
    "time-zero-millis-rendered",
    "time-micros",
    # The catalog grows and its per-pattern rules may change: a consumer should not break when they do.
    "pattern-unknown",
    "danger-point-wrong-for-pattern",
    "danger-point-null-for-seed-004-pattern",
    "danger-point-7-for-other-seed-pattern",
    "severity-critical-for-warning-pattern",
    "severity-warning-for-critical-pattern",
    "notice-resolved",
    # Data fields added later are ignored by consumers that do not know them...
    "data-extra-field",
    # ...and alerts written before segments and holdouts existed are still read.
    "missing-data/segment",
    "missing-data/holdout",
}


def _replayed() -> list[bytes]:
    outcome = replay(json.dumps(event) for event in _scenario())
    assert outcome.rejected == []
    return outcome.alerts


def test_every_alert_the_engine_emits_parses_to_what_it_says() -> None:
    alerts = _replayed()
    assert {codec.loads(alert)["data"]["pattern"] for alert in alerts} >= {"wrong_channel", "endless_case"}
    for raw in alerts:
        event = codec.loads(raw)
        data = event["data"]
        parsed = parse_alert(raw)
        assert parsed == ParsedAlert(
            event_id=event["id"],
            alert_id=data["alert_id"],
            customer=event["subject"],
            fired=event["type"] == "alert.fired",
            pattern=data["pattern"],
            danger_point=data["danger_point"],
            phase=data["phase"],
            severity=data["severity"],
            summary=data["summary"],
            recommendation=data["recommendation"],
            evidence=data["evidence"],
            trigger_event_ids=tuple(data["trigger_event_ids"]),
            resolution=data["resolution"],
            time=datetime.fromisoformat(event["time"]),
        )
        assert parsed.time.tzinfo is UTC
        assert parsed.time_ms == parse_instant(event["time"])
        assert (parsed.type, parsed.status) == (event["type"], data["status"])
        assert parsed.resolved is (event["type"] == "alert.resolved")
        assert parsed.holdout is False
        assert hash(parsed) == hash(parse_alert(raw)), "usable in sets despite the evidence mapping"


@pytest.mark.parametrize(("name", "event"), VALID_ALERTS, ids=[name for name, _ in VALID_ALERTS])
def test_what_the_schema_accepts_parses(name: str, event: dict[str, Any]) -> None:
    assert parse_alert(json.dumps(event)).alert_id == event["data"]["alert_id"]


@pytest.mark.parametrize(("name", "event"), INVALID_ALERTS, ids=[name for name, _ in INVALID_ALERTS])
def test_what_the_schema_refuses_is_refused_but_for_documented_tolerances(
    name: str, event: dict[str, Any]
) -> None:
    if name in TOLERATED:
        assert parse_alert(json.dumps(event)).alert_id == event["data"]["alert_id"]
        return
    with pytest.raises(InvalidAlert) as refused:
        parse_alert(json.dumps(event))
    where = refused.value.field
    if name.startswith(("missing/", "missing-data/")):
        assert str(refused.value) == f"{where}: missing"
        assert where.split(".")[-1] == name.split("/")[1]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "(event): not JSON"),
        (b"[1, 2]", "(event): a JSON object is expected, got an array"),
        (b'"alert"', "(event): a JSON object is expected, got a string"),
    ],
)
def test_bytes_that_are_no_event_say_so(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidAlert, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_alert(raw)


def test_messages_name_the_field_and_quote_the_value_as_json() -> None:
    base = codec.loads(_replayed()[0])
    cases = {
        'data.severity: must be one of warning, critical, got "info"': {"severity": "info"},
        'data.danger_point: must be null or a whole number from 1 to 14, got "7"': {"danger_point": "7"},
        'data.resolution: must be null while firing, got "contact"': {"resolution": "contact"},
        'data.status: "resolved" contradicts type "alert.fired"': {"status": "resolved"},
    }
    assert base["type"] == "alert.fired"
    for message, change in cases.items():
        bad = {**base, "data": {**base["data"], **change}}
        with pytest.raises(InvalidAlert) as refused:
            parse_alert(codec.dumps(bad))
        assert str(refused.value) == message
    long_time = {**base, "time": "x" * 200}
    with pytest.raises(InvalidAlert) as refused:
        parse_alert(codec.dumps(long_time))
    assert len(str(refused.value)) < 120


def test_invalid_alert_is_a_sentinel_error_and_a_value_error() -> None:
    with pytest.raises(ValueError, match="specversion: missing"):
        parse_alert(b"{}")
    assert issubclass(InvalidAlert, SentinelError)
    assert InvalidAlert.exit_code == 2 and not InvalidAlert.retriable


@pytest.mark.parametrize("holdout", [True, False])
def test_holdout_says_whether_the_customer_is_held_out(holdout: bool) -> None:
    event = codec.loads(_replayed()[0])
    event["data"]["holdout"] = holdout
    assert parse_alert(codec.dumps(event)).holdout is holdout


@pytest.mark.parametrize("holdout", ["true", 1, None])
def test_a_holdout_that_is_no_boolean_is_refused(holdout: object) -> None:
    event = codec.loads(_replayed()[0])
    event["data"]["holdout"] = holdout
    with pytest.raises(InvalidAlert, match=r"data\.holdout: must be true or false"):
        parse_alert(codec.dumps(event))


def test_notices_are_the_patterns_the_schema_never_lets_resolve() -> None:
    labels = AlertLabels.published()
    fired = {pattern for pattern, _ in labels.fired}
    resolving = {pattern for pattern, _ in labels.resolved}
    assert notice_patterns() == fired - resolving
    assert "wrong_channel" in notice_patterns() and "lead_not_followed_up" not in notice_patterns()
    for raw in _replayed():
        parsed = parse_alert(raw)
        if parsed.resolved:
            assert not parsed.notice


def test_segment_names_are_those_customer_segmented_accepts() -> None:
    assert alerts.SEGMENT_NAME.pattern == events.SEGMENT_NAME.pattern


@pytest.mark.parametrize("absent", ["segment", "holdout"])
def test_alerts_written_before_segments_and_holdouts_still_parse(absent: str) -> None:
    event = codec.loads(_replayed()[0])
    del event["data"][absent]
    parsed = parse_alert(codec.dumps(event))
    assert (parsed.segment, parsed.holdout) == (None, False)
