"""A broker away or stalled holds the worker; it never ends it, nor keeps it from stopping.

Each test runs a broker of its own, since it pauses or delays it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

from schemas.timestamps import MINUTE
from streams.broker import EmbeddedBroker, free_port
from streams.clients import produce_lines
from streams.verify import closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .pipeline import history_lines, produce_closing, read_topic, worker_settings


def test_a_worker_started_while_the_broker_is_away_waits_for_it(
    unique_name: UniqueName, tmp_path: Path
) -> None:
    port = free_port()
    broker = EmbeddedBroker(port)
    settings = worker_settings(f"127.0.0.1:{port}", unique_name, tmp_path)
    lines, last_time = history_lines(60, seed=29)
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)

    late_start = threading.Timer(12.0, broker.start)
    late_start.start()
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.start(ready_timeout=90)
        asyncio.run(produce_lines(settings, lines))
        asyncio.run(produce_closing(settings, closing))
        alerts = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))
        assert worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()
        late_start.join()
        broker.stop()
    assert comparable((record.value for record in alerts), lines, last_time) == expected
    log = (tmp_path / "worker.log").read_text()
    assert "reaching the broker" in log and "Traceback" not in log


def test_a_stalled_broker_holds_the_worker_and_loses_nothing(unique_name: UniqueName, tmp_path: Path) -> None:
    with EmbeddedBroker() as broker:
        assert broker.pid is not None
        settings = worker_settings(broker.bootstrap_servers, unique_name, tmp_path)
        lines, last_time = history_lines(400, seed=31)
        closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
        expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)
        with WorkerProcess(settings, tmp_path / "worker.log") as worker:
            asyncio.run(produce_lines(settings, lines))
            os.kill(broker.pid, signal.SIGSTOP)
            time.sleep(20)
            os.kill(broker.pid, signal.SIGCONT)
            asyncio.run(produce_closing(settings, closing))
            alerts = asyncio.run(
                read_topic(settings, settings.alerts_topic, at_least=len(expected), wait=120)
            )
            assert worker.process is not None and worker.process.poll() is None
    assert set(comparable((record.value for record in alerts), lines, last_time)) == set(expected)


def test_sigterm_during_an_outage_stops_the_worker_within_30_seconds(
    unique_name: UniqueName, tmp_path: Path
) -> None:
    with EmbeddedBroker() as broker:
        assert broker.pid is not None
        settings = worker_settings(broker.bootstrap_servers, unique_name, tmp_path)
        lines, _ = history_lines(100, seed=37)
        worker = WorkerProcess(settings, tmp_path / "worker.log").start()
        try:
            asyncio.run(produce_lines(settings, lines))
            os.kill(broker.pid, signal.SIGSTOP)
            time.sleep(3)
            assert worker.process is not None
            started = time.monotonic()
            worker.process.send_signal(signal.SIGTERM)
            worker.process.wait(60)
            took = time.monotonic() - started
        finally:
            os.kill(broker.pid, signal.SIGCONT)
            worker.stop()
    assert took < 30, f"the worker took {took:.0f} s to stop"
