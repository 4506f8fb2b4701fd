"""deploy/compose.yaml: valid Compose, and every service wired to the files and ports the others expect.

No container runs here, so the stack is checked piece by piece: the file
against the Compose Specification's JSON Schema (tests/unit/data/README.md says
where the copy comes from), the mounted Prometheus and Alertmanager files laid
out as the containers see them and checked by promtool and amtool, the worker's
environment loaded as its settings.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_SPEC = Path(__file__).parent / "data" / "compose-spec.json"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _mounts(service: str) -> dict[str, Path]:
    """Container path -> file on this machine, for the service's bind mounts."""
    mounts = {}
    for volume in _services()[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            mounts[target] = (DEPLOY / source).resolve()
    return mounts


def _laid_out(service: str, root: Path) -> Path:
    """The service's bind-mounted files copied under `root` at their container paths."""
    for target, source in _mounts(service).items():
        destination = root / target.lstrip("/")
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, destination)
    return root


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} missing: `make tools` installs Debian's {package} package"
    return path


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SPEC.read_text(encoding="utf-8")))
    errors = [f"{error.json_path}: {error.message}" for error in validator.iter_errors(_compose())]
    assert errors == []


def test_the_schema_refuses_what_compose_would_refuse() -> None:
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SPEC.read_text(encoding="utf-8")))
    broken = _compose()
    broken["services"]["worker"]["healtcheck"] = broken["services"]["worker"].pop("healthcheck")
    assert not validator.is_valid(broken)


def test_bind_mounts_and_build_context_exist() -> None:
    for service in _services():
        for source in _mounts(service).values():
            assert source.exists(), (service, source)
    build = _services()["worker"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"


def test_kafka_runs_in_kraft_mode_and_the_topics_are_created_for_the_worker() -> None:
    services = _services()
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in key for key in kafka["environment"])

    creation = services["kafka-topics"]
    script = creation["command"][0]
    worker_env = services["worker"]["environment"]
    settings = Settings.load(env=worker_env)
    (topics,) = re.findall(r"for topic in ([^;]+);", script)
    assert set(topics.split()) == {
        settings.touchpoints_topic,
        settings.alerts_topic,
        settings.dead_letter_topic,
    }
    assert f"--partitions {settings.partitions} " in script
    assert services["worker"]["depends_on"]["kafka-topics"] == {"condition": "service_completed_successfully"}
    bootstrap = settings.bootstrap_servers
    assert f"INTERNAL://{bootstrap}" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]


def test_worker_and_delivery_run_this_release_with_the_documented_commands() -> None:
    services = _services()
    version = metadata.version("touchpoint-sentinel")
    worker, deliver = services["worker"], services["deliver"]
    assert worker["image"] == deliver["image"] == f"touchpoint-sentinel:{version}"
    assert worker["command"][0] == "worker"
    command = deliver["command"]
    assert command[:3] == ["deliver", "alertmanager", "--url"] and len(command) == 4
    alertmanager = urlsplit(command[3])
    assert (alertmanager.hostname, alertmanager.port) == ("alertmanager", 9093)
    assert "alertmanager" in deliver["depends_on"]
    for service in (worker, deliver):
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]


def test_worker_health_check_asks_the_readiness_endpoint() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    test = _services()["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[2] in dockerfile, "the image's health check script"
    assert test[3] == "/readyz"


def test_prometheus_in_the_stack_loads_its_config_and_rules_as_mounted(tmp_path: Path) -> None:
    root = _laid_out("prometheus", tmp_path)
    config_file = root / "etc" / "prometheus" / "prometheus.yml"
    checked = subprocess.run(
        [_tool("promtool", "prometheus"), "check", "config", str(config_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout

    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    settings = Settings.load(env=_services()["worker"]["environment"])
    delivering = Settings.load(env=_services()["deliver"]["environment"])
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert jobs == {
        "touchpoint-sentinel": [f"worker:{settings.metrics_port}"],  # the rules select this job
        "touchpoint-sentinel-deliver": [f"deliver:{delivering.deliver_metrics_port}"],
    }
    managers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert managers == ["alertmanager:9093"]


def _alertmanager_config(root: Path) -> Path:
    return _laid_out("alertmanager", root) / "etc" / "alertmanager" / "alertmanager.yml"


def _receivers(config_file: Path, *labels: str) -> list[str]:
    """Where Alertmanager, with this config, sends an alert with these labels."""
    amtool = _tool("amtool", "prometheus-alertmanager")
    routed = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config_file}", *labels],
        capture_output=True,
        text=True,
        check=False,
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr
    return routed.stdout.split()


def test_alertmanager_in_the_stack_accepts_its_config_as_mounted(tmp_path: Path) -> None:
    checked = subprocess.run(
        [_tool("amtool", "prometheus-alertmanager"), "check-config", str(_alertmanager_config(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=SentinelWorkerDown", "severity=critical"], "sre"),
        (["alertname=SentinelPartitionStuck"], "sre"),
        (["alertname=lead_not_followed_up"], "crm-teams"),
        (["pattern=endless_case", "severity=warning"], "crm-teams"),
    ],
)
def test_alertmanager_routes_sre_alerts_apart_from_customer_alerts(
    tmp_path: Path, labels: list[str], receiver: str
) -> None:
    assert _receivers(_alertmanager_config(tmp_path), *labels) == [receiver]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    mounts = _mounts("grafana")
    dashboards = {target: source for target, source in mounts.items() if target.endswith(".json")}
    assert list(dashboards.values()) == [DEPLOY / "grafana" / "sentinel-dashboard.json"]
    (dashboard_target,) = dashboards

    providers_dir = mounts["/etc/grafana/provisioning/dashboards"]
    (provider_file,) = providers_dir.glob("*.yaml")
    (provider,) = yaml.safe_load(provider_file.read_text(encoding="utf-8"))["providers"]
    assert provider["options"]["path"] == str(Path(dashboard_target).parent)

    sources_dir = mounts["/etc/grafana/provisioning/datasources"]
    (source_file,) = sources_dir.glob("*.yaml")
    (datasource,) = yaml.safe_load(source_file.read_text(encoding="utf-8"))["datasources"]
    assert datasource["type"] == "prometheus" and datasource["isDefault"] is True
    prometheus_port = _services()["prometheus"]["ports"][0].rsplit(":", 1)[1]
    assert datasource["url"] == f"http://prometheus:{prometheus_port}"
