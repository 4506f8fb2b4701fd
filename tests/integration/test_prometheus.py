"""Debian's Prometheus scraping a real worker and a real `sentinel deliver alertmanager` (posting to
Debian's Alertmanager): the rules load, the dashboard has data, a dead worker or deliverer pages.

The rules file is the product, so it is loaded as it is but for one thing: its
`for:` durations (one to five minutes, to ride out a restart or a rebalance)
become FOR_IN_TEST, because this test cannot wait minutes. Expressions,
labels and annotations are untouched, and Prometheus evaluates them every
second against a worker and a deliverer scraped every second.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.timestamps import MINUTE
from streams.broker import free_port
from streams.clients import produce_lines
from streams.subprocesses import stop_process
from streams.verify import closing_events
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .delivery import Alertmanager, DeliverProcess
from .pipeline import history_lines, produce_closing, worker_settings

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "sentinel-rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "sentinel-dashboard.json"
JOB = "touchpoint-sentinel"
DELIVER_JOB = "touchpoint-sentinel-deliver"
FOR_IN_TEST = "2s"
RATE_WINDOW = "1m"
"""What the dashboard's $__rate_interval becomes: longer than the whole test, so rates see all of it."""


def rules_for_test(rules: dict[str, Any]) -> dict[str, Any]:
    """The rules with every `for:` shortened to FOR_IN_TEST, nothing else changed."""
    return {
        **rules,
        "groups": [
            {
                **group,
                "rules": [{**rule, "for": FOR_IN_TEST} if "for" in rule else rule for rule in group["rules"]],
            }
            for group in rules["groups"]
        ],
    }


def dashboard_queries() -> dict[str, str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"].replace("$__rate_interval", RATE_WINDOW)
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    }


