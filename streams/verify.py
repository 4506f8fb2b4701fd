"""Checking a live worker against `sentinel replay`: the same history must give the same alerts.

Used by the integration tests and by `make bench`'s correctness check. A worker's
watermark follows its slowest input partition, so the history ends with one
harmless event per input partition (`closing_events`) that moves every input's
clock past the last real event; alerts are then compared up to that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from agents.config import Config
from agents.replay import replay
from schemas import codec
from schemas.events import Touchpoint, encode_event
from schemas.timestamps import parse_instant
from streams.broker import free_port
from streams.kafka import Connection, aiokafka_options
from streams.settings import Settings


def checked_worker_settings(
    bootstrap_servers: str, name: Callable[[str], str], data_dir: str, partitions: int = 4
) -> Settings:
    """A worker of its own on the embedded broker: its group, topics and state named by `name`
    (given "sentinel", "touchpoints", "alerts", "dead-letters"), a free metrics port, short
    group timeouts, and a watermark that follows event time only (no idle advance), so that
    what it emits can be compared with a replay."""
    return Settings(
        bootstrap_servers=bootstrap_servers,
        app_id=name("sentinel"),
        touchpoints_topic=name("touchpoints"),
        alerts_topic=name("alerts"),
        dead_letter_topic=name("dead-letters"),
        partitions=partitions,
        data_dir=data_dir,
        metrics_port=free_port(),
        rebalance_timeout=3000,
        session_timeout=6000,
        idle_advance=False,
        tick_interval=500,
        embedded_broker=True,
    )


def closing_events(at: int, partitions: int, source: str = "verify/clock") -> list[tuple[int, bytes]]:
    """(input partition, event): an erasure of a customer nobody knows, one per partition, at `at`."""
    return [
        (
            partition,
            encode_event(
                Touchpoint(f"close-{partition}", source, "customer.erased", f"clock-{partition}", at, {})
            ),
        )
        for partition in range(partitions)
    ]


async def produce_closing(connection: Connection, topic: str, closing: list[tuple[int, bytes]]) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(connection))
    await producer.start()
    try:
        for partition, value in closing:
            await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()


def expected_alerts(lines: list[bytes], until: int, config: Config | None = None) -> list[bytes]:
    """What `sentinel replay` emits for the lines, in the form `comparable` gives."""
    return comparable(replay(lines, config=config).alerts, lines, until)


def comparable(alerts: Iterable[bytes], lines: list[bytes], until: int) -> list[bytes]:
    """Sorted alerts up to `until`, leaving out erased customers.

    Erasure drops a customer's pending deadlines at once, whatever their time,
    so it is the one rule whose outcome depends on when the watermark moved.
    """
    erased = {_subject(line) for line in lines if b'"customer.erased"' in line}
    return sorted(
        alert
        for alert in alerts
        if (decoded := codec.loads(alert))["subject"] not in erased
        and parse_instant(decoded["time"]) <= until
    )


def _subject(line: bytes) -> str | None:
    try:
        event = codec.loads(line)
    except codec.JSONDecodeError:
        return None
    return event.get("subject") if isinstance(event, dict) else None


async def read_topic(
    connection: Connection,
    topic: str,
    *,
    at_least: int,
    wait: float = 90.0,
    settle: float = 3.0,
    max_fetch_bytes: int = 1024 * 1024,
) -> list[ConsumerRecord]:
    """Everything on `topic`: waits for `at_least` records, then for `settle` quiet seconds."""
    consumer = AIOKafkaConsumer(
        topic,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=max_fetch_bytes,
        **aiokafka_options(connection),
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + wait
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            polled = await consumer.getmany(timeout_ms=300)
            if polled:
                quiet_since = time.monotonic()
                for batch in polled.values():
                    records.extend(batch)
            elif len(records) >= at_least and time.monotonic() - quiet_since >= settle:
                break
    finally:
        await consumer.stop()
    return records
