"""What /metrics shows before any traffic: process and platform facts, the build, and every counter at 0."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry

from agents.patterns import PATTERN_NAMES
from schemas.events import REASONS, TYPES
from streams.metrics import AlertLabels, Metrics

ALERT_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "alert.schema.json"


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Metrics.create(registry)
    return registry


def test_process_and_platform_collectors_report_on_the_apps_own_registry(registry: CollectorRegistry) -> None:
    start = registry.get_sample_value("process_start_time_seconds")
    resident = registry.get_sample_value("process_resident_memory_bytes")
    assert start is not None and start > 1_600_000_000
    assert resident is not None and resident > 0
    assert registry.get_sample_value("process_cpu_seconds_total") is not None
    assert registry.get_sample_value("python_info", _python_labels()) == 1.0
    assert registry.get_sample_value("python_gc_collections_total", {"generation": "0"}) is not None


def test_two_apps_in_one_process_do_not_collide_on_the_global_registry() -> None:
    before = set(REGISTRY._names_to_collectors)
    first, second = CollectorRegistry(), CollectorRegistry()
    Metrics.create(first)
    Metrics.create(second)
    assert set(REGISTRY._names_to_collectors) == before
    assert second.get_sample_value(
        "sentinel_build_info", {"version": metadata.version("touchpoint-sentinel")}
    )


def test_build_info_carries_the_installed_version(registry: CollectorRegistry) -> None:
    version = metadata.version("touchpoint-sentinel")
    assert registry.get_sample_value("sentinel_build_info", {"version": version}) == 1.0


def test_every_event_type_and_rejection_reason_starts_at_zero(registry: CollectorRegistry) -> None:
    for event_type in TYPES:
        assert registry.get_sample_value("sentinel_events_total", {"type": event_type}) == 0.0, event_type
    for reason in REASONS:
        assert registry.get_sample_value("sentinel_events_rejected_total", {"reason": reason}) == 0.0, reason


def test_alert_counters_start_at_zero_for_each_pattern_and_the_severities_it_can_have(
    registry: CollectorRegistry,
) -> None:
    labels = AlertLabels.published()
    assert {pattern for pattern, _ in labels.fired} == set(PATTERN_NAMES)
    for pattern, severity in labels.fired:
        value = registry.get_sample_value(
            "sentinel_alerts_fired_total", {"pattern": pattern, "severity": severity}
        )
        assert value == 0.0, (pattern, severity)
    for pattern, severity in labels.resolved:
        value = registry.get_sample_value(
            "sentinel_alerts_resolved_total", {"pattern": pattern, "severity": severity}
        )
        assert value == 0.0, (pattern, severity)
    notice = {"pattern": "hidden_costs", "severity": "critical"}
    assert registry.get_sample_value("sentinel_alerts_fired_total", notice) == 0.0
    assert registry.get_sample_value("sentinel_alerts_resolved_total", notice) is None


def test_alert_labels_follow_the_schema_severity_rules() -> None:
    labels = AlertLabels.published()
    fired = set(labels.fired)
    assert ("lead_not_followed_up", "warning") in fired
    assert ("lead_not_followed_up", "critical") not in fired
    assert {("endless_case", "warning"), ("endless_case", "critical")} <= fired
    assert ("competitor_in_negotiation", "critical") in fired
    notices = {pattern for pattern, _ in labels.fired} - {pattern for pattern, _ in labels.resolved}
    assert notices == {
        "wrong_channel",
        "contact_person_changed",
        "new_customer_flooding",
        "hidden_costs",
        "costly_change_request",
        "advisor_exit_risk",
    }
    assert set(labels.resolved) < fired
    assert len(labels.fired) < 3 * len(PATTERN_NAMES), "label sets stay small"


def test_a_schema_without_a_patterns_severity_is_refused() -> None:
    schema = json.loads(ALERT_SCHEMA.read_text(encoding="utf-8"))
    rules = schema["$defs"]["alertData"]["allOf"]
    schema["$defs"]["alertData"]["allOf"] = [
        rule
        for rule in rules
        if rule["if"].get("properties", {}).get("pattern", {}).get("const") != "endless_case"
    ]
    with pytest.raises(ValueError, match="endless_case"):
        AlertLabels.from_schema(schema)


def test_counting_moves_only_the_labelled_series(registry: CollectorRegistry) -> None:
    metrics = Metrics.create(fresh := CollectorRegistry())
    metrics.rejected.labels("invalid_json").inc()
    metrics.alerts_fired.labels("endless_case", "critical").inc(2)
    critical_case = {"pattern": "endless_case", "severity": "critical"}
    assert fresh.get_sample_value("sentinel_events_rejected_total", {"reason": "invalid_json"}) == 1.0
    assert fresh.get_sample_value("sentinel_events_rejected_total", {"reason": "too_large"}) == 0.0
    assert fresh.get_sample_value("sentinel_alerts_fired_total", critical_case) == 2.0
    assert registry.get_sample_value("sentinel_alerts_fired_total", critical_case) == 0.0


def _python_labels() -> dict[str, str]:
    major, minor, patchlevel = platform.python_version_tuple()
    return {
        "implementation": platform.python_implementation(),
        "major": major,
        "minor": minor,
        "patchlevel": patchlevel,
        "version": platform.python_version(),
    }
