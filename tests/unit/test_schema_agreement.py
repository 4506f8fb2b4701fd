"""The published contract (JSON Schema, AsyncAPI) and the code that enforces it agree.

For every named sample in `contract_samples`, the JSON Schema for one touchpoint
accepts it exactly when `schemas.events.parse_event` does, and a rejected sample
gets the reason code the contract gives it. The alert schema is checked against
alerts built from the spec's example, and the AsyncAPI document against the
topics, headers and schema files it names.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from agents.replay import replay
from schemas import events
from schemas.errors import InvalidEvent
from streams.settings import SASL_MECHANISMS, SECURITY_PROTOCOLS
from tests.unit.contract_samples import (
    ALL_SAMPLES,
    EXTRA_FIELDS,
    FULL_DATA,
    INVALID_SAMPLES,
    KNOWN_DISAGREEMENTS,
    REASON_CODES,
    REQUIRED_FIELDS,
    TYPES,
    VALID_SAMPLES,
    Sample,
    envelope,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = ("touchpoint.schema.json", "touchpoint-batch.schema.json", "alert.schema.json")


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return loaded


TOUCHPOINT_SCHEMA = _load("touchpoint.schema.json")
BATCH_SCHEMA = _load("touchpoint-batch.schema.json")
ALERT_SCHEMA = _load("alert.schema.json")
REGISTRY: Registry[Any] = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema))
    for schema in (TOUCHPOINT_SCHEMA, BATCH_SCHEMA, ALERT_SCHEMA)
)
TOUCHPOINT = jsonschema.Draft202012Validator(TOUCHPOINT_SCHEMA, registry=REGISTRY)
BATCH = jsonschema.Draft202012Validator(BATCH_SCHEMA, registry=REGISTRY)
ALERT = jsonschema.Draft202012Validator(ALERT_SCHEMA, registry=REGISTRY)


def _schema_verdict(validator: jsonschema.Draft202012Validator, value: Any) -> str | None:
    """None when valid, else the most relevant schema error, for failure messages."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    return f"{error.json_path}: {error.message}"


def _parser_verdict(value: Any) -> InvalidEvent | None:
    try:
        events.parse_event(copy.deepcopy(value))
    except InvalidEvent as error:
        return error
    return None


def _params(samples: list[Sample]) -> list[Any]:
    """Samples as pytest params; known disagreements are strict xfails with their reason."""
    return [
        pytest.param(
            sample,
            id=sample.name,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DISAGREEMENTS[sample.name])]
            if sample.name in KNOWN_DISAGREEMENTS
            else [],
        )
        for sample in samples
    ]


# --- the schema documents themselves -------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = _load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + name), "relative $refs resolve against $id"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_touchpoint_schema_lists_the_parser_types_and_fields() -> None:
    """Structure, not just behaviour: same types, same fields, same required fields."""
    assert TOUCHPOINT_SCHEMA["properties"]["type"]["enum"] == list(TYPES)
    assert set(TYPES) == set(events.TYPES)
    for event_type in TYPES:
        data_schema = TOUCHPOINT_SCHEMA["$defs"][event_type]
        parser_fields = events.DATA_FIELDS[event_type]
        assert set(data_schema["properties"]) == set(parser_fields), event_type
        parser_required = {name for name, (required, *_) in parser_fields.items() if required}
        assert set(data_schema["required"]) == parser_required == set(REQUIRED_FIELDS[event_type])
        assert data_schema.get("additionalProperties", True) is True, "unknown fields are kept"


# --- the sample corpus ---------------------------------------------------------------------


