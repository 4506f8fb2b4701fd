"""Live operation: a silent customer is noticed by the wall clock, and `sentinel tail` shows it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from schemas.events import Touchpoint, encode_event
from schemas.timestamps import HOUR, SECOND, format_instant
from streams.clients import produce_lines
from streams.worker import WorkerProcess, worker_environment

from .conftest import UniqueName
from .pipeline import worker_settings


def test_an_idle_partition_follows_the_wall_clock_and_tail_shows_the_alert(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path).replace(
        idle_advance=True, idle_after=1 * SECOND, tick_interval=300
    )
    now = time.time_ns() // 1_000_000
    lead = Touchpoint("lead-1", "crm", "lead.created", "C-silent", now - 49 * HOUR, {"owner": "R-1"})

    with WorkerProcess(settings, tmp_path / "worker.log"):
        asyncio.run(produce_lines(settings, [encode_event(lead)]))
        tail = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.cli",
                "tail",
                "--from-beginning",
                "--max",
                "1",
                "--idle-timeout",
                "30",
            ],
            env=worker_environment(settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert tail.returncode == 0, tail.stderr
    line = tail.stdout.strip()
    assert line.startswith(format_instant(lead.time + 48 * HOUR)), line
    assert "FIRED" in line
    assert "lead_not_followed_up" in line
    assert "C-silent" in line