class Prometheus:
    """Debian's prometheus binary on a loopback port, with its data in a temporary directory."""

    def __init__(self, directory: Path, config: dict[str, Any]) -> None:
        self.directory = directory
        self.port = free_port()
        self.config_file = directory / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = directory / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Prometheus:
        binary = shutil.which("prometheus")
        assert binary is not None, "prometheus missing: `make tools` installs Debian's prometheus package"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={self.directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self._ready(), timeout, f"prometheus ready; see {self.log_path}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log_path.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}{query}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def stop(self) -> None:
        stop_process(self.process, 20)


def wait_for(condition: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    """Poll until `condition` holds; `what` (or what it returns, then) explains a time-out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what if isinstance(what, str) else what()}"
            )
        time.sleep(0.5)


def has_numbers(result: list[dict[str, Any]]) -> bool:
    """At least one sample that is a number: histogram_quantile gives NaN when nothing was observed."""
    return any(not math.isnan(float(sample["value"][1])) for sample in result)


def test_prometheus_loads_the_rules_graphs_the_dashboard_and_pages_for_a_killed_worker_and_deliverer(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    prometheus_dir = tmp_path / "prometheus"
    prometheus_dir.mkdir()
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    (prometheus_dir / "sentinel-rules.yml").write_text(
        yaml.safe_dump(rules_for_test(rules)), encoding="utf-8"
    )
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path / "worker")
    delivering = settings.replace(
        deliver_metrics_port=free_port(), alerts_dead_letter_topic=unique_name("alerts-dead-letter")
    )
    target = f"{settings.metrics_host}:{settings.metrics_port}"
    deliver_target = f"{delivering.metrics_host}:{delivering.deliver_metrics_port}"
    prometheus = Prometheus(
        prometheus_dir,
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["sentinel-rules.yml"],
            "scrape_configs": [
                {"job_name": JOB, "static_configs": [{"targets": [target]}]},
                {"job_name": DELIVER_JOB, "static_configs": [{"targets": [deliver_target]}]},
            ],
        },
    )
    alertmanager = Alertmanager(
        tmp_path / "alertmanager", {"route": {"receiver": "crm-teams"}, "receivers": [{"name": "crm-teams"}]}
    )
    lines, last_time = history_lines(60, seed=31)
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    deliverer = DeliverProcess(delivering, "alertmanager", alertmanager.url, tmp_path / "deliver.log")
    try:
        worker.start()
        alertmanager.start()
        deliverer.start()
        prometheus.start()
        # Traffic after the first scrape, or every sample would show the same final counts (no rate).
        wait_for(
            lambda: len(prometheus.query("up == 1")) == 2, 10, "the first scrape of worker and deliverer"
        )
        asyncio.run(produce_lines(settings, lines))
        asyncio.run(produce_closing(settings, closing))

        groups = prometheus.api("rules")["groups"]
        expected = {group["name"]: [rule["alert"] for rule in group["rules"]] for group in rules["groups"]}
        assert {group["name"]: [rule["name"] for rule in group["rules"]] for group in groups} == expected

        queries = dashboard_queries()
        empty = dict(queries)

        def dashboard_has_data() -> bool:
            for title, expr in list(empty.items()):
                if has_numbers(prometheus.query(expr)):
                    del empty[title]
            return not empty

        wait_for(dashboard_has_data, 60, lambda: f"data in every dashboard query; none yet for {empty}")

        def every_rule_evaluated() -> bool:
            evaluated = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
            return all(rule["health"] != "unknown" for rule in evaluated)

        wait_for(every_rule_evaluated, 10, "one evaluation of every rule")
        evaluated = [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
        assert {rule["name"]: rule["health"] for rule in evaluated} == {
            rule["name"]: "ok" for rule in evaluated
        }, [rule.get("lastError") for rule in evaluated]
        # With `for:` at 2 s, SentinelNoTouchpoints rightly goes off in the seconds before the traffic
        # (and SentinelDelivererNotReady before the deliverer's first assignment); once the touchpoints
        # are counted and the alerts delivered, a healthy stack leaves nothing firing or pending.
        wait_for(lambda: has_numbers(prometheus.query("sum(sentinel_events_total) > 0")), 30, "touchpoints")
        wait_for(
            lambda: has_numbers(prometheus.query("sum(sentinel_deliver_delivered_total) > 0")),
            30,
            "deliveries",
        )
        assert prometheus.query("sum(sentinel_deliver_ready)")[0]["value"][1] == "1"
        wait_for(
            lambda: not prometheus.api("alerts")["alerts"],
            15,
            lambda: f"no active alert while the worker is up; active: {prometheus.api('alerts')['alerts']}",
        )

        assert worker.process is not None
        worker.process.kill()
        worker.process.wait()
        deliverer.kill()

        def down_fires(alertname: str, instance: str) -> Callable[[], bool]:
            def fires() -> bool:
                alerts = prometheus.api("alerts")["alerts"]
                return any(
                    alert["labels"]["alertname"] == alertname
                    and alert["labels"]["instance"] == instance
                    and alert["state"] == "firing"
                    for alert in alerts
                )

            return fires

        wait_for(down_fires("SentinelWorkerDown", target), 20, "SentinelWorkerDown firing")
        wait_for(down_fires("SentinelDelivererDown", deliver_target), 20, "SentinelDelivererDown firing")
        assert prometheus.query(f'up{{job="{JOB}"}}')[0]["value"][1] == "0"
        assert prometheus.query(f'up{{job="{DELIVER_JOB}"}}')[0]["value"][1] == "0"
    finally:
        deliverer.stop()
        worker.stop()
        alertmanager.stop()
        prometheus.stop()


def test_rules_in_test_differ_from_the_product_only_in_for() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    shortened = rules_for_test(rules)

    def without_for(document: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {key: value for key, value in rule.items() if key != "for"}
            for group in document["groups"]
            for rule in group["rules"]
        ]

    assert without_for(shortened) == without_for(rules)
    durations = [rule.get("for") for group in shortened["groups"] for rule in group["rules"]]
    assert set(durations) <= {FOR_IN_TEST, None}
    assert FOR_IN_TEST in durations