def test_corpus_is_well_formed() -> None:
    names = [sample.name for sample in ALL_SAMPLES]
    assert len(names) == len(set(names)), "sample names are unique"
    assert set(KNOWN_DISAGREEMENTS) <= set(names)
    assert set(REASON_CODES) == set(events.REASONS), "the contract's reason codes"
    for sample in ALL_SAMPLES:
        assert json.loads(json.dumps(sample.event)) == sample.event, f"{sample.name}: JSON value"
        assert (sample.reason is None) == sample.name.startswith("valid/"), sample.name
        assert sample.reason is None or sample.reason in REASON_CODES, sample.name
    for event_type in TYPES:
        assert f"valid/{event_type}/minimal" in names
        assert f"valid/{event_type}/full+extra" in names
        for field in REQUIRED_FIELDS[event_type]:
            assert f"invalid/missing-field/{event_type}/{field}" in names
    assert {sample.reason for sample in INVALID_SAMPLES} >= {
        "not_an_object",
        "missing_attribute",
        "invalid_attribute",
        "unknown_type",
        "missing_field",
        "invalid_field",
    }


@pytest.mark.parametrize("sample", _params(ALL_SAMPLES))
def test_schema_and_parser_agree(sample: Sample) -> None:
    schema_error = _schema_verdict(TOUCHPOINT, sample.event)
    parser_error = _parser_verdict(sample.event)
    parser_reason = None if parser_error is None else parser_error.reason
    report = (
        f"{sample.name} ({sample.note}): contract says "
        f"{'valid' if sample.reason is None else sample.reason}; "
        f"schema says {schema_error or 'valid'}; "
        f"parse_event says {parser_error or 'valid'}"
    )
    assert (schema_error is None) == (parser_error is None), report
    assert (schema_error is None) == (sample.reason is None), report
    assert parser_reason == sample.reason, report


@pytest.mark.parametrize(
    "sample", _params([sample for sample in ALL_SAMPLES if isinstance(sample.event, dict)])
)
def test_fast_path_never_accepts_what_the_rule_by_rule_check_refuses(sample: Sample) -> None:
    """The fast path may only give up (None); when it answers, it answers like the full check."""
    fast = events._parse_well_formed(copy.deepcopy(sample.event), None)
    try:
        full: events.Touchpoint | None = events._parse_rule_by_rule(copy.deepcopy(sample.event), None)
    except InvalidEvent:
        full = None
    if fast is not None:
        assert fast == full
    assert (full is not None) == (sample.reason is None)


@pytest.mark.parametrize(
    "sample", _params([sample for sample in ALL_SAMPLES if not isinstance(sample.event, list)])
)
def test_decode_message_gives_the_same_verdict_from_bytes(sample: Sample) -> None:
    value = json.dumps(sample.event).encode()
    accepted, rejected = events.decode_message(value)
    if sample.reason is None:
        assert [len(accepted), rejected] == [1, []]
    else:
        assert accepted == []
        assert [(r.index, r.reason, r.raw) for r in rejected] == [(None, sample.reason, value)]


def test_unknown_data_fields_are_kept() -> None:
    for event_type in TYPES:
        data = {**copy.deepcopy(FULL_DATA[event_type]), **copy.deepcopy(EXTRA_FIELDS)}
        touchpoint = events.parse_event(envelope(event_type, data))
        assert touchpoint.data == data


def test_processor_only_checks_are_outside_the_schema() -> None:
    """time_in_future needs a clock: the schema accepts, a live parse refuses."""
    not_after_ms = events.parse_event(envelope()).time + events.FUTURE_TOLERANCE_MS
    hour_ahead = envelope(time="2026-03-01T10:30:00Z")
    too_far = envelope(time="2026-03-01T10:30:00.001Z")
    assert TOUCHPOINT.is_valid(hour_ahead) and TOUCHPOINT.is_valid(too_far)
    events.parse_event(hour_ahead, not_after_ms=not_after_ms)
    with pytest.raises(InvalidEvent) as raised:
        events.parse_event(too_far, not_after_ms=not_after_ms)
    assert raised.value.reason == "time_in_future"


