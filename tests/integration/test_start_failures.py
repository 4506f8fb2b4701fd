"""A worker that cannot start says why in one line, with the documented exit code, before Faust runs."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

from streams.broker import create_topics
from streams.settings import Settings
from streams.worker import worker_environment

from .conftest import UniqueName
from .pipeline import worker_settings


def start_worker(settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=worker_environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_metrics_port_in_use_is_exit_code_7(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path)
    with socket.socket() as taken:
        taken.bind((settings.metrics_host, settings.metrics_port))
        taken.listen()
        done = start_worker(settings)

    assert done.returncode == 7
    assert done.stderr.splitlines() == [
        f"sentinel worker: metrics port {settings.metrics_host}:{settings.metrics_port} is already in use "
        "(set metrics_port; 0 turns the endpoint off)"
    ]


def test_a_topic_with_other_partitions_is_exit_code_8(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path)
    asyncio.run(create_topics(bootstrap_servers, {settings.alerts_topic: 2}))

    done = start_worker(settings)

    assert done.returncode == 8
    assert done.stderr.splitlines() == [
        f"sentinel worker: topic '{settings.alerts_topic}' exists with 2 partitions, 4 wanted"
    ]
