"""The Kubernetes manifests are valid API objects, wired together: service, budget, probes, sandbox."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streams.settings import Settings

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "touchpoint-sentinel.yaml"
# An older release clusters that upgrade slowly still run, and the newest schema kubernetes-validate has.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def _resources() -> dict[str, dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if doc]
    return {doc["kind"]: doc for doc in documents}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kind", ["ConfigMap", "Service", "PodDisruptionBudget", "StatefulSet"])
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


def test_workers_run_unprivileged_on_a_read_only_root() -> None:
    pod = _resources()["StatefulSet"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        writable = {mount["mountPath"] for mount in container["volumeMounts"] if not mount.get("readOnly")}
        assert writable == {"/var/lib/sentinel", "/tmp"}


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


def test_image_is_this_release() -> None:
    container = _resources()["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(f"/touchpoint-sentinel:{metadata.version('touchpoint-sentinel')}")
