"""The embedded broker speaks enough Kafka for both client libraries we rely on."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer
from confluent_kafka import TopicPartition as RdTopicPartition
from faust.types import TP

from schemas.errors import PortInUse
from streams.broker import BrokerError, EmbeddedBroker, create_topics, end_offsets, free_port

from .conftest import UniqueName


def _rd_consume(bootstrap_servers: str, topic: str, partition: int, count: int) -> list[Message]:
    """Read ``count`` messages with librdkafka from the partition start, without a group join."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"{topic}.reader",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 50,
        }
    )
    consumer.assign([RdTopicPartition(topic, partition, OFFSET_BEGINNING)])
    received: list[Message] = []
    deadline = time.monotonic() + 10
    try:
        while len(received) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise AssertionError(f"librdkafka consumer error: {error}")
            if error is None:
                received.append(message)
    finally:
        consumer.close()
    return received


def test_session_broker_is_running(embedded_broker: EmbeddedBroker) -> None:
    assert embedded_broker.running
    host, port = embedded_broker.bootstrap_servers.split(":")
    with socket.create_connection((host, int(port)), timeout=2):
        pass


async def test_start_and_stop_a_private_broker() -> None:
    broker = EmbeddedBroker()
    started = time.monotonic()
    async with broker:
        port = broker.port
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            assert await admin.list_topics() == []
        finally:
            await admin.close()
    assert not broker.running
    assert time.monotonic() - started < 5
    broker.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_requested_port_in_use_is_an_error(embedded_broker: EmbeddedBroker) -> None:
    with pytest.raises(PortInUse, match="already in use"):
        EmbeddedBroker(embedded_broker.port).start()


async def test_aiokafka_round_trip(bootstrap_servers: str, unique_topic: str, unique_group: str) -> None:
    await create_topics(bootstrap_servers, {unique_topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            unique_topic, b'{"id":"e-1"}', key=b"customer-1", headers=[("h", b"1")]
        )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        unique_topic,
        bootstrap_servers=bootstrap_servers,
        group_id=unique_group,
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=200,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=15)
        await consumer.commit()
        committed = await consumer.committed(TopicPartition(unique_topic, 0))
    finally:
        await consumer.stop()
    assert (message.key, message.value) == (b"customer-1", b'{"id":"e-1"}')
    assert list(message.headers) == [("h", b"1")]
    assert (message.partition, message.offset) == (sent.partition, sent.offset)
    assert committed == sent.offset + 1


async def test_create_topics_sets_partitions_and_is_idempotent(
    bootstrap_servers: str, unique_name: UniqueName
) -> None:
    wide, narrow = unique_name("wide"), unique_name("narrow")
    wanted = {wide: 6, narrow: 1}

    assert sorted(await create_topics(bootstrap_servers, wanted)) == sorted(wanted)
    assert await create_topics(bootstrap_servers, wanted) == []

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        assert await producer.partitions_for(wide) == set(range(6))
        assert await producer.partitions_for(narrow) == {0}
        last = await producer.send_and_wait(wide, b"v", key=b"k", partition=5)
        assert last.partition == 5
    finally:
        await producer.stop()


async def test_create_topics_rejects_partition_mismatch(bootstrap_servers: str, unique_topic: str) -> None:
    await create_topics(bootstrap_servers, {unique_topic: 4})
    with pytest.raises(BrokerError, match="exists with 4 partitions, 2 wanted"):
        await create_topics(bootstrap_servers, {unique_topic: 2})


async def test_create_topics_accepts_compacted_changelog_config(
    bootstrap_servers: str, unique_topic: str
) -> None:
    created = await create_topics(bootstrap_servers, {unique_topic: 2}, config={"cleanup.policy": "compact"})
    assert created == [unique_topic]


