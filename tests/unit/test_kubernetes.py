"""The Kubernetes manifests are valid API objects, wired together: service, budget, probes, sandbox;
for the workers (StatefulSet) and for `sentinel deliver alertmanager` (Deployment)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from streams.delivery.run import STOP_GRACE
from streams.kafka import STOP_TIMEOUT
from streams.settings import Settings

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "touchpoint-sentinel.yaml"
# An older release clusters that upgrade slowly still run, and the newest schema kubernetes-validate has.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def _resources() -> dict[str, dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if doc]
    return {doc["kind"]: doc for doc in documents}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kind", ["ConfigMap", "Service", "PodDisruptionBudget", "StatefulSet", "Deployment"])
def test_manifest_validates_strictly_against_the_api_schema(kind: str, version: str) -> None:
    resource = _resources()[kind]
    assert kubernetes_validate.validate(resource, version, strict=True) == version.rsplit(".", 1)[0]


def test_strict_validation_refuses_a_misspelt_field() -> None:
    workers = _resources()["StatefulSet"]
    workers["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="readOnlyRootFileSystem"):
        kubernetes_validate.validate(workers, KUBERNETES_VERSIONS[-1], strict=True)


def test_headless_service_and_disruption_budget_select_the_workers() -> None:
    resources = _resources()
    workers, service, budget = (
        resources["StatefulSet"],
        resources["Service"],
        resources["PodDisruptionBudget"],
    )
    pod_labels = workers["spec"]["template"]["metadata"]["labels"]
    assert workers["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert workers["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1


def test_the_manifest_holds_the_workers_and_the_deliverer() -> None:
    assert sorted(_resources()) == [
        "ConfigMap",
        "Deployment",
        "PodDisruptionBudget",
        "Service",
        "StatefulSet",
    ]


@pytest.mark.parametrize(
    ("kind", "writable"), [("StatefulSet", {"/var/lib/sentinel", "/tmp"}), ("Deployment", {"/tmp"})]
)
def test_pods_run_unprivileged_on_a_read_only_root(kind: str, writable: set[str]) -> None:
    pod = _resources()[kind]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        mounted = {mount["mountPath"] for mount in container["volumeMounts"] if not mount.get("readOnly")}
        assert mounted == writable


def test_probes_use_the_workers_health_endpoints_on_its_metrics_port() -> None:
    resources = _resources()
    container = resources["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
    settings = tomllib.loads(resources["ConfigMap"]["data"]["sentinel.toml"])["sentinel"]
    (port,) = container["ports"]
    assert port == {"name": "metrics", "containerPort": settings["metrics_port"]}
    assert settings["metrics_host"] == "0.0.0.0"
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "room for state recovery"


def test_resources_are_bounded_and_the_settings_load(tmp_path: Path) -> None:
    resources = _resources()
    workers = resources["StatefulSet"]
    container = workers["spec"]["template"]["spec"]["containers"][0]
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    settings_file = tmp_path / "sentinel.toml"
    settings_file.write_text(resources["ConfigMap"]["data"]["sentinel.toml"], encoding="utf-8")
    settings = Settings.load(settings_file, env={})
    assert workers["spec"]["replicas"] <= settings.partitions, "a worker beyond the partitions idles"
    assert container["args"][:3] == ["worker", "--settings", str(Path("/etc/sentinel") / settings_file.name)]


@pytest.mark.parametrize("kind", ["StatefulSet", "Deployment"])
def test_image_is_this_release(kind: str) -> None:
    container = _resources()[kind]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(f"/touchpoint-sentinel:{metadata.version('touchpoint-sentinel')}")


def _deliverer() -> dict[str, Any]:
    container: dict[str, Any] = _resources()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_deliverer_runs_alertmanager_delivery_with_the_workers_settings(tmp_path: Path) -> None:
    resources = _resources()
    deliverer, workers = resources["Deployment"], resources["StatefulSet"]
    container = _deliverer()
    assert container["image"] == workers["spec"]["template"]["spec"]["containers"][0]["image"]
    args = container["args"]
    assert args[:3] == ["deliver", "alertmanager", "--url"]
    alertmanager = urlsplit(args[3])
    assert alertmanager.scheme == "http" and alertmanager.hostname and alertmanager.port == 9093
    assert args[4:] == ["--settings", "/etc/sentinel/sentinel.toml"]
    (config,) = [
        volume for volume in deliverer["spec"]["template"]["spec"]["volumes"] if volume["name"] == "config"
    ]
    assert {"configMap": {"name": resources["ConfigMap"]["metadata"]["name"]}} in config["projected"][
        "sources"
    ]
    assert {"name": "config", "mountPath": "/etc/sentinel", "readOnly": True} in container["volumeMounts"]
    assert {env["name"] for env in container["env"]} == {"SENTINEL_SASL_PASSWORD"}
    settings_file = tmp_path / "sentinel.toml"
    settings_file.write_text(resources["ConfigMap"]["data"]["sentinel.toml"], encoding="utf-8")
    settings = Settings.load(settings_file, env={"SENTINEL_SASL_PASSWORD": "from-a-secret"})
    assert deliverer["spec"]["replicas"] <= settings.partitions, "a deliverer beyond the partitions idles"
    assert (
        deliverer["spec"]["selector"]["matchLabels"].items()
        <= deliverer["spec"]["template"]["metadata"]["labels"].items()
    )
    assert (
        not deliverer["spec"]["selector"]["matchLabels"].items()
        <= workers["spec"]["template"]["metadata"]["labels"].items()
    )


def test_the_deliverers_probes_and_metrics_are_its_endpoint_on_deliver_metrics_port() -> None:
    resources = _resources()
    container = _deliverer()
    template = resources["Deployment"]["spec"]["template"]
    settings = tomllib.loads(resources["ConfigMap"]["data"]["sentinel.toml"])["sentinel"]
    (port,) = container["ports"]
    assert port == {"name": "metrics", "containerPort": settings["deliver_metrics_port"]}
    assert port["containerPort"] != settings["metrics_port"]
    assert template["metadata"]["annotations"]["prometheus.io/port"] == str(settings["deliver_metrics_port"])
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    startup = container["startupProbe"]
    broker_wait = Settings().broker_wait / 1000
    assert startup["periodSeconds"] * startup["failureThreshold"] > broker_wait, (
        "the endpoint opens after the broker"
    )
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    grace = template["spec"]["terminationGracePeriodSeconds"]
    assert grace >= STOP_GRACE + 3 * STOP_TIMEOUT, "the round under way, then consumer, producer, session"
