"""The files in deploy/ are what the code accepts, and Prometheus accepts the SRE rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agents.config import Config, load_config
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
