"""The worker's HTTP endpoint: health, readiness, and a customer view any worker answers for any customer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from schemas import codec
from schemas.batches import partition_for
from schemas.timestamps import MINUTE
from streams.broker import EmbeddedBroker, free_port
from streams.clients import produce_lines
from streams.metrics import AlertLabels
from streams.settings import Settings
from streams.verify import closing_events, expected_alerts
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .pipeline import history_lines, produce_closing, read_topic, worker_settings


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=15) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def base(worker: WorkerProcess) -> str:
    return f"http://{worker.settings.metrics_host}:{worker.settings.metrics_port}"


def wait_until_ready(worker: WorkerProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get(base(worker) + "/readyz")[0] == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"not ready: {get(base(worker) + '/readyz')}")


def owned(worker: WorkerProcess) -> set[int]:
    return {
        int(line.split('partition="')[1].split('"')[0])
        for line in worker.scrape().splitlines()
        if line.startswith("sentinel_watermark_seconds{")
    }


def test_any_worker_answers_for_any_customer(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    first = worker_settings(bootstrap_servers, unique_name, tmp_path / "a")
    second = first.replace(data_dir=str(tmp_path / "b"), metrics_port=free_port())
    lines, last_time = history_lines(120, seed=43)
    closing = closing_events(last_time + 5 * MINUTE, first.partitions)
    every_line = [*lines, *(value for _, value in closing)]
    expected = expected_alerts(every_line, last_time)

    with WorkerProcess(first, tmp_path / "a.log") as a, WorkerProcess(second, tmp_path / "b.log") as b:
        asyncio.run(produce_lines(first, lines))
        asyncio.run(produce_closing(first, closing))
        asyncio.run(read_topic(first, first.alerts_topic, at_least=len(expected)))
        wait_until_ready(a)
        wait_until_ready(b)
        partitions_of = {"a": owned(a), "b": owned(b)}
        assert partitions_of["a"] and partitions_of["b"], partitions_of
        assert partitions_of["a"].isdisjoint(partitions_of["b"])

        open_episodes = _left_open(expected)
        customers = sorted({codec.loads(line)["subject"] for line in lines})
        checked = defaultdict(int)
        for subject in customers[:40]:
            owner = "a" if partition_for(subject, first.partitions) in partitions_of["a"] else "b"
            answers = [get(f"{base(worker)}/customers/{subject}") for worker in (a, b)]
            assert answers[0] == answers[1], subject
            status, view = answers[0]
            erased = any(b'"customer.erased"' in line and subject.encode() in line for line in lines)
            if erased:
                assert status == 404
                continue
            assert status == 200, (subject, view)
            assert {episode["alert_id"] for episode in view["open_episodes"]} == open_episodes[subject]
            checked[owner] += 1
        assert checked["a"] > 3 and checked["b"] > 3, checked

        assert get(base(a) + "/healthz") == (200, {"status": "alive"})
        assert get(base(a) + "/no/such/path")[0] == 404
        assert get(base(a) + "/customers/nobody-we-know")[0] == 404
        shown = subprocess.run(
            [sys.executable, "-m", "streams.cli", "customer", customers[0], "--worker", base(b)],
            capture_output=True,
            check=True,
        )
        assert json.loads(shown.stdout)["customer"] == customers[0]


def _left_open(alerts: list[bytes]) -> dict[str, set[str]]:
    """Episodes fired and not resolved, per customer (notices never count as open)."""
    episodes = {pattern for pattern, _ in AlertLabels.published().resolved}
    left: dict[str, set[str]] = defaultdict(set)
    resolved = {codec.loads(alert)["data"]["alert_id"] for alert in alerts if b'"alert.resolved"' in alert}
    for alert in map(codec.loads, alerts):
        data = alert["data"]
        if (
            alert["type"] == "alert.fired"
            and data["pattern"] in episodes
            and data["alert_id"] not in resolved
        ):
            left[alert["subject"]].add(data["alert_id"])
    return left


def test_a_worker_whose_broker_stalls_is_not_ready_and_says_why(
    unique_name: UniqueName, tmp_path: Path
) -> None:
    with EmbeddedBroker() as broker:
        assert broker.pid is not None
        settings: Settings = worker_settings(broker.bootstrap_servers, unique_name, tmp_path)
        with WorkerProcess(settings, tmp_path / "worker.log") as worker:
            wait_until_ready(worker)
            os.kill(broker.pid, signal.SIGSTOP)
            try:
                time.sleep(13)
                status, body = get(base(worker) + "/readyz")
                alive = get(base(worker) + "/healthz")[0]
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            wait_until_ready(worker)
    assert alive == 200
    assert status == 503 and not body["ready"]
    assert any("no acknowledgement from the broker" in reason for reason in body["reasons"]), body
