"""Prometheus metrics of `sentinel deliver`, on a registry of their own (`DeliveryMetrics.create`).

Every series carries `target` (alertmanager or webhook), so one Prometheus job
can scrape both commands. Labels come from small fixed sets; never a customer id.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from streams.metrics import build_version

TARGETS = ("alertmanager", "webhook")
KINDS = ("fired", "resolved", "notice")
"""What was delivered: an episode's firing, its resolution, or a notice (fires once, never resolves)."""
FAILURES = ("invalid_alert", "refused", "undeliverable")
"""Why an alert went to the alert dead-letter topic: not an alert of the contract, refused by the
target (a 4xx answer), or still failing when the webhook's tries ran out."""
SKIPS = ("holdout", "unknown_episode")
"""Why an alert was not delivered on purpose: its customer is held out, or it resolves an episode the
deliverer does not hold open (it delivered that resolution before a restart, or never saw the firing)."""
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True, slots=True)
class DeliveryMetrics:
    target: str
    delivered: Counter
    reposted: Counter
    retried: Counter
    failed: Counter
    skipped: Counter
    open_episodes: Gauge
    latency: Histogram
    lag: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry, target: str) -> DeliveryMetrics:
        if target not in TARGETS:
            raise ValueError(f"unknown delivery target {target!r}")
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        Info("sentinel_build", "The running Touchpoint Sentinel release.", registry=registry).info(
            {"version": build_version()}
        )

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, ("target", *labels), registry=registry)

        metrics = cls(
            target=target,
            delivered=counter(
                "sentinel_deliver_delivered", "Alerts the target accepted, first deliveries only.", "kind"
            ),
            reposted=counter(
                "sentinel_deliver_reposted",
                "Open episodes posted to Alertmanager again (every resend_interval), so they stay firing.",
            ),
            retried=counter(
                "sentinel_deliver_retried", "Requests to the target that failed and are tried again."
            ),
            failed=counter(
                "sentinel_deliver_failed",
                "Alerts put in the alert dead-letter topic instead of being delivered, by reason.",
                "reason",
            ),
            skipped=counter(
                "sentinel_deliver_skipped", "Alerts left undelivered on purpose, by reason.", "reason"
            ),
            open_episodes=Gauge(
                "sentinel_deliver_open_episodes",
                "Episodes fired and not yet resolved that this deliverer keeps posting (its partitions).",
                ("target",),
                registry=registry,
            ),
            latency=Histogram(
                "sentinel_deliver_latency_seconds",
                "From an alert's write to the alert topic to the target accepting it.",
                ("target",),
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            lag=Gauge(
                "sentinel_deliver_lag_messages",
                "Alerts on the topic not yet delivered, by partition of the alert topic.",
                ("target", "partition"),
                registry=registry,
            ),
        )
        metrics.start_at_zero()
        return metrics

    def start_at_zero(self) -> None:
        for kind in KINDS:
            self.delivered.labels(self.target, kind)
        for reason in FAILURES:
            self.failed.labels(self.target, reason)
        for reason in SKIPS:
            self.skipped.labels(self.target, reason)
        self.reposted.labels(self.target)
        self.retried.labels(self.target)
        self.open_episodes.labels(self.target)
        self.latency.labels(self.target)

    def count_delivered(self, kind: str, written_at_ms: int, now_ms: int) -> None:
        self.delivered.labels(self.target, kind).inc()
        self.latency.labels(self.target).observe(max(0.0, (now_ms - written_at_ms) / 1000))

    def count_failed(self, reason: str) -> None:
        self.failed.labels(self.target, reason).inc()

    def count_skipped(self, reason: str) -> None:
        self.skipped.labels(self.target, reason).inc()

    def count_retry(self) -> None:
        self.retried.labels(self.target).inc()

    def count_reposted(self, count: int) -> None:
        self.reposted.labels(self.target).inc(count)

    def set_open_episodes(self, count: int) -> None:
        self.open_episodes.labels(self.target).set(count)

    def set_lag(self, partition: int, behind: int) -> None:
        self.lag.labels(self.target, str(partition)).set(behind)
