"""Prometheus metrics for SREs: what came in, what was refused, what fired, how far behind.

Built by `Metrics.create(registry)` so tests use a fresh registry. Labels come
only from small fixed sets (event type, reason, pattern, severity, partition);
never a customer id. Every labelled counter starts at 0 for each value it can
take, so `rate()` sees the first event instead of a series appearing from
nowhere, and a dashboard shows a zero rather than "no data".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from agents.patterns import PATTERN_NAMES
from schemas.alerts import Alert
from schemas.events import REASONS, TYPES

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DISTRIBUTION = "touchpoint-sentinel"


@dataclass(frozen=True, slots=True)
class AlertLabels:
    """The (pattern, severity) pairs alerts can carry, as the published alert schema states them."""

    fired: tuple[tuple[str, str], ...]
    """Every pattern with each severity it may fire with, in catalog order."""
    resolved: tuple[tuple[str, str], ...]
    """The same without notices, which fire once and never resolve."""

    @classmethod
    def published(cls) -> AlertLabels:
        text = resources.files("schemas").joinpath("alert.schema.json").read_text(encoding="utf-8")
        return cls.from_schema(json.loads(text))

    @classmethod
    def from_schema(cls, schema: dict[str, Any]) -> AlertLabels:
        severities: dict[str, list[str]] = {}
        notices: set[str] = set()
        for condition in _conditions(schema):
            pattern = condition["if"].get("properties", {}).get("pattern", {}).get("const")
            then = condition["then"].get("properties", {})
            if pattern is None or "severity" not in then:
                continue
            allowed = then["severity"]
            severities[pattern] = sorted([allowed["const"]] if "const" in allowed else allowed["enum"])
            if then.get("status", {}).get("const") == "firing":
                notices.add(pattern)
        missing = [name for name in PATTERN_NAMES if name not in severities]
        if missing:
            raise ValueError(f"the alert schema gives no severity for {', '.join(missing)}")
        fired = tuple((name, severity) for name in PATTERN_NAMES for severity in severities[name])
        return cls(fired, tuple(pair for pair in fired if pair[0] not in notices))


def _conditions(node: Any) -> list[dict[str, Any]]:
    """Every if/then rule in a JSON Schema document, wherever it sits."""
    if isinstance(node, list):
        return [found for item in node for found in _conditions(item)]
    if not isinstance(node, dict):
        return []
    here = [node] if isinstance(node.get("if"), dict) and isinstance(node.get("then"), dict) else []
    return here + [found for value in node.values() for found in _conditions(value)]


def build_version() -> str:
    """The installed distribution's version; a source tree nobody installed has none."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class Metrics:
    events: Counter
    rejected: Counter
    duplicates: Counter
    late: Counter
    unknown_cases: Counter
    alerts_fired: Counter
    alerts_resolved: Counter
    alert_latency: Histogram
    consumer_lag: Gauge
    detection_delay: Gauge
    watermark: Gauge
    customers: Gauge
    deadlines: Gauge
    redelivered: Counter
    internal_skipped: Counter
    internal_errors: Counter
    write_retries: Counter
    partitions_owned: Gauge
    alerts_held: Counter
    alerts_held_out: Counter
    alerts_by_segment: Counter
    segments: frozenset[str] = frozenset()
    """The segments the config names: the only segment names that become label values."""

    @classmethod
    def create(cls, registry: CollectorRegistry, role: str = "all", segments: Iterable[str] = ()) -> Metrics:
        """`role`: what the process does (ingest, detect or all), in `sentinel_role_info`;
        `segments`: the segments the thresholds config names."""

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        Info("sentinel_build", "The running Touchpoint Sentinel release.", registry=registry).info(
            {"version": build_version()}
        )
        Info("sentinel_role", "What this process does: ingest, detect or all.", registry=registry).info(
            {"role": role}
        )
        metrics = cls(
            events=counter("sentinel_events", "Touchpoints accepted, by type.", "type"),
            rejected=counter(
                "sentinel_events_rejected", "Touchpoints refused and dead-lettered, by reason.", "reason"
            ),
            duplicates=counter("sentinel_events_duplicate", "Exact duplicates ignored (same source and id)."),
            late=counter("sentinel_events_late", "Touchpoints older than their partition's watermark."),
            unknown_cases=counter(
                "sentinel_case_events_unknown", "case.updated/case.resolved for a case id nobody opened."
            ),
            alerts_fired=counter(
                "sentinel_alerts_fired", "Alerts fired (episodes and notices).", "pattern", "severity"
            ),
            alerts_resolved=counter("sentinel_alerts_resolved", "Episodes resolved.", "pattern", "severity"),
            alert_latency=Histogram(
                "sentinel_event_to_alert_latency_seconds",
                "From a touchpoint's arrival in Kafka to the alert it caused being sent.",
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            consumer_lag=gauge(
                "sentinel_consumer_lag_messages",
                "Messages not yet consumed, by topic and partition: the touchpoints topic (ingest) and"
                " the internal topic (detection).",
                "topic",
                "partition",
            ),
            detection_delay=gauge(
                "sentinel_detection_delay_seconds",
                "Age, when detection finished with it, of the newest touchpoint (since its arrival in"
                " Kafka), by internal partition; as of the last round with touchpoints.",
                "partition",
            ),
            watermark=gauge(
                "sentinel_watermark_seconds",
                "Event-time watermark (Unix seconds), by partition.",
                "partition",
            ),
            customers=gauge("sentinel_customers_tracked", "Customers with state in this worker."),
            deadlines=gauge(
                "sentinel_deadlines_pending", "Customers with a pending deadline in this worker."
            ),
            redelivered=counter(
                "sentinel_events_redelivered",
                "Touchpoints read again after a crash or rebalance and skipped: they had been applied.",
            ),
            internal_skipped=counter(
                "sentinel_internal_messages_skipped",
                "Internal messages detection did not apply as delivered, by reason: redelivered (applied"
                " already) or out_of_order (messages before them not delivered; read again after a seek).",
                "reason",
            ),
            internal_errors=counter(
                "sentinel_internal_errors",
                "Touchpoints (dead-lettered as internal_error) and deadlines the engine failed on, and ingest"
                " restarts after a bug, by stage.",
                "stage",
            ),
            write_retries=counter(
                "sentinel_write_retries",
                "Writes to the broker tried again because it did not acknowledge them (alerts, state).",
            ),
            partitions_owned=gauge(
                "sentinel_partitions_owned", "Partitions of the internal topic this worker detects on."
            ),
            alerts_held=counter(
                "sentinel_alerts_held", "Alerts a snooze held back (not emitted), by pattern.", "pattern"
            ),
            alerts_held_out=counter(
                "sentinel_alerts_held_out",
                "Alerts for customers of the holdout group (published with holdout=true; not in"
                " sentinel_alerts_fired/resolved_total), by pattern and status.",
                "pattern",
                "status",
            ),
            alerts_by_segment=counter(
                "sentinel_alerts_by_segment",
                "Alerts by the segment whose thresholds applied: a segment the config names, none, or other.",
                "segment",
            ),
            segments=frozenset(segments),
        )
        metrics.start_counters_at_zero(AlertLabels.published())
        return metrics

    def start_counters_at_zero(self, alerts: AlertLabels) -> None:
        for event_type in TYPES:
            self.events.labels(event_type)
        for reason in REASONS:
            self.rejected.labels(reason)
        for stage in ("event", "deadline", "ingest"):
            self.internal_errors.labels(stage)
        for reason in ("redelivered", "out_of_order"):
            self.internal_skipped.labels(reason)
        for pattern, severity in alerts.fired:
            self.alerts_fired.labels(pattern, severity)
        for pattern, severity in alerts.resolved:
            self.alerts_resolved.labels(pattern, severity)
        for pattern in {pattern for pattern, _ in alerts.fired}:
            self.alerts_held.labels(pattern)
        for segment in (*sorted(self.segments), "none", "other"):
            self.alerts_by_segment.labels(segment)

    def count_alert(self, alert: Alert) -> None:
        """One alert sent: by pattern and severity, or apart when its customer is held out."""
        status = "firing" if alert.firing else "resolved"
        if alert.holdout:
            self.alerts_held_out.labels(alert.pattern, status).inc()
        elif alert.firing:
            self.alerts_fired.labels(alert.pattern, alert.severity).inc()
        else:
            self.alerts_resolved.labels(alert.pattern, alert.severity).inc()
        segment = alert.segment
        self.alerts_by_segment.labels(
            "none" if segment is None else segment if segment in self.segments else "other"
        ).inc()
