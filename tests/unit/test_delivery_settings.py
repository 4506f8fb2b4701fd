"""`sentinel deliver`'s settings, command line and metrics, without a broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from schemas.errors import ConfigError
from schemas.timestamps import MINUTE, SECOND
from streams.broker import free_port
from streams.delivery.metrics import FAILURES, KINDS, SKIPS, DeliveryMetrics
from streams.settings import Settings
from streams.worker import worker_environment

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_delivery_defaults_and_environment() -> None:
    settings = Settings()
    assert (settings.resend_interval, settings.delivery_timeout) == (1 * MINUTE, 10 * SECOND)
    assert (settings.deliver_metrics_port, settings.alerts_dead_letter_topic) == (9109, "alerts-dead-letter")
    assert (settings.webhook_attempts, settings.webhook_backoff, settings.webhook_secret) == (8, SECOND, "")
    loaded = Settings.load(
        env={
            "SENTINEL_RESEND_INTERVAL": "15s",
            "SENTINEL_WEBHOOK_SECRET": "s",
            "SENTINEL_WEBHOOK_ATTEMPTS": "3",
        }
    )
    assert (loaded.resend_interval, loaded.webhook_secret, loaded.webhook_attempts) == (15 * SECOND, "s", 3)
    assert Settings.load(env=worker_environment(loaded, base={})) == loaded


def test_the_example_settings_file_spells_out_every_delivery_key() -> None:
    text = (DEPLOY / "sentinel.toml").read_text(encoding="utf-8")
    for key in (
        "alerts_dead_letter_topic",
        "deliver_metrics_port",
        "resend_interval",
        "delivery_timeout",
        "customer_view_url",
        "webhook_attempts",
        "webhook_backoff",
    ):
        assert f"\n{key} = " in text, key
    assert "\nwebhook_secret" not in text and "SENTINEL_WEBHOOK_SECRET" in text


def test_the_webhook_secret_is_never_shown(tmp_path: Path) -> None:
    secret = "hunter2-but-longer"
    assert secret not in repr(Settings(webhook_secret=secret))
    file = tmp_path / "sentinel.toml"
    file.write_text("[sentinel]\nwebhook_secret = 12345678\n")
    with pytest.raises(ConfigError) as raised:
        Settings.load(file, env={})
    assert str(raised.value) == f"{file}: sentinel.webhook_secret must be a string"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"resend_interval": "0s"}, "resend_interval must be more than 0"),
        ({"webhook_attempts": "0"}, "webhook_attempts must be more than 0"),
        ({"delivery_timeout": "0ms"}, "delivery_timeout must be more than 0"),
        (
            {"customer_view_url": "sentinel:9108/customers/"},
            "customer_view_url must be an http:// or https:// URL",
        ),
    ],
)
def test_delivery_settings_that_cannot_work_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_values({key: ("test", value) for key, value in values.items()})


def sentinel(*args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_a_webhook_without_secret_is_refused_before_anything_connects() -> None:
    done = sentinel("deliver", "webhook", "--url", "https://crm.example/hook")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "sentinel deliver: webhook_secret must be set to sign webhook deliveries (SENTINEL_WEBHOOK_SECRET)"
    ]


@pytest.mark.parametrize("url", ["alertmanager:9093", "ftp://alertmanager:9093", "http://"])
def test_a_url_that_is_no_http_url_is_refused(url: str) -> None:
    done = sentinel("deliver", "alertmanager", "--url", url)
    assert done.returncode == 2
    (line,) = done.stderr.decode().splitlines()
    assert line.startswith("sentinel deliver: --url must be an http:// or https:// URL with a host")


def test_credentials_in_the_url_are_not_repeated() -> None:
    done = sentinel("deliver", "alertmanager", "--url", "ftp://user:pa55word@host/x?token=t0ken")
    assert done.returncode == 2
    assert b"pa55word" not in done.stderr and b"t0ken" not in done.stderr


def test_deliver_lists_its_targets_and_needs_one() -> None:
    listed = sentinel("deliver", "--help")
    assert listed.returncode == 0
    assert b"alertmanager" in listed.stdout and b"webhook" in listed.stdout
    assert sentinel("deliver").returncode == 2
    assert sentinel("deliver", "alertmanager").returncode == 2, "--url is required"


def test_an_unreachable_broker_stops_the_deliverer_with_exit_code_3() -> None:
    port = free_port()
    done = sentinel(
        "deliver",
        "alertmanager",
        "--url",
        "http://127.0.0.1:9093",
        SENTINEL_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
        SENTINEL_BROKER_WAIT="0s",
    )
    assert done.returncode == 3
    assert done.stderr.decode().splitlines() == [
        f"sentinel deliver: broker unreachable: 127.0.0.1:{port} refused the connection"
    ]


@pytest.mark.parametrize("target", ["alertmanager", "webhook"])
def test_metrics_start_at_zero_on_their_own_registry_and_carry_the_target(target: str) -> None:
    registry = CollectorRegistry()
    DeliveryMetrics.create(registry, target)
    sample = registry.get_sample_value
    for kind in KINDS:
        assert sample("sentinel_deliver_delivered_total", {"target": target, "kind": kind}) == 0
    for reason in FAILURES:
        assert sample("sentinel_deliver_failed_total", {"target": target, "reason": reason}) == 0
    for reason in SKIPS:
        assert sample("sentinel_deliver_skipped_total", {"target": target, "reason": reason}) == 0
    for name in (
        "sentinel_deliver_retried_total",
        "sentinel_deliver_reposted_total",
        "sentinel_deliver_open_episodes",
    ):
        assert sample(name, {"target": target}) == 0
    assert sample("sentinel_deliver_latency_seconds_count", {"target": target}) == 0
    exposition = generate_latest(registry).decode()
    assert "sentinel_build_info{" in exposition and "process_cpu_seconds_total" in exposition
    assert "customer" not in exposition
    DeliveryMetrics.create(CollectorRegistry(), target)  # a second registry: no "Duplicated timeseries"


def test_an_unknown_target_has_no_metrics() -> None:
    with pytest.raises(ValueError, match="unknown delivery target"):
        DeliveryMetrics.create(CollectorRegistry(), "pager")
