"""Helpers for the delivery tests: `sentinel deliver` in a child process, Debian's Alertmanager,
what a consumer group committed, and the alerts of a history."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas import codec
from schemas.alerts import parse_alert
from streams.broker import end_offsets, free_port
from streams.delivery.run import group_id
from streams.kafka import aiokafka_options
from streams.settings import Settings
from streams.subprocesses import stop_process
from streams.worker import worker_environment


def wait_for(condition: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    """Poll until `condition` holds; `what` (or what it returns, then) explains a time-out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:.0f} s waiting for {what if isinstance(what, str) else what()}"
            )
        time.sleep(0.2)


class DeliverProcess:
    """`sentinel deliver TARGET --url URL` in a child process, with the settings as SENTINEL_* variables."""

    def __init__(self, settings: Settings, target: str, url: str, log_path: Path, *extra: str) -> None:
        self.settings = settings
        self.arguments = ["deliver", target, "--url", url, "--loglevel", "info", *extra]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.metrics_host}:{self.settings.deliver_metrics_port}/metrics"

    def start(self, ready_timeout: float = 30.0) -> Self:
        """Start, and return once the metrics endpoint answers (the topics are declared)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", *self.arguments],
                env=worker_environment(self.settings),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._answers, ready_timeout, lambda: f"the deliverer's metrics; see {self.log_path}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log_path.read_text()
        try:
            self.scrape()
        except OSError:
            return False
        return True

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            text: str = response.read().decode()
        return text

    def answer(self, path: str) -> tuple[int, Any]:
        """Status and JSON body of the deliverer's answer to GET `path` (/healthz, /readyz)."""
        url = f"http://{self.settings.metrics_host}:{self.settings.deliver_metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    def sample(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples that carry `labels`."""
        wanted = [f'{key}="{value}"' for key, value in labels.items()]
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in self.scrape().splitlines()
            if line.startswith(name + "{") and all(label in line for label in wanted)
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a supervisor stops it; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        stop_process(self.process, 30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Alertmanager:
    """Debian's prometheus-alertmanager on a loopback port, its data in a temporary directory, no cluster."""

    def __init__(self, directory: Path, config: dict[str, Any]) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config_file = directory / "alertmanager.yml"
        self.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = directory / "alertmanager.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Self:
        binary = shutil.which("prometheus-alertmanager")
        assert binary is not None, "prometheus-alertmanager missing: `make tools` installs Debian's package"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config_file}",
                    f"--storage.path={self.directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, timeout, f"alertmanager ready; see {self.log_path}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log_path.read_text()
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def alerts(self) -> list[dict[str, Any]]:
        """What /api/v2/alerts lists: every alert not resolved (endsAt ahead of Alertmanager's clock)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            found: list[dict[str, Any]] = json.loads(response.read())
        return found

    def post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def received(self, status: str) -> float:
        """alertmanager_alerts_received_total{status=...}: alerts posted to it, counted on arrival."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            text = response.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("alertmanager_alerts_received_total{") and f'status="{status}"' in line
        )

    def stop(self) -> None:
        stop_process(self.process, 20)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def committed_offsets(settings: Settings, target: str) -> dict[int, int]:
    """Partition → offset the deliverer's consumer group committed on the alert topic (0: none yet).

    Read with a consumer of the group that never joins it (aiokafka's admin client cannot
    read Tansu's OffsetFetch answer)."""
    consumer = AIOKafkaConsumer(
        group_id=group_id(settings, target), enable_auto_commit=False, **aiokafka_options(settings)
    )
    await consumer.start()
    try:
        return {
            partition: await consumer.committed(TopicPartition(settings.alerts_topic, partition)) or 0
            for partition in range(settings.partitions)
        }
    finally:
        await consumer.stop()


async def alert_end_offsets(settings: Settings) -> dict[int, int]:
    tps = [TopicPartition(settings.alerts_topic, partition) for partition in range(settings.partitions)]
    return {tp.partition: offset for tp, offset in (await end_offsets(settings, tps)).items()}


async def produce_alerts(settings: Settings, alerts: Iterable[bytes]) -> None:
    """Alerts onto the alert topic as the worker writes them: keyed by customer."""
    producer = AIOKafkaProducer(linger_ms=5, **aiokafka_options(settings))
    await producer.start()
    try:
        for alert in alerts:
            await producer.send(settings.alerts_topic, alert, key=codec.loads(alert)["subject"].encode())
        await producer.flush()
    finally:
        await producer.stop()


def open_episodes(alerts: Iterable[bytes]) -> set[str]:
    """Alert ids of the episodes fired and not resolved (notices are no episodes: they never resolve)."""
    parsed = [parse_alert(alert) for alert in alerts]
    fired = {alert.alert_id for alert in parsed if alert.fired and not alert.notice}
    return fired - {alert.alert_id for alert in parsed if alert.resolved}
