"""The files in deploy/ are what the code accepts, and Prometheus accepts the SRE rules."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from agents.config import Config, load_config
from streams.cli import build_parser
from streams.delivery.metrics import DeliveryMetrics
from streams.delivery.run import STOP_GRACE
from streams.kafka import STOP_TIMEOUT
from streams.metrics import Metrics
from streams.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_example_settings_load_without_environment() -> None:
    settings = Settings.load(DEPLOY / "sentinel.toml", env={})
    assert settings.security_protocol == "SASL_SSL"
    assert settings.partitions == 12
    assert settings.future_tolerance == Settings().future_tolerance


def test_kubernetes_config_map_settings_load(tmp_path: Path) -> None:
    manifest = (DEPLOY / "kubernetes" / "touchpoint-sentinel.yaml").read_text().splitlines()
    block = manifest[manifest.index("  sentinel.toml: |") + 1 :]
    end = next(n for n, line in enumerate(block) if not line.startswith("    "))
    (tmp_path / "sentinel.toml").write_text("\n".join(line[4:] for line in block[:end]) + "\n")
    settings = Settings.load(tmp_path / "sentinel.toml", env={"SENTINEL_SASL_PASSWORD": "from-a-secret"})
    assert (settings.security_protocol, settings.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert settings.ssl_cafile == "/etc/sentinel/tls/ca.crt"


def test_thresholds_example_spells_out_the_defaults() -> None:
    assert load_config(DEPLOY / "thresholds.toml").as_toml_ready() == Config.default().as_toml_ready()


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool missing: `make test` installs Debian's prometheus package"
    return subprocess.run(
        [promtool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, check=False
    )


def test_prometheus_accepts_config_and_rules() -> None:
    checked = _promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_sre_rules_fire_as_documented() -> None:
    tested = _promtool("test", "rules", "sentinel-rules.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_rule_has_a_case_where_it_fires_and_one_where_it_stays_silent() -> None:
    rules = _yaml(DEPLOY / "prometheus" / "sentinel-rules.yml")
    names = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    cases = [
        case
        for test in _yaml(DEPLOY / "prometheus" / "sentinel-rules.test.yml")["tests"]
        for case in test["alert_rule_test"]
    ]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert len(names) == len(set(names)) >= 8
    assert set(names) - fires == set(), "rules never seen firing"
    assert set(names) - silent == set(), "rules never seen silent"
    assert (fires | silent) - set(names) == set(), "tests of rules that do not exist"


def test_no_rule_compares_event_time_with_the_wall_clock() -> None:
    """A demo runs event time ahead of the wall clock and a backfill far behind it; neither is a fault."""
    rules = _yaml(DEPLOY / "prometheus" / "sentinel-rules.yml")
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert "time()" not in rule["expr"], rule["alert"]
            assert "sentinel_watermark_seconds" not in rule["expr"], rule["alert"]


def test_prometheus_sends_alerts_to_alertmanager() -> None:
    config = _yaml(DEPLOY / "prometheus" / "prometheus.yml")
    targets = [
        target
        for manager in config["alerting"]["alertmanagers"]
        for static in manager["static_configs"]
        for target in static["targets"]
    ]
    assert targets
    settings = Settings.load(DEPLOY / "sentinel.toml", env={})
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert jobs == {
        "touchpoint-sentinel": [f"127.0.0.1:{settings.metrics_port}"],
        "touchpoint-sentinel-deliver": [f"127.0.0.1:{settings.deliver_metrics_port}"],
    }


METRIC_NAME = re.compile(r"\b(sentinel_[a-z_]+|process_[a-z_]+|up)\b(?=\s*[{\[)=<>!])")


def _exported() -> set[str]:
    """Every sample name the worker and both deliverers export, and Prometheus' own `up`."""
    registries = [CollectorRegistry() for _ in range(3)]
    Metrics.create(registries[0])
    DeliveryMetrics.create(registries[1], "alertmanager")
    DeliveryMetrics.create(registries[2], "webhook")
    families = [family for registry in registries for family in registry.collect()]
    return {family.name for family in families} | {s.name for f in families for s in f.samples} | {"up"}


def test_rules_name_only_metrics_the_code_exports() -> None:
    rules = _yaml(DEPLOY / "prometheus" / "sentinel-rules.yml")
    exported = _exported()
    for group in rules["groups"]:
        for rule in group["rules"]:
            names = set(METRIC_NAME.findall(rule["expr"]))
            assert names, rule["alert"]
            assert names <= exported, (rule["alert"], names - exported)


def test_delivery_rules_select_the_deliverers_job() -> None:
    (delivery,) = [
        group
        for group in _yaml(DEPLOY / "prometheus" / "sentinel-rules.yml")["groups"]
        if group["name"] == "touchpoint-sentinel-delivery"
    ]
    exprs = [rule["expr"] for rule in delivery["rules"]]
    assert all("sentinel_deliver_" in expr or 'job="touchpoint-sentinel-deliver"' in expr for expr in exprs)
    assert 'up{job="touchpoint-sentinel-deliver"} == 0' in exprs


UNITS = DEPLOY / "systemd"


@pytest.mark.parametrize("unit_name", ["touchpoint-sentinel.service", "touchpoint-sentinel-deliver.service"])
def test_systemd_unit_is_sandboxed(unit_name: str) -> None:
    """`systemd-analyze security` rated the unit 9.2 UNSAFE before it was hardened; keep it at 3.0 or less."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze missing: `make tools` installs Debian's systemd package"
    unit = UNITS / unit_name
    analyzed = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    complaints = [line for line in analyzed.stderr.splitlines() if line.strip()]
    assert complaints == [], "systemd ignored or refused part of the unit"
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", analyzed.stdout)
    assert score is not None, analyzed.stdout
    assert float(score.group(1)) <= 3.0, analyzed.stdout


def _directives(unit_name: str) -> list[tuple[str, str]]:
    """(key, value) of every directive of the unit's [Service] section, in order."""
    found, section = [], ""
    for line in (UNITS / unit_name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif line and not line.startswith("#") and section == "[Service]":
            key, _, value = line.partition("=")
            found.append((key, value))
    return found


def test_the_deliverer_unit_has_every_sandbox_setting_of_the_workers() -> None:
    worker = _directives("touchpoint-sentinel.service")
    sandbox = worker[[key for key, _ in worker].index("UMask") :]
    deliverer = _directives("touchpoint-sentinel-deliver.service")
    assert [directive for directive in deliverer if directive in sandbox] == sandbox
    assert dict(deliverer)["User"] == dict(worker)["User"]
    assert "StateDirectory" not in dict(deliverer), "the deliverer keeps its state in Kafka"


def test_the_deliverer_unit_runs_alertmanager_delivery_with_the_workers_settings() -> None:
    deliverer, worker = (
        dict(_directives("touchpoint-sentinel-deliver.service")),
        dict(_directives("touchpoint-sentinel.service")),
    )
    program, *argv = shlex.split(deliverer["ExecStart"])
    assert program == shlex.split(worker["ExecStart"])[0]
    args = build_parser().parse_args(argv)
    assert (args.command, args.target, args.url) == ("deliver", "alertmanager", "http://127.0.0.1:9093")
    assert args.settings == shlex.split(worker["ExecStart"])[-1]
    assert deliverer["EnvironmentFile"] == worker["EnvironmentFile"]
    assert deliverer["KillSignal"] == "SIGTERM"
    assert float(deliverer["TimeoutStopSec"]) >= STOP_GRACE + 3 * STOP_TIMEOUT