def test_nesting_depth_is_a_processor_check() -> None:
    """The schema cannot count levels: it accepts what parse_event refuses as too_deep."""
    data: Any = "leaf"
    for _ in range(events.MAX_DEPTH - 1):
        data = {"x": data}
    at_limit = envelope("lead.created", data)
    over = envelope("lead.created", {"x": data})
    assert TOUCHPOINT.is_valid(at_limit) and TOUCHPOINT.is_valid(over)
    events.parse_event(at_limit)
    with pytest.raises(InvalidEvent) as raised:
        events.parse_event(over)
    assert raised.value.reason == "too_deep"


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("order.placed", {"amount": math.inf}),
        ("offer.sent", {"amount": math.inf}),
        ("invoice.issued", {"amount": 10, "agreed_amount": math.inf}),
        ("invoice.issued", {"amount": 10, "fees": [{"name": "x", "amount": math.inf, "disclosed": True}]}),
        ("change_request.quoted", {"amount": 10, "contract_value": math.inf}),
    ],
    ids=["amount", "offer", "agreed-amount", "fee", "contract-value"],
)
def test_an_infinite_amount_is_invalid(event_type: str, data: dict[str, Any]) -> None:
    """JSON text cannot say infinity, but a lenient reader makes it of 1e400 (Python's json does):
    the schema's maximum and parse_event both refuse it."""
    event = envelope(event_type, data)
    assert not TOUCHPOINT.is_valid(event)
    with pytest.raises(InvalidEvent) as raised:
        events.parse_event(event)
    assert raised.value.reason == "invalid_field"


def test_a_nan_amount_is_invalid() -> None:
    with pytest.raises(InvalidEvent) as raised:
        events.parse_event(envelope("order.placed", {"amount": math.nan}))
    assert raised.value.reason == "invalid_field"


# --- batches -------------------------------------------------------------------------------


def _single_events(samples: list[Sample]) -> list[Any]:
    """Sample events usable as batch elements (not arrays, not known disagreements)."""
    return [s.event for s in samples if not isinstance(s.event, list) and s.name not in KNOWN_DISAGREEMENTS]


def test_batch_schema_accepts_valid_touchpoints_and_decode_message_keeps_them() -> None:
    batch = _single_events(VALID_SAMPLES)
    assert BATCH.is_valid(batch), _schema_verdict(BATCH, batch)
    accepted, rejected = events.decode_message(json.dumps(batch).encode())
    assert rejected == []
    assert len(accepted) == len(batch)


def test_batch_schema_rejects_an_empty_batch_and_a_non_array() -> None:
    assert not BATCH.is_valid([])
    assert not BATCH.is_valid(envelope())


def test_batch_schema_has_the_element_limit_of_decode_message() -> None:
    assert BATCH_SCHEMA["maxItems"] == events.MAX_BATCH_EVENTS
    assert BATCH.is_valid([envelope()] * events.MAX_BATCH_EVENTS)
    assert not BATCH.is_valid([envelope()] * (events.MAX_BATCH_EVENTS + 1))


def test_batch_rejects_only_the_bad_elements_with_their_index() -> None:
    good = _single_events(VALID_SAMPLES)[:3]
    bad = [s for s in INVALID_SAMPLES if not isinstance(s.event, list)][::7]
    elements = [*good, *(s.event for s in bad)]
    assert not BATCH.is_valid(elements)
    for element in elements:
        assert BATCH.is_valid([element]) == TOUCHPOINT.is_valid(element)
    accepted, rejected = events.decode_message(json.dumps(elements).encode())
    assert len(accepted) == len(good)
    expected = [(len(good) + i, s.reason) for i, s in enumerate(bad)]
    assert [(r.index, r.reason) for r in rejected] == expected


# --- alerts --------------------------------------------------------------------------------

