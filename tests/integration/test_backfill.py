"""A backfill on the real broker gives exactly the alerts of `sentinel replay`.

Whole lifecycles are produced at once, so the worker's watermark, which
follows its slowest input partition, lags the events by up to the whole
history; skewing the input partitions by days makes it lag further. The
alerts must not depend on it (patterns.md, fine print "Time").
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from zlib import crc32

import pytest
from aiokafka import AIOKafkaProducer

from schemas.events import Touchpoint, encode_event
from schemas.timestamps import DAY, MINUTE, parse_instant
from streams.app import declare_topics
from streams.traffic import lifecycle_history
from streams.verify import closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .pipeline import produce_closing, read_topic, worker_settings


async def produce_skewed(
    bootstrap_servers: str, topic: str, events: list[Touchpoint], partitions: int, skew: int
) -> None:
    """Each customer's events go to its own input partition in event-time order; partition p is
    sent p times `skew` of event time behind partition 0, as from a producer that fell behind."""

    def input_of(event: Touchpoint) -> int:
        return crc32(event.subject.encode()) % partitions

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        sends = [
            await producer.send(
                topic, encode_event(event), key=event.subject.encode(), partition=input_of(event)
            )
            for event in sorted(events, key=lambda event: event.time + input_of(event) * skew)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


@pytest.mark.parametrize(
    ("customers", "seed", "partitions", "skew_days"),
    [(400, 31, 4, 0), (1000, 41, 4, 3), (1000, 43, 8, 2)],
    ids=["lifecycles-at-once", "4-partitions-skewed-3-days", "8-partitions-skewed-2-days"],
)
def test_a_backfill_gives_exactly_the_alerts_of_replay(
    bootstrap_servers: str,
    unique_name: UniqueName,
    tmp_path: Path,
    customers: int,
    seed: int,
    partitions: int,
    skew_days: int,
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path).replace(partitions=partitions)
    events = lifecycle_history(
        customers, seed=seed, start=parse_instant("2024-01-01T00:00:00Z"), span_days=60
    )
    lines = [encode_event(event) for event in events]
    last_time = events[-1].time
    closing = closing_events(last_time + 5 * MINUTE, partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)
    assert len(expected) > 2000

    asyncio.run(declare_topics(settings))
    with WorkerProcess(settings, tmp_path / "worker.log"):
        asyncio.run(
            produce_skewed(bootstrap_servers, settings.touchpoints_topic, events, partitions, skew_days * DAY)
        )
        asyncio.run(produce_closing(settings, closing))
        alerts = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))

    assert comparable((record.value for record in alerts), lines, last_time) == expected
