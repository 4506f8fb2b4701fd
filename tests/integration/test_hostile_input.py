"""Over 100,000 bad messages of every kind between valid lifecycles, through the real broker.

The worker must stay up, dead-letter every bad message with its reason (each
dead letter matched to its message by source partition, offset and batch
index), count duplicates rather than dead-letter them, and give for the valid
messages exactly the alerts `sentinel replay` gives for them. What counts as
valid, and why the 1970 customers are built as they are: tests/integration/hostile.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiokafka import ConsumerRecord
from confluent_kafka import KafkaError, Producer
from confluent_kafka import Message as ProducedMessage

from agents.replay import replay
from schemas import codec
from schemas.timestamps import MINUTE
from streams.verify import closing_events, comparable, expected_alerts, read_topic
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .hostile import Message, hostile_traffic
from .pipeline import HISTORY_START, history_lines, produce_closing, worker_settings
from .test_pipeline import samples

DeadLetterKey = tuple[int, int, int | None]
"""(source partition, source offset, batch index) of a dead letter."""


def produce(bootstrap_servers: str, topic: str, messages: list[Message]) -> list[tuple[int, int]]:
    """Each message to its partition, in order; returns the (partition, offset) each was written at."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "message.max.bytes": 8 * 1024 * 1024,
            "queue.buffering.max.messages": len(messages) + 1,
            "queue.buffering.max.kbytes": 1024 * 1024,
        }
    )
    written: list[tuple[int, int]] = [(-1, -1)] * len(messages)
    failures: list[str] = []

    def delivered(index: int) -> Callable[[KafkaError | None, ProducedMessage], None]:
        def report(error: KafkaError | None, message: ProducedMessage) -> None:
            if error is not None:
                failures.append(str(error))
            else:
                written[index] = (message.partition(), message.offset())

        return report

    for index, message in enumerate(messages):
        producer.produce(
            topic,
            message.value,
            key=message.key,
            partition=message.partition,
            headers=list(message.headers) or None,
            on_delivery=delivered(index),
        )
        producer.poll(0)
    assert producer.flush(60) == 0
    assert failures == []
    return written


def test_hostile_input_is_dead_lettered_and_the_valid_rest_gives_the_alerts_of_replay(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path)
    history, last_time = history_lines(300, seed=17)
    traffic = hostile_traffic(
        history,
        settings.partitions,
        seed=20261130,
        now_ms=time.time_ns() // 1_000_000,
        history_start=HISTORY_START,
    )
    assert traffic.bad_messages >= 100_000
    assert {message.category for message in traffic.messages} >= {
        "random-bytes",
        "empty",
        "tombstone",
        "over-64-KiB",
        "over-1-MiB",
        "invalid-utf8",
        "nested-10000",
        "batch-too-many",
        "batch-over-1-MiB",
        "amount-beyond-double",
        "wrong-types",
        "valid-null-key",
        "valid-other-key",
        "valid-duplicate",
        "time-1970",
        "time-9999",
        "burst-60KB",
    }
    valid_lines = traffic.valid_lines
    replayed = replay(valid_lines)
    assert (replayed.rejected, replayed.duplicates) == ([], traffic.duplicates)
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*valid_lines, *(value for _, value in closing)], last_time)
    assert len(expected) > 1000
    expected_dead: dict[DeadLetterKey, str] = {}

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        written = produce(bootstrap_servers, settings.touchpoints_topic, traffic.messages)
        asyncio.run(produce_closing(settings, closing))
        for message, (partition, offset) in zip(traffic.messages, written, strict=True):
            for index, reason in message.dead:
                expected_dead[(partition, offset, index)] = reason
        dead = asyncio.run(
            read_topic(
                settings,
                settings.dead_letter_topic,
                at_least=len(expected_dead),
                settle=2.0,
                max_fetch_bytes=16 * 1024 * 1024,
            )
        )
        alerts = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))
        assert worker.process is not None
        still_running = worker.process.poll() is None
        metrics = worker.scrape() if still_running else ""

    assert still_running, f"the worker exited; see {tmp_path / 'worker.log'}"

    found: dict[DeadLetterKey, str] = {}
    for record in dead:
        headers = dict(record.headers)
        index = headers.get("sentinel-batch-index")
        where = (
            int(headers["sentinel-source-partition"]),
            int(headers["sentinel-source-offset"]),
            None if index is None else int(index),
        )
        assert where not in found, f"{where} dead-lettered twice"
        found[where] = headers["sentinel-reason"].decode()
        assert record.value is not None
        assert len(record.value) + len(record.key or b"") < 1024 * 1024
    missing = {where: reason for where, reason in expected_dead.items() if where not in found}
    unexpected = {where: reason for where, reason in found.items() if where not in expected_dead}
    assert (missing, unexpected) == ({}, {}), (list(missing.items())[:5], list(unexpected.items())[:5])
    assert found == expected_dead
    by_reason = Counter(expected_dead.values())
    assert {reason for reason in by_reason} >= {
        "invalid_json",
        "not_an_object",
        "too_large",
        "too_deep",
        "missing_attribute",
        "invalid_attribute",
        "unknown_type",
        "missing_field",
        "invalid_field",
        "time_in_future",
    }
    for reason, count in by_reason.items():
        counted = samples(metrics, "sentinel_events_rejected_total", f'reason="{reason}"')
        assert counted == [float(count)], reason
    assert samples(metrics, "sentinel_events_rejected_total", 'reason="internal_error"') == [0.0]
    assert samples(metrics, "sentinel_internal_errors_total") == [0.0, 0.0, 0.0]

    by_offset = dict(zip(written, traffic.messages, strict=True))
    truncated = [record for record in dead if dict(record.headers).get("sentinel-truncated") == b"true"]
    assert {by_offset[_source(record)].category for record in truncated} == {"over-1-MiB", "batch-over-1-MiB"}
    for record in truncated:
        original = by_offset[_source(record)].value
        assert original is not None and original.startswith(record.value or b"-")
        assert dict(record.headers)["sentinel-original-size"] == str(len(original)).encode()
    cut = {_source(record) for record in truncated}
    for record in dead:
        message = by_offset[_source(record)]
        if "sentinel-batch-index" not in dict(record.headers) and _source(record) not in cut:
            assert (record.key, record.value) == (message.key, message.value or b"")

    assert f"\nsentinel_events_duplicate_total {float(traffic.duplicates)}\n" in metrics
    assert traffic.duplicates > 100
    assert comparable((record.value for record in alerts), valid_lines, last_time) == expected
    old = [codec.loads(record.value) for record in alerts if b'"C-1970-' in record.value]
    assert len(old) == 50, "every lead of 1970 goes unanswered"
    assert sum(1 for record in alerts if b'"C-burst-' in record.value) == 40


def _source(record: ConsumerRecord) -> tuple[int, int]:
    headers = dict(record.headers)
    return int(headers["sentinel-source-partition"]), int(headers["sentinel-source-offset"])