PATTERNS: dict[str, tuple[int | None, tuple[str, ...], bool]] = {
    # pattern: (danger_point, severities, notice) from the catalog in patterns.md
    "lead_not_followed_up": (1, ("warning",), False),
    "wrong_channel": (2, ("critical", "warning"), True),
    "irrelevant_content": (3, ("warning",), False),
    "over_communication": (4, ("warning",), False),
    "contact_person_changed": (5, ("warning", "critical"), True),
    "competitor_in_negotiation": (6, ("critical",), False),
    "post_sale_abandonment": (7, ("warning",), False),
    "post_purchase_dissonance": (8, ("warning",), False),
    "new_customer_flooding": (9, ("warning",), True),
    "missing_appreciation": (10, ("warning",), False),
    "endless_case": (11, ("warning", "critical"), False),
    "hidden_costs": (12, ("critical",), True),
    "costly_change_request": (13, ("warning",), True),
    "innovation_gap": (14, ("warning", "critical"), False),
    "silent_lane_change": (None, ("warning",), False),
    "complaint_unanswered": (None, ("warning", "critical"), False),
    "detractor_feedback": (None, ("warning", "critical"), False),
    "advisor_exit_risk": (None, ("critical",), True),
}
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
PHASES = ("prospect", "negotiating", "new_customer", "established", "lost", "churned")


