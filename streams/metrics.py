"""Prometheus metrics for SREs: what came in, what was refused, what fired, how far behind.

Built by `Metrics.create(registry)` so tests use a fresh registry. Labels come
only from small fixed sets (event type, reason, pattern, severity, partition);
never a customer id.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


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

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        return cls(
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
        )
