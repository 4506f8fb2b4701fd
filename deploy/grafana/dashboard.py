"""The Touchpoint Sentinel Grafana dashboard, built with grafana-foundation-sdk.

    python deploy/grafana/dashboard.py > deploy/grafana/sentinel-dashboard.json

(or `make dashboard`). The JSON is committed so Grafana can provision it as a
file; a test keeps it equal to what this script builds. Every panel's query
uses only the metrics of the worker or of `sentinel deliver` and Prometheus'
`up`: the Delivery row shows data as soon as one deliverer is scraped (job
touchpoint-sentinel-deliver), the other rows as soon as one worker is.
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
DELIVER_JOB = 'job="touchpoint-sentinel-deliver"'
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
        .description(
            "Throughput, lag, rejections, alerts, latency and event time of the Sentinel workers,"
            " and the delivery of their alerts to Alertmanager or a webhook."
        )
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
        .with_panel(
            timeseries(
                "Read again after a crash or a rebalance",
                "Touchpoints skipped as applied already, and internal messages detection did not"
                " apply as delivered: redelivered, or out of order (after a gap; the partition is read"
                " again from the next message). Bursts after a restart or rebalance are expected;"
                " out-of-order skips that go on mean a seek back does not take.",
                "reqps",
                query("sum(rate(sentinel_events_redelivered_total[$__rate_interval]))", "touchpoints"),
                query(
                    "sum by (reason) (rate(sentinel_internal_messages_skipped_total[$__rate_interval]))",
                    "internal, {{reason}}",
                    "B",
                ),
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
        .with_row(Row("Delivery"))
        .with_panel(
            stat(
                "Deliverers up",
                "sentinel deliver processes Prometheus reaches; SentinelDelivererDown fires when one stays"
                " unreachable.",
                "none",
                query(f"sum(up{{{DELIVER_JOB}}})"),
            )
        )
        .with_panel(
            stat(
                "Deliverers ready",
                "Deliverers whose /readyz answers 200: partitions assigned and the target answering.",
                "none",
                query("sum(sentinel_deliver_ready)"),
            )
        )
        .with_panel(
            stat(
                "Target failing for",
                "The longest run of failed requests to a target (retried, nothing committed meanwhile);"
                " SentinelDeliveryTargetFailing fires after 5 minutes.",
                "s",
                query("max(sentinel_deliver_target_failing_seconds)"),
            )
        )
        .with_panel(
            stat(
                "Open episodes",
                "Episodes fired and not resolved that the deliverers keep posting to Alertmanager.",
                "short",
                query("sum(sentinel_deliver_open_episodes)"),
            )
        )
        .with_panel(
            timeseries(
                "Alerts delivered",
                "Alerts the target accepted per second (first deliveries), by target and kind.",
                "reqps",
                query(
                    "sum by (target, kind) (rate(sentinel_deliver_delivered_total[$__rate_interval]))",
                    "{{target}} {{kind}}",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Delivery lag",
                "Alerts on the alert topic after each deliverer's last delivered round, by target: it rises"
                " while alerts come faster than the target takes them (measured per round delivered).",
                "short",
                query("sum by (target) (sentinel_deliver_lag_messages)", "{{target}}"),
            )
        )
        .with_panel(
            timeseries(
                "Dead-lettered and retried",
                "Alerts put in the alert dead-letter topic per second, by reason; and requests tried again.",
                "reqps",
                query(
                    "sum by (target, reason) (rate(sentinel_deliver_failed_total[$__rate_interval]))",
                    "dead-lettered {{target}} {{reason}}",
                ),
                query(
                    "sum by (target) (rate(sentinel_deliver_retried_total[$__rate_interval]))",
                    "retried {{target}}",
                    "B",
                ),
            )
        )
        .with_panel(
            timeseries(
                "Alert to target",
                "From an alert's write to the alert topic to the target accepting it (p50, p99).",
                "s",
                query(
                    "histogram_quantile(0.5, sum by (le)"
                    " (rate(sentinel_deliver_latency_seconds_bucket[$__rate_interval])))",
                    "p50",
                ),
                query(
                    "histogram_quantile(0.99, sum by (le)"
                    " (rate(sentinel_deliver_latency_seconds_bucket[$__rate_interval])))",
                    "p99",
                    "B",
                ),
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
