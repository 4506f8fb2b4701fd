"""Snoozes, business hours, segments, transactional sends and holdouts, live: exactly what replay gives."""

from __future__ import annotations

import asyncio
import random
import tomllib
from pathlib import Path

from agents.config import Config
from schemas import codec
from schemas.events import encode_event
from schemas.timestamps import MINUTE
from streams.clients import produce_lines
from streams.verify import closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess

from ..unit.dense_history import dense_history
from .conftest import UniqueName
from .pipeline import produce_closing, read_topic, worker_settings

THRESHOLDS = """
[calendar]
timezone = "Europe/Berlin"
holidays = ["2026-04-03", "2026-12-25"]

[calendar.hours]
mon = "08:00-18:00"
tue = "08:00-18:00"
wed = "08:00-18:00"
thu = "08:00-18:00"
fri = "08:00-16:00"

[patterns.lead_not_followed_up]
within = "16h"
clock = "business"

[patterns.complaint_unanswered]
clock = "business"

[segments.key_account.patterns.post_sale_abandonment]
within = "3d"
[segments.key_account.patterns.wrong_channel]
enabled = false

[holdout]
share = 0.3
salt = "online"
"""


def test_all_five_additions_in_use_online_equal_replay(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text(THRESHOLDS)
    config = Config.from_mapping(tomllib.loads(THRESHOLDS))
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path).replace(
        thresholds_file=str(thresholds), reject_future_events=False
    )
    events = dense_history(random.Random(5).choice, customers=120, events_per_customer=30, actions=True)
    lines = [encode_event(event) for event in events]
    last_time = events[-1].time
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time, config)
    data = [codec.loads(alert)["data"] for alert in expected]
    assert len(expected) > 1000
    assert any(item["segment"] == "key_account" for item in data)
    assert any(item["holdout"] for item in data) and not all(item["holdout"] for item in data)
    assert any(item.get("evidence", {}).get("clock") == "business" for item in data)

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        asyncio.run(produce_lines(settings, lines))
        asyncio.run(produce_closing(settings, closing))
        alerts = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))
        metrics = worker.scrape()

    assert comparable((record.value for record in alerts), lines, last_time) == expected
    held = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("sentinel_alerts_held_total{")
    )
    assert held > 0, "the history's snoozes held some alerts back"
