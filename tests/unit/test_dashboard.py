"""The committed Grafana dashboard is what its generator builds, and it asks only for metrics that exist."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from prometheus_client import CollectorRegistry

from streams.metrics import Metrics

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
METRIC_NAME = re.compile(r"\b(sentinel_[a-z_]+|process_[a-z_]+|up)\b(?=\s*[{\[)])")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sentinel_dashboard", GRAFANA / "dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _committed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / "sentinel-dashboard.json").read_text(encoding="utf-8"))
    return loaded


def panel_queries(dashboard: dict[str, Any]) -> dict[str, list[str]]:
    """Each graph's title with its PromQL expressions (rows hold none)."""
    return {
        panel["title"]: [target["expr"] for target in panel["targets"]]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }


def test_committed_dashboard_is_what_the_generator_builds() -> None:
    assert _committed() == _generator().render(), "run `make dashboard` and commit the JSON"


def test_dashboard_shows_what_an_sre_watches() -> None:
    queries = panel_queries(_committed())
    assert all(queries.values()), "every graph has a query"
    joined = "\n".join(expr for exprs in queries.values() for expr in exprs)
    for needed in (
        "rate(sentinel_events_total",
        "sentinel_consumer_lag_messages",
        "rate(sentinel_events_rejected_total",
        "sum by (pattern, severity) (rate(sentinel_alerts_fired_total",
        "sentinel_event_to_alert_latency_seconds_bucket",
        "sentinel_detection_delay_seconds",
        "time() - max by (partition) (sentinel_watermark_seconds)",
    ):
        assert needed in joined, needed


def test_dashboard_queries_name_only_metrics_the_worker_exports() -> None:
    registry = CollectorRegistry()
    Metrics.create(registry)
    families = list(registry.collect())
    exported = {family.name for family in families} | {s.name for f in families for s in f.samples} | {"up"}
    for title, exprs in panel_queries(_committed()).items():
        for expr in exprs:
            names = set(METRIC_NAME.findall(expr))
            assert names, (title, expr)
            assert names <= exported, (title, names - exported)


def test_panels_use_the_dashboards_datasource_variable() -> None:
    dashboard = _committed()
    (variable,) = dashboard["templating"]["list"]
    assert variable == {**variable, "type": "datasource", "query": "prometheus", "name": "datasource"}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
