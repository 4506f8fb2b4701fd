"""The README's consumer example, run as written against the embedded broker (only its topic,
bootstrap servers and group are changed to this test's)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from schemas import codec
from streams.broker import create_topics
from streams.settings import Settings
from tests.readme import readme_block

from .conftest import UniqueName
from .delivery import produce_alerts, wait_for
from .test_deliver_webhook import history_alerts


def test_the_readme_consumer_prints_one_line_per_alert(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = Settings(bootstrap_servers=bootstrap_servers, alerts_topic=unique_name("alerts"))
    alerts = history_alerts(10, seed=53)
    assert len(alerts) > 20
    asyncio.run(create_topics(settings, {settings.alerts_topic: 4}))
    asyncio.run(produce_alerts(settings, alerts))

    example = readme_block("parse_alert(record.value)")
    for written, ours in (
        ('"alerts"', f'"{settings.alerts_topic}"'),
        ('"localhost:9092"', f'"{bootstrap_servers}"'),
        ('"crm-inbox"', f'"{unique_name("crm-inbox")}"'),
    ):
        assert example.count(written) == 1, written
        example = example.replace(written, ours)
    assert len([line for line in example.splitlines() if line.strip()]) <= 20
    script = tmp_path / "consumer.py"
    script.write_text(example, encoding="utf-8")
    output = tmp_path / "consumer.out"

    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_for(
            lambda: len(output.read_text().splitlines()) >= len(alerts),
            60,
            lambda: f"{len(alerts)} lines; got {output.read_text()[-2000:]}",
        )
    finally:
        process.terminate()
        process.wait(10)

    expected = []
    for alert in alerts:
        event = codec.loads(alert)
        when = event["time"][:16].replace("T", " ")
        expected.append(f"{when} {event['data']['status']:<8} {event['data']['pattern']} {event['subject']}")
    assert sorted(output.read_text().splitlines()) == sorted(expected)
