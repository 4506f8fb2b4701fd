"""The worker on the real embedded broker gives exactly what `sentinel replay` gives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from schemas import codec
from schemas.timestamps import MINUTE
from streams.clients import produce_lines
from streams.verify import closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .pipeline import history_lines, produce_closing, read_topic, worker_settings

BAD_LINES = [
    b"not json at all",
    b'{"specversion":"1.0","id":"bad-1","source":"crm","type":"contact.made","subject":"C-x",'
    b'"time":"2024-01-05T10:00:00Z","data":{"direction":"outbound"}}',
]


def _batch_with_one_bad_element(good: bytes) -> bytes:
    bad = {
        "specversion": "1.0",
        "id": "bad-2",
        "source": "crm",
        "type": "feedback.received",
        "subject": "C-y",
        "time": "2024-01-06T10:00:00Z",
        "data": {"score": 11},
    }
    return codec.dumps([codec.loads(good), bad])


def test_online_alerts_equal_replay_and_bad_input_is_dead_lettered(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path)
    lines, last_time = history_lines(150)
    mixed = [*lines[:500], *BAD_LINES, _batch_with_one_bad_element(lines[500]), *lines[501:]]
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*mixed, *(value for _, value in closing)], last_time)
    assert len(expected) > 100

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        asyncio.run(produce_lines(settings, mixed))
        asyncio.run(produce_closing(settings, closing))
        alerts = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))
        dead = asyncio.run(read_topic(settings, settings.dead_letter_topic, at_least=3, settle=0.5))
        metrics = worker.scrape()

    assert comparable((record.value for record in alerts), mixed, last_time) == expected
    assert all(record.key == codec.loads(record.value)["subject"].encode() for record in alerts)

    by_reason = {dict(record.headers)["sentinel-reason"].decode(): record for record in dead}
    assert set(by_reason) == {"invalid_json", "missing_field", "invalid_field"}
    assert by_reason["invalid_json"].value == BAD_LINES[0]
    assert by_reason["missing_field"].value == BAD_LINES[1]
    headers = dict(by_reason["invalid_field"].headers)
    assert headers["sentinel-batch-index"] == b"1"
    assert headers["sentinel-source-topic"] == settings.touchpoints_topic.encode()
    assert codec.loads(by_reason["invalid_field"].value)["id"] == "bad-2"

    assert 'sentinel_events_rejected_total{reason="invalid_json"} 1.0' in metrics
    fired = sum(1 for record in alerts if codec.loads(record.value)["type"] == "alert.fired")
    fired_seen = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("sentinel_alerts_fired_total{")
    )
    assert fired_seen == fired
    for name in (
        "sentinel_events_total",
        "sentinel_events_duplicate_total",
        "sentinel_events_late_total",
        "sentinel_alerts_resolved_total",
        "sentinel_event_to_alert_latency_seconds_bucket",
        "sentinel_consumer_lag_messages",
        "sentinel_watermark_seconds",
        "sentinel_customers_tracked",
        "sentinel_deadlines_pending",
    ):
        assert name in metrics, name
    assert "C-0" not in metrics

    detection_lag = samples(metrics, "sentinel_consumer_lag_messages", f'topic="{settings.internal_topic}"')
    delays = samples(metrics, "sentinel_detection_delay_seconds")
    assert len(detection_lag) == len(delays) == settings.partitions
    assert all(0 <= lag <= 2 for lag in detection_lag), detection_lag  # caught up, but for wall-clock ticks
    assert all(0 < delay < 30 for delay in delays), delays


def samples(metrics: str, name: str, label: str = "") -> list[float]:
    """The values of a metric's samples in a Prometheus text exposition, those with `label` only."""
    return [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(name + "{") and label in line
    ]


def test_a_librdkafka_client_produces_touchpoints_and_reads_alerts(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path)
    lines, last_time = history_lines(40, seed=5)
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)

    with WorkerProcess(settings, tmp_path / "worker.log"):
        producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 5})
        for line in lines:
            producer.produce(settings.touchpoints_topic, line, key=codec.loads(line)["subject"].encode())
        for partition, value in closing:
            producer.produce(settings.touchpoints_topic, value, partition=partition)
        assert producer.flush(30) == 0

        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": unique_name("reader"),
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.assign([TopicPartition(settings.alerts_topic, p, OFFSET_BEGINNING) for p in range(4)])
        received: list[bytes] = []
        try:
            idle_polls = 0
            while idle_polls < 40 and (len(received) < len(expected) or idle_polls < 10):
                message = consumer.poll(0.5)
                if message is None or message.error():
                    idle_polls += 1
                    continue
                idle_polls = 0
                received.append(message.value())
        finally:
            consumer.close()

    assert comparable(received, lines, last_time) == expected


@pytest.mark.parametrize(
    ("store", "second_data_dir"),
    [("memory://", "second"), ("rocksdb://", "first")],
    ids=["memory-store-recovers-from-changelog", "rocksdb-store-keeps-local-state"],
)
def test_a_restarted_worker_neither_loses_nor_repeats_alerts(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path, store: str, second_data_dir: str
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path / "first").replace(store=store)
    lines, last_time = history_lines(120, seed=23)
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)
    half = len(lines) // 2

    with WorkerProcess(settings, tmp_path / "first.log"):
        asyncio.run(produce_lines(settings, lines[:half]))
        first = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=1, settle=4.0))
    assert first, "the first worker produced no alerts before it was stopped"

    restarted = settings.replace(data_dir=str(tmp_path / second_data_dir))
    with WorkerProcess(restarted, tmp_path / "second.log"):
        asyncio.run(produce_lines(restarted, lines[half:]))
        asyncio.run(produce_closing(restarted, closing))
        alerts = asyncio.run(read_topic(restarted, restarted.alerts_topic, at_least=len(expected)))

    assert comparable((record.value for record in alerts), lines, last_time) == expected