def alert(data: dict[str, Any] | None = None, **attributes: Any) -> dict[str, Any]:
    """The spec's example alert (post_sale_abandonment fired), with overrides."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "a3f1c2d4e5f60718",
        "source": "touchpoint-sentinel",
        "type": "alert.fired",
        "subject": "C-1001",
        "time": "2026-03-15T09:30:00Z",
        "datacontenttype": "application/json",
        "data": {
            "alert_id": "5c9e0b7a11d2e3f4",
            "pattern": "post_sale_abandonment",
            "danger_point": 7,
            "phase": "new_customer",
            "severity": "warning",
            "status": "firing",
            "summary": "No personal contact in the 14 days after the first order.",
            "recommendation": "Call the customer now and ask how the start went.",
            "evidence": {"first_order_at": "2026-03-01T09:30:00Z", "deadline": "2026-03-15T09:30:00Z"},
            "trigger_event_ids": ["evt-000123"],
            "resolution": None,
            "segment": None,
            "holdout": False,
        },
    }
    event["data"].update(data or {})
    event.update(attributes)
    return event


def resolved(data: dict[str, Any] | None = None, **attributes: Any) -> dict[str, Any]:
    return alert(
        {"status": "resolved", "resolution": "contact", **(data or {})},
        **{"type": "alert.resolved", "id": "b4e2", "time": "2026-03-16T10:00:00.250Z", **attributes},
    )


def _drop(event: dict[str, Any], name: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["data"].pop(name)
    return event


def _valid_alerts() -> list[tuple[str, dict[str, Any]]]:
    samples = [
        ("spec-example-fired", alert()),
        ("spec-example-resolved", resolved()),
        ("no-trigger-ids", alert({"trigger_event_ids": []})),
        ("processing-time-extension", alert(sentinelprocessedat="2026-03-15T09:31:02.117Z")),
        ("resolved-into-churned", resolved({"resolution": "churned", "phase": "churned"})),
    ]
    for pattern, (danger_point, severities, notice) in PATTERNS.items():
        for severity in severities:
            data = {"pattern": pattern, "danger_point": danger_point, "severity": severity}
            samples.append((f"fired/{pattern}/{severity}", alert(data)))
            if not notice:
                samples.append((f"resolved/{pattern}/{severity}", resolved(data)))
    samples += [(f"resolution/{name}", resolved({"resolution": name})) for name in RESOLUTIONS]
    samples += [(f"phase/{name}", resolved({"phase": name})) for name in PHASES]
    samples += [("segment-named", alert({"segment": "key_account"})), ("held-out", alert({"holdout": True}))]
    return samples


def _invalid_alerts() -> list[tuple[str, dict[str, Any]]]:
    samples = [
        ("source-not-sentinel", alert(source="crm/eu-sales")),
        ("type-unknown", alert(type="alert.cleared")),
        ("specversion-wrong", alert(specversion="0.3")),
        ("subject-empty", alert(subject="")),
        ("subject-129-chars", alert(subject="C" * 129)),
        ("time-offset-not-utc", alert(time="2026-03-15T10:30:00+01:00")),
        ("time-without-zone", alert(time="2026-03-15T09:30:00")),
        ("time-zero-millis-rendered", alert(time="2026-03-15T09:30:00.000Z")),
        ("time-micros", alert(time="2026-03-15T09:30:00.123456Z")),
        ("time-trailing-newline", alert(time="2026-03-15T09:30:00Z\n")),
        ("datacontenttype-other", alert(datacontenttype="text/plain")),
        ("data-not-object", alert(data=None) | {"data": "fired"}),
        ("fired-with-resolved-status", alert({"status": "resolved", "resolution": "contact"})),
        ("resolved-with-firing-status", resolved({"status": "firing", "resolution": None})),
        ("fired-with-resolution", alert({"resolution": "contact"})),
        ("resolved-without-resolution", resolved({"resolution": None})),
        ("resolution-unknown", resolved({"resolution": "timeout"})),
        ("status-unknown", alert({"status": "open"})),
        ("pattern-unknown", alert({"pattern": "customer_unhappy"})),
        ("danger-point-0", alert({"danger_point": 0})),
        ("danger-point-15", alert({"danger_point": 15})),
        ("danger-point-string", alert({"danger_point": "7"})),
        ("danger-point-wrong-for-pattern", alert({"danger_point": 1})),
        ("danger-point-null-for-seed-004-pattern", alert({"danger_point": None})),
        ("danger-point-for-other-seed-pattern", alert({"pattern": "silent_lane_change", "danger_point": 15})),
        (
            "danger-point-7-for-other-seed-pattern",
            alert({"pattern": "detractor_feedback", "danger_point": 7}),
        ),
        ("phase-unknown", alert({"phase": "customer"})),
        ("severity-unknown", alert({"severity": "info"})),
        ("severity-critical-for-warning-pattern", alert({"severity": "critical"})),
        (
            "severity-warning-for-critical-pattern",
            alert({"pattern": "hidden_costs", "danger_point": 12, "severity": "warning"}),
        ),
        (
            "notice-resolved",
            resolved({"pattern": "wrong_channel", "danger_point": 2, "severity": "critical"}),
        ),
        ("summary-empty", alert({"summary": ""})),
        ("recommendation-not-string", alert({"recommendation": ["call"]})),
        ("evidence-not-object", alert({"evidence": "6 communications"})),
        ("trigger-ids-not-array", alert({"trigger_event_ids": "evt-000123"})),
        ("trigger-id-number", alert({"trigger_event_ids": [123]})),
        ("alert-id-empty", alert({"alert_id": ""})),
        ("data-extra-field", alert({"deadline": "2026-03-15T09:30:00Z"})),
        ("segment-with-space", alert({"segment": "key account"})),
        ("holdout-string", alert({"holdout": "false"})),
    ]
    for name in ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"):
        samples.append((f"missing/{name}", {k: v for k, v in alert().items() if k != name}))
    for name in alert()["data"]:
        samples.append((f"missing-data/{name}", _drop(alert(), name)))
    return samples


VALID_ALERTS = _valid_alerts()
INVALID_ALERTS = _invalid_alerts()


def test_alert_schema_matches_the_catalog() -> None:
    data = ALERT_SCHEMA["$defs"]["alertData"]["properties"]
    assert data["pattern"]["enum"] == list(PATTERNS)
    assert data["phase"]["enum"] == list(PHASES)
    assert data["resolution"]["enum"] == [None, *RESOLUTIONS]
    assert data["severity"]["enum"] == ["warning", "critical"]
    assert data["status"]["enum"] == ["firing", "resolved"]


@pytest.mark.parametrize(("name", "event"), VALID_ALERTS, ids=[n for n, _ in VALID_ALERTS])
def test_alert_schema_accepts(name: str, event: dict[str, Any]) -> None:
    assert ALERT.is_valid(event), _schema_verdict(ALERT, event)


@pytest.mark.parametrize(("name", "event"), INVALID_ALERTS, ids=[n for n, _ in INVALID_ALERTS])
def test_alert_schema_rejects(name: str, event: dict[str, Any]) -> None:
    assert not ALERT.is_valid(event), name


def _scenario() -> list[dict[str, Any]]:
    """Touchpoints that, per patterns.md, make every one of the 18 patterns fire."""
    events_: list[dict[str, Any]] = []

    def add(subject: str, day: int, event_type: str, data: dict[str, Any], hour: int = 9) -> None:
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)
        events_.append(
            envelope(
                event_type,
                data,
                id=f"e{len(events_) + 1}",
                subject=subject,
                time=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )

    outbound = {"channel": "phone", "direction": "outbound"}
    # C-1: a lead nobody calls for a month.
    add("C-1", 0, "lead.created", {"owner": "R-1"}, hour=8)
    add("C-1", 31, "contact.made", {"channel": "email", "direction": "outbound"})
    # C-2: a big first order, a high complaint, a detractor, then silence for a year.
    add("C-2", 0, "order.placed", {"amount": 60000})
    add("C-2", 1, "case.opened", {"case_id": "K-1", "kind": "complaint", "severity": "high"})
    add("C-2", 2, "feedback.received", {"score": 2})
    add("C-2", 19, "contact.made", {**outbound, "rep": "R-1"})
    # C-3: preferences ignored, a competitor, the advisor leaves, costs, flooding, silence.
    add("C-3", 0, "lead.created", {"owner": "R-1"})
    for day in (1, 2, 3):
        add("C-3", day, "contact.made", {**outbound, "rep": "R-1"})
    add(
        "C-3",
        3,
        "preference.updated",
        {"preferred_channels": ["email"], "opted_out_channels": ["sms"], "interests": ["solar"]},
        hour=10,
    )
    add("C-3", 4, "marketing.sent", {"channel": "sms", "topic": "wine"})
    add("C-3", 5, "offer.sent", {"offer_id": "O-1", "amount": 1000})
    add("C-3", 6, "competitor.mentioned", {"competitor": "Acme"})
    add("C-3", 7, "rep.assigned", {"rep": "R-2", "reason": "departed"})
    add("C-3", 8, "order.placed", {"amount": 1000})
    add("C-3", 9, "change_request.quoted", {"amount": 500})
    add("C-3", 9, "invoice.issued", {"amount": 1100, "agreed_amount": 1000, "invoice_id": "I-1"}, hour=10)
    for send in range(6):
        add("C-3", 10 + send // 3, "marketing.sent", {"channel": "email", "topic": "solar"}, hour=9 + send)
    add("C-3", 12, "marketing.engaged", {}, hour=20)
    for day in (13, 14, 15, 16, 17):
        add("C-3", day, "contact.made", {"channel": "phone", "direction": "inbound"})
    add("C-3", 25, "contact.made", {"channel": "email", "direction": "outbound", "rep": "R-2"})
    add("C-3", 400, "innovation.offered", {"product": "smart-meter"})
    return sorted(events_, key=lambda event: event["time"])


def test_replayed_alerts_match_the_alert_schema() -> None:
    """End to end: what the engine emits for every pattern is valid against the alert schema."""
    outcome = replay(json.dumps(event) for event in _scenario())
    assert outcome.rejected == []
    emitted = [json.loads(raw) for raw in outcome.alerts]
    for alert_event in emitted:
        assert ALERT.is_valid(alert_event), (_schema_verdict(ALERT, alert_event), alert_event)
    assert {alert_event["type"] for alert_event in emitted} == {"alert.fired", "alert.resolved"}
    fired = {alert_event["data"]["pattern"] for alert_event in emitted}
    assert set(PATTERNS) - fired == set(), "the scenario should make every pattern fire"


# --- AsyncAPI ------------------------------------------------------------------------------

ASYNCAPI_PATH = SCHEMA_DIR / "asyncapi.yaml"


def _asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ASYNCAPI_PATH.read_text(encoding="utf-8"))
    return document


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_asyncapi_cli_validates_the_document(tmp_path: Path) -> None:
    """The AsyncAPI CLI's own parser and rules (spec 3.0 schema, refs resolved); warnings fail too."""
    asyncapi = shutil.which("asyncapi")
    assert asyncapi is not None, "asyncapi missing: `make tools` installs the AsyncAPI CLI with npm"
    opted_out = tmp_path / "asyncapi-analytics.json"
    opted_out.write_text('{"analyticsEnabled": "false", "infoMessageShown": "true"}', encoding="utf-8")
    checked = subprocess.run(
        [asyncapi, "validate", "--fail-severity", "warn", str(ASYNCAPI_PATH)],
        env={**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(opted_out), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is valid" in checked.stdout, checked.stdout


def test_asyncapi_parses_as_json_data() -> None:
    """AsyncAPI tools read the document as JSON; a YAML date or a number-looking version would differ."""
    document = _asyncapi()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"]
    assert document["info"]["version"] == metadata.version("touchpoint-sentinel")
    assert json.loads(json.dumps(document)) == document


def test_asyncapi_servers_describe_every_sasl_mechanism_over_tls() -> None:
    document = _asyncapi()
    schemes = document["components"]["securitySchemes"]
    secure = document["servers"]["kafka-secure"]
    assert secure["protocol"] == "kafka-secure"
    offered = [_pointer(document, ref["$ref"].lstrip("#"))["type"] for ref in secure["security"]]
    mechanisms = {"plain": "PLAIN", "scramSha256": "SCRAM-SHA-256", "scramSha512": "SCRAM-SHA-512"}
    assert sorted(mechanisms[kind] for kind in offered) == sorted(SASL_MECHANISMS)
    assert {scheme["type"] for scheme in schemes.values()} == set(mechanisms)
    assert "security" not in document["servers"]["kafka"], "the plaintext server is the unauthenticated one"
    assert "SASL_SSL" in secure["description"] and "SASL_SSL" in SECURITY_PROTOCOLS


def test_asyncapi_references_resolve() -> None:
    document = _asyncapi()
    refs = _refs(document)
    assert refs
    for ref in refs:
        target, _, pointer = ref.partition("#")
        if target:
            assert target.startswith("./"), ref
            resolved_node = _pointer(_load(target[2:]), pointer)
        else:
            resolved_node = _pointer(document, pointer)
        assert resolved_node is not None, ref


def test_asyncapi_topics_operations_and_payloads() -> None:
    document = _asyncapi()
    channels = document["channels"]
    assert {name: channel["address"] for name, channel in channels.items()} == {
        "touchpoints": "touchpoints",
        "alerts": "alerts",
        "touchpoints-dead-letter": "touchpoints-dead-letter",
    }
    actions = {}
    for name, operation in document["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        channel = _pointer(document, channel_ref.lstrip("#"))
        actions[channel["address"]] = operation["action"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
    assert actions == {"touchpoints": "receive", "alerts": "send", "touchpoints-dead-letter": "send"}

    messages = document["components"]["messages"]
    payloads = {name: message["payload"].get("schema", {}).get("$ref") for name, message in messages.items()}
    assert payloads["touchpoint"] == "./touchpoint.schema.json"
    assert payloads["touchpointBatch"] == "./touchpoint-batch.schema.json"
    assert payloads["alert"] == "./alert.schema.json"
    assert messages["touchpoint"]["contentType"] == "application/cloudevents+json"
    assert messages["touchpointBatch"]["contentType"] == "application/cloudevents-batch+json"
    for message in messages.values():
        assert "key" in message["bindings"]["kafka"], "every topic is keyed"


def test_asyncapi_binary_mode_headers_cover_the_required_attributes() -> None:
    headers = _asyncapi()["components"]["messages"]["touchpointBinary"]["headers"]
    required = set(TOUCHPOINT_SCHEMA["required"]) - {"data"}
    assert set(headers["required"]) == {f"ce_{name}" for name in required}


def test_asyncapi_dead_letter_headers() -> None:
    headers = _asyncapi()["components"]["messages"]["deadLetter"]["headers"]
    assert set(headers["properties"]) == {
        "sentinel-reason",
        "sentinel-message",
        "sentinel-source-topic",
        "sentinel-source-partition",
        "sentinel-source-offset",
        "sentinel-batch-index",
        "sentinel-error",
        "sentinel-truncated",
        "sentinel-original-size",
        "sentinel-original-key-size",
    }
    assert "sentinel-batch-index" not in headers["required"], "only for batch elements"
    assert "sentinel-truncated" not in headers["required"], "only for records cut to fit"
    assert headers["properties"]["sentinel-reason"]["enum"] == list(REASON_CODES)


def _inline_local_refs(node: Any, document: dict[str, Any]) -> Any:
    """An AsyncAPI schema fragment with its '#/...' refs replaced by their targets."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/"):
            return _inline_local_refs(_pointer(document, ref[1:]), document)
        return {key: _inline_local_refs(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_local_refs(value, document) for value in node]
    return node


@functools.cache
def _binary_headers_validator() -> jsonschema.Draft202012Validator:
    document = _asyncapi()
    headers = _inline_local_refs(document["components"]["messages"]["touchpointBinary"]["headers"], document)
    # Relative refs ('./touchpoint.schema.json#...') resolve against the schemas' base URI.
    headers["$id"] = TOUCHPOINT_SCHEMA["$id"].rsplit("/", 1)[0] + "/asyncapi-binary-headers"
    return jsonschema.Draft202012Validator(headers, registry=REGISTRY)


def _binary_samples() -> list[Sample]:
    """Samples expressible in binary mode: string attributes and a data object."""
    usable = []
    for sample in ALL_SAMPLES:
        event = sample.event
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            continue
        if sample.name.startswith("invalid/datacontenttype/"):
            continue  # binary mode carries it as the content-type header, which is not checked
        if sample.name in KNOWN_DISAGREEMENTS or sample.reason not in (
            None,
            "missing_attribute",
            "invalid_attribute",
            "unknown_type",
        ):
            continue
        attributes = {k: v for k, v in event.items() if k not in ("data", "datacontenttype")}
        if all(isinstance(value, str) for value in attributes.values()):
            usable.append(sample)
    return usable


@pytest.mark.parametrize("sample", _params(_binary_samples()))
def test_binary_mode_headers_agree_with_event_from_binary(sample: Sample) -> None:
    """AsyncAPI's ce_* header schema accepts a binary message iff the parser does."""
    attributes = {k: v for k, v in sample.event.items() if k not in ("data", "datacontenttype")}
    headers = {f"ce_{name}": value.encode() for name, value in attributes.items()}
    schema_error = _schema_verdict(
        _binary_headers_validator(), {name: raw.decode() for name, raw in headers.items()}
    )
    try:
        events.event_from_binary(headers, json.dumps(sample.event["data"]).encode())
    except InvalidEvent as error:
        parser_reason: str | None = error.reason
    else:
        parser_reason = None
    assert (schema_error is None) == (sample.reason is None), (sample.name, schema_error)
    assert parser_reason == sample.reason, sample.name
