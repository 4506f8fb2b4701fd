"""The Touchpoint Sentinel Grafana dashboard, built with grafana-foundation-sdk.

    python deploy/grafana/dashboard.py > deploy/grafana/sentinel-dashboard.json

(or `make dashboard`). The JSON is committed so Grafana can provision it as a
file; a test keeps it equal to what this script builds. Every panel's query
uses only the worker's own metrics and Prometheus' `up`, so it shows data as
soon as one worker is scraped.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BigValueGraphMode, LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DataSourceRef

UID = "touchpoint-sentinel"
JOB = 'job="touchpoint-sentinel"'
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


def query(expr: str, legend: str = "", ref_id: str = "A") -> Dataquery:
    target = Dataquery().expr(expr).ref_id(ref_id).datasource(DATASOURCE)
    return target.legend_format(legend) if legend else target


def timeseries(title: str, description: str, unit: str, *queries: Dataquery) -> Timeseries:
    panel = Timeseries().title(title).description(description).unit(unit).datasource(DATASOURCE)
    panel = panel.height(8).span(12).fill_opacity(10)
    panel = panel.legend(
        VizLegendOptions()
        .display_mode(LegendDisplayMode.LIST)
        .placement(LegendPlacement.BOTTOM)
        .show_legend(True)
    )
    for target in queries:
        panel = panel.with_target(target)
    return panel


def stat(title: str, description: str, unit: str, target: Dataquery) -> Stat:
    return (
        Stat().title(title).description(description).unit(unit).datasource(DATASOURCE)
        .height(4).span(6).with_target(target)
        .graph_mode(BigValueGraphMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )  # fmt: skip


def build() -> Dashboard:
    return (
        Dashboard("Touchpoint Sentinel")
        .uid(UID)
        .description("Throughput, lag, rejections, alerts, latency and event time of the Sentinel workers.")
        .tags(["touchpoint-sentinel", "kafka"])
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("utc")
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_row(Row("Workers"))
        .with_panel(
            stat(
                "Workers up",
                "Workers Prometheus reaches; SentinelWorkerDown fires when one stays unreachable.",
                "none",
                query(f"sum(up{{{JOB}}})"),
            )
        )
        .with_panel(
            stat(
                "Customers tracked",
                "Customers with state in the workers.",
                "short",
                query("sum(sentinel_customers_tracked)"),
            )
        )
        .with_panel(
            stat(
                "Deadlines pending",
                "Customers waiting on a deadline (a call back, an answer, a resolution).",
                "short",
                query("sum(sentinel_deadlines_pending)"),
            )
        )
        .with_panel(
            stat(
                "Release",
                "The version each worker runs (sentinel_build_info).",
                "none",
                query("count by (version) (sentinel_build_info)", "{{version}}"),
            )
        )
        .with_row(Row("Throughput"))
        .with_panel(
            timeseries(
                "Touchpoints accepted",
                "Touchpoints per second that passed the contract, by type.",
                "reqps",
                query("sum by (type) (rate(sentinel_events_total[$__rate_interval]))", "{{type}}"),
            )
        )
        .with_panel(
            timeseries(
                "Touchpoints rejected",
                "Touchpoints per second sent to the dead-letter topic, by reason (header sentinel-reason).",
                "reqps",
                query(
                    "sum by (reason) (rate(sentinel_events_rejected_total[$__rate_interval]))", "{{reason}}"
                ),
            )
        )
        .with_panel(
            timeseries(
                "Consumer lag",
                "Messages waiting, by topic: the touchpoints topic (ingest) and the internal topic"
                " (detection). A partition whose lag stays above zero without moving is stuck.",
                "short",
                query("sum by (topic) (sentinel_consumer_lag_messages)", "{{topic}}"),
            )
        )
        .with_panel(
            timeseries(
                "Duplicates and late touchpoints",
                "Exact duplicates ignored, and touchpoints older than their partition's watermark.",
                "reqps",
                query("sum(rate(sentinel_events_duplicate_total[$__rate_interval]))", "duplicate"),
                query("sum(rate(sentinel_events_late_total[$__rate_interval]))", "late", "B"),
            )
        )
        .with_row(Row("Alerts"))
        .with_panel(
            timeseries(
                "Alerts fired by pattern and severity",
                "Customer alerts per second, by danger pattern and severity.",
                "reqps",
                query(
                    "sum by (pattern, severity) (rate(sentinel_alerts_fired_total[$__rate_interval]))",
                    "{{pattern}} ({{severity}})",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Alerts resolved by pattern and severity",
                "Episodes that cleared per second, by danger pattern and the severity they fired with.",
                "reqps",
                query(
                    "sum by (pattern, severity) (rate(sentinel_alerts_resolved_total[$__rate_interval]))",
                    "{{pattern}} ({{severity}})",
                ),
            )
        )
        .with_row(Row("Latency and event time"))
        .with_panel(
            timeseries(
                "Touchpoint to alert",
                "From a touchpoint's arrival in Kafka to the alert it caused being sent (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le)"
                    " (rate(sentinel_event_to_alert_latency_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le)"
                    " (rate(sentinel_event_to_alert_latency_seconds_bucket[$__rate_interval])))",
                    "p99",
                    "B",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Detection delay",
                "How long after its arrival in Kafka detection finished the newest touchpoint, by partition.",
                "s",
                query("max by (partition) (sentinel_detection_delay_seconds)", "partition {{partition}}"),
            )
        )
        .with_panel(
            timeseries(
                "Watermark delay",
                "Wall clock minus the event-time watermark, by partition: how far behind now the"
                " deadlines are judged. A backfill is legitimately far behind, a demo ahead (negative).",
                "s",
                query("time() - max by (partition) (sentinel_watermark_seconds)", "partition {{partition}}"),
            )
        )
        .with_row(Row("Processes"))
        .with_panel(
            timeseries(
                "Worker CPU",
                "CPU time per second of each worker process (1 = one core).",
                "percentunit",
                query(f"rate(process_cpu_seconds_total{{{JOB}}}[$__rate_interval])", "{{instance}}"),
            )
        )
        .with_panel(
            timeseries(
                "Worker memory",
                "Resident memory of each worker process; customers at rest stay compact in the store.",
                "bytes",
                query(f"process_resident_memory_bytes{{{JOB}}}", "{{instance}}"),
            )
        )
    )


def render() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    rendered: dict[str, Any] = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    return rendered


if __name__ == "__main__":
    sys.stdout.write(json.dumps(render(), indent=2, sort_keys=True) + "\n")
