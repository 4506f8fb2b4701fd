"""Ingest and detection in processes of their own give exactly the alerts of replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemas.timestamps import MINUTE
from streams.broker import free_port
from streams.clients import produce_lines
from streams.verify import closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .pipeline import history_lines, produce_closing, read_topic, worker_settings


def test_an_ingest_process_and_a_detect_process_equal_replay(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    detect = worker_settings(bootstrap_servers, unique_name, tmp_path / "detect").replace(role="detect")
    ingest = detect.replace(role="ingest", data_dir=str(tmp_path / "ingest"), metrics_port=free_port())
    lines, last_time = history_lines(150, seed=47)
    closing = closing_events(last_time + 5 * MINUTE, detect.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)

    with (
        WorkerProcess(detect, tmp_path / "detect.log") as detector,
        WorkerProcess(ingest, tmp_path / "ingest.log") as ingester,
    ):
        asyncio.run(produce_lines(ingest, lines))
        asyncio.run(produce_closing(ingest, closing))
        alerts = asyncio.run(read_topic(ingest, ingest.alerts_topic, at_least=len(expected)))
        detecting, ingesting = detector.scrape(), ingester.scrape()

    assert comparable((record.value for record in alerts), lines, last_time) == expected
    assert 'sentinel_role_info{role="detect"} 1.0' in detecting
    assert 'sentinel_role_info{role="ingest"} 1.0' in ingesting
    accepted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in ingesting.splitlines()
        if line.startswith("sentinel_events_total{")
    )
    assert accepted == len(lines) + len(closing)
    assert "sentinel_events_total{" in detecting
    assert not any(
        line.startswith("sentinel_events_total{") and not line.endswith(" 0.0")
        for line in detecting.splitlines()
    )
    assert "sentinel_partitions_owned 4.0" in detecting
