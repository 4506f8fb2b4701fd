"""The fault suite reads the workers' own metrics: what it takes from one scrape (`parse_metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from chaos.observe import parse_metrics
from streams.metrics import Metrics


def test_a_scrape_gives_watermarks_ownership_and_the_internal_messages_skipped() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    metrics.watermark.labels("2").set(1_700_000_000)
    metrics.partitions_owned.set(3)
    metrics.internal_skipped.labels("redelivered").inc(5)
    metrics.internal_skipped.labels("out_of_order").inc(2)
    snapshot = parse_metrics(generate_latest(registry).decode(), "internal")
    assert snapshot.watermarks == {2: 1_700_000_000}
    assert snapshot.partitions_owned == 3
    assert snapshot.internal_skipped == {"redelivered": 5, "out_of_order": 2}
