"""The Faust application, built by a factory so every test and command gets its own.

Topology:

    touchpoints ──ingest (aiokafka getmany: validate, dead-letter, route)──▶
        <app_id>-touchpoints-by-customer (batches per partition, plus ticks)
        ──sentinel-detect (Faust agent, engine per partition)──▶ alerts
    customers / watermarks tables (changelogged) hold the engine's state.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from faust.types import TableT
from prometheus_client import CollectorRegistry

from agents.config import Config, load_config
from agents.detect import Detection, owned_partitions, register_detector
from agents.ingest import MAX_REQUEST_BYTES, IngestLoop, Routed, wall_clock_ms
from agents.partition import IdleAdvance, Topics
from streams.broker import create_topics, use_true_end_offsets
from streams.http import BrokerContact, WorkerEndpoint, advertised_url
from streams.kafka import (
    STOP_TIMEOUT,
    Backoff,
    LazyProducer,
    aiokafka_options,
    bootstrap_list,
    faust_credentials,
)
from streams.metrics import Metrics
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SentinelApp:
    """A built worker: the Faust app plus the pieces tests and commands look at."""

    app: faust.App
    settings: Settings
    config: Config
    metrics: Metrics
    registry: CollectorRegistry
    detection: Detection
    endpoint: WorkerEndpoint
    """The HTTP endpoint: metrics, health, readiness, the customer view."""


def create_app(
    settings: Settings, config: Config | None = None, registry: CollectorRegistry | None = None
) -> SentinelApp:
    """Build the worker from settings; nothing global, nothing started."""
    if config is None:
        config = load_config(settings.thresholds_file) if settings.thresholds_file else Config.default()
    registry = registry if registry is not None else CollectorRegistry()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    metrics = Metrics.create(registry, settings.role, config.segments)
    contact = BrokerContact()
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in bootstrap_list(settings)],
        broker_credentials=faust_credentials(settings),
        store=settings.store,
        datadir=f"{settings.data_dir}/{settings.app_id}",
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=settings.rebalance_timeout / 1000,
        broker_session_timeout=settings.session_timeout / 1000,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3000),
        stream_wait_empty=False,
        canonical_url=advertised_url(settings),
    )
    if settings.embedded_broker:
        use_true_end_offsets(app, settings)
    internal = app.topic(
        settings.internal_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        internal=True,
    )

    def table(name: str, help_text: str) -> TableT[bytes, bytes]:
        return app.Table(
            name,
            default=None,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
            help=help_text,
        )

    customers = table("customers", "Per-customer detection state (CustomerState.encode).")
    watermarks = table(
        "watermarks",
        "Per-partition [watermark, {input: latest event time}, [idle inputs], inputs, {input: offset read}].",
    )
    detection = Detection(
        config=config,
        customers=customers,
        watermarks=watermarks,
        partitions=settings.partitions,
        idle_advance=IdleAdvance(settings.idle_after) if settings.idle_advance else None,
        source_topic=settings.touchpoints_topic,
        owned=owned_partitions(app, settings.internal_topic),
    )
    topics = Topics(
        alerts=settings.alerts_topic,
        dead_letters=settings.dead_letter_topic,
        customers_changelog=customers.changelog_topic.get_topic_name(),
        partitions_changelog=watermarks.changelog_topic.get_topic_name(),
    )
    on_revoked = register_detector(
        app, internal, topics, LazyProducer(settings), detection, metrics, wall_clock_ms
    )

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await on_revoked(args[0] if args else kwargs.get("revoked", set()))

    if settings.role == "all":

        @app.task
        async def ingest() -> None:
            await run_ingest(settings, metrics, contact)

    endpoint = WorkerEndpoint(
        settings, registry, contact, wall_clock_ms, app, detection, topics.customers_changelog
    )
    return SentinelApp(app, settings, config, metrics, registry, detection, endpoint)


async def declare_topics(settings: Settings) -> None:
    """Create the external topics with the configured partition counts (Faust creates its own).

    Called before the worker starts, so that a broker which refuses the request
    stops the start with one line rather than crashing the ingest task.
    """
    await create_topics(
        settings,
        {
            settings.touchpoints_topic: settings.partitions,
            settings.alerts_topic: settings.partitions,
            settings.dead_letter_topic: settings.partitions,
            settings.internal_topic: settings.partitions,
        },
        replication_factor=settings.replication_factor,
    )


async def run_ingest(settings: Settings, metrics: Metrics, contact: BrokerContact) -> None:
    """The ingest, started again after whatever stopped it (a broker away when its clients start,
    a bug), so that it never takes the worker down: one log line per failure, with backoff."""
    backoff = Backoff("the ingest")
    while True:
        try:
            await _ingest(settings, metrics, contact)
        except KafkaError as error:
            await backoff.wait(error)
        except Exception as error:
            log.exception("the ingest failed; starting it again")
            metrics.internal_errors.labels("ingest").inc()
            await backoff.wait(error)


async def _ingest(settings: Settings, metrics: Metrics, contact: BrokerContact) -> None:
    options = aiokafka_options(settings)
    consumer = AIOKafkaConsumer(
        settings.touchpoints_topic,
        group_id=f"{settings.app_id}-ingest",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_wait_ms=50,
        rebalance_timeout_ms=settings.rebalance_timeout,
        session_timeout_ms=settings.session_timeout,
        heartbeat_interval_ms=min(3000, settings.session_timeout // 3),
        **options,
    )
    producer = AIOKafkaProducer(
        linger_ms=0, max_batch_size=1024 * 1024, max_request_size=MAX_REQUEST_BYTES, **options
    )

    def count(routed: Routed) -> None:
        for event_type, accepted in routed.accepted_by_type.items():
            metrics.events.labels(event_type).inc(accepted)
        for dead in routed.dead_letters:
            metrics.rejected.labels(dead.reason).inc()

    def lag(tp: TopicPartition, behind: int) -> None:
        metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(behind)

    try:
        await producer.start()
        await consumer.start()
        await IngestLoop(
            consumer=consumer,
            producer=producer,
            internal_topic=settings.internal_topic,
            dead_letter_topic=settings.dead_letter_topic,
            partitions=settings.partitions,
            batch_max_events=settings.batch_max_events,
            tick_interval_ms=settings.tick_interval,
            wall_clock_ms=wall_clock_ms,
            future_tolerance_ms=settings.future_tolerance if settings.reject_future_events else None,
            on_routed=count,
            on_lag=lag,
            on_retry=metrics.write_retries.inc,
            on_contact=contact.touch,
            idle_after_ms=settings.idle_after if settings.idle_advance else None,
        ).run()
    finally:
        for client in (consumer, producer):
            with suppress(TimeoutError, KafkaError):
                await asyncio.wait_for(client.stop(), STOP_TIMEOUT)