async def test_librdkafka_produces_and_consumes(bootstrap_servers: str, unique_topic: str) -> None:
    await create_topics(bootstrap_servers, {unique_topic: 3})
    delivered: list[tuple[int | None, int | None]] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        assert error is None, error
        delivered.append((message.partition(), message.offset()))

    producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 0})
    for n in range(3):
        producer.produce(unique_topic, key=b"k", value=f"m{n}".encode(), partition=2, on_delivery=on_delivery)
    assert producer.flush(10) == 0
    assert delivered == [(2, 0), (2, 1), (2, 2)]

    received = _rd_consume(bootstrap_servers, unique_topic, partition=2, count=3)
    assert [(m.key(), m.value()) for m in received] == [(b"k", b"m0"), (b"k", b"m1"), (b"k", b"m2")]


async def test_clients_interoperate(bootstrap_servers: str, unique_topic: str) -> None:
    """aiokafka writes what librdkafka reads, byte for byte, and the other way round."""
    await create_topics(bootstrap_servers, {unique_topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(unique_topic, b"\x00\xffraw", key=b"\x01key")
    finally:
        await producer.stop()

    rd_producer = Producer({"bootstrap.servers": bootstrap_servers})
    rd_producer.produce(unique_topic, key=b"rd", value=b"from-librdkafka", partition=0)
    assert rd_producer.flush(10) == 0

    received = _rd_consume(bootstrap_servers, unique_topic, partition=0, count=2)
    assert [(m.key(), m.value()) for m in received] == [
        (b"\x01key", b"\x00\xffraw"),
        (b"rd", b"from-librdkafka"),
    ]

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition(unique_topic, 0)
        consumer.assign([partition])
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(10):
            while len(records) < 2:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                records.extend(batch.get(partition, []))
    finally:
        await consumer.stop()
    assert [(r.key, r.value) for r in records] == [
        (b"\x01key", b"\x00\xffraw"),
        (b"rd", b"from-librdkafka"),
    ]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_forever_stops_cleanly_on_signal(stop_signal: signal.Signals) -> None:
    """``sentinel broker`` runs until Ctrl-C or SIGTERM, then exits 0 and frees its port."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().decode().startswith(f"embedded broker on 127.0.0.1:{port}")
            process.send_signal(stop_signal)
            assert process.wait(10) == 0
        finally:
            process.kill()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


async def _produce_batches(bootstrap_servers: str, topic: str, sizes: list[int]) -> None:
    """Write one record batch per size to partition 0 (each batch is a single produce)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for size in sizes:
            batch = producer.create_batch()
            for n in range(size):
                batch.append(key=None, value=f"r{n}".encode(), timestamp=None)
            batch.close()
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()


@pytest.mark.xfail(
    strict=True,
    reason="Tansu 0.6 ListOffsets(LATEST) answers the last batch's base offset + 1; "
    "when this passes, streams.broker.end_offsets and its Faust hook can go",
)
async def test_tansu_list_offsets_counts_the_whole_last_batch(
    bootstrap_servers: str, unique_topic: str
) -> None:
    await create_topics(bootstrap_servers, {unique_topic: 1})
    await _produce_batches(bootstrap_servers, unique_topic, [1, 5])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        partition = TopicPartition(unique_topic, 0)
        listed = await consumer.end_offsets([partition])
    finally:
        await consumer.stop()
    assert listed[partition] == 6


async def test_end_offsets_counts_every_record(bootstrap_servers: str, unique_topic: str) -> None:
    await create_topics(bootstrap_servers, {unique_topic: 2})
    await _produce_batches(bootstrap_servers, unique_topic, [1, 10, 1, 5, 3])
    written, empty = TopicPartition(unique_topic, 0), TopicPartition(unique_topic, 1)

    assert await end_offsets(bootstrap_servers, [written, empty]) == {written: 20, empty: 0}


async def test_end_offsets_accepts_faust_topic_partitions(bootstrap_servers: str, unique_topic: str) -> None:
    await create_topics(bootstrap_servers, {unique_topic: 1})
    await _produce_batches(bootstrap_servers, unique_topic, [4])
    ends = await end_offsets(bootstrap_servers, [TP(unique_topic, 0)])
    assert ends[TP(unique_topic, 0)] == 4
