"""The `sentinel deliver` process: reach the broker, declare topics, serve HTTP, deliver until a signal.

SIGTERM (or Ctrl-C) lets the round under way finish and commit, then leaves the
consumer group and exits 0 (130 after Ctrl-C). A round that is still retrying a
target that is down, or not done within `STOP_GRACE` seconds, is left
uncommitted: the next start delivers it again.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from schemas.errors import BrokerError, ConfigError, PortInUse
from schemas.timestamps import wall_clock_ms
from streams.broker import create_topics
from streams.connection import kafka_failure, reach_broker
from streams.delivery.alertmanager import AlertmanagerTarget
from streams.delivery.client import checked_url, new_session, shown_url
from streams.delivery.endpoint import DeliveryEndpoint
from streams.delivery.episodes import STATE_TOPIC_CONFIG, OpenEpisodes, state_topic
from streams.delivery.loop import Abandoned, DeliveryLoop, Retry, Target, TargetContact
from streams.delivery.metrics import DeliveryMetrics
from streams.delivery.webhook import LONGEST_BACKOFF, WebhookTarget
from streams.http import serve
from streams.kafka import STOP_TIMEOUT, aiokafka_options
from streams.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

STOP_GRACE = 20.0
"""Seconds the round under way gets to finish after SIGTERM (a supervisor's grace period is 30)."""
ALERTMANAGER_BACKOFF = (0.5, 30.0)
"""First and longest wait between posts to an Alertmanager that does not take them."""


def group_id(settings: Settings, target: str) -> str:
    return f"{settings.app_id}-deliver-{target}"


def run_delivery(settings: Settings, target: str, url: str, *, include_holdouts: bool = False) -> int:
    """Block delivering until SIGTERM or SIGINT; the exit status. Logging is the command line's
    (`streams.logs`), as for every command."""
    checked_url(url)
    if target == "webhook" and not settings.webhook_secret:
        raise ConfigError("webhook_secret must be set to sign webhook deliveries (SENTINEL_WEBHOOK_SECRET)")
    return asyncio.run(_deliver(settings, target, url, include_holdouts))


async def _deliver(settings: Settings, target_name: str, url: str, include_holdouts: bool) -> int:
    stopping = asyncio.Event()
    received: list[int] = []

    def stop(number: int) -> None:
        received.append(number)
        stopping.set()

    def exit_status() -> int:
        return 130 if received and received[-1] == signal.SIGINT else 0

    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop, number)
    partitions = await _unless_stopped(_reach_broker(settings, target_name), stopping)
    if partitions is None:
        return exit_status()
    registry = CollectorRegistry()
    metrics = DeliveryMetrics.create(registry, target_name)
    contact = TargetContact()

    options = aiokafka_options(settings)
    consumer = AIOKafkaConsumer(
        group_id=group_id(settings, target_name),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        rebalance_timeout_ms=settings.rebalance_timeout,
        session_timeout_ms=settings.session_timeout,
        heartbeat_interval_ms=min(3000, settings.session_timeout // 3),
        **options,
    )
    producer = AIOKafkaProducer(linger_ms=0, acks="all", **options)
    session = new_session()

    def retry(what: str) -> Retry:
        first, longest = ALERTMANAGER_BACKOFF
        if target_name == "webhook":
            first, longest = settings.webhook_backoff / 1000, LONGEST_BACKOFF
        return Retry(what, stopping, first, longest, on_retry=metrics.count_retry, contact=contact)

    target: Target
    if target_name == "alertmanager":
        target = AlertmanagerTarget(
            settings,
            url,
            session,
            producer,
            OpenEpisodes(settings, state_topic(settings)),
            metrics,
            retry,
            wall_clock_ms,
            time.monotonic,
            include_holdouts=include_holdouts,
        )
    else:
        target = WebhookTarget(
            settings, url, session, producer, metrics, retry, wall_clock_ms, include_holdouts=include_holdouts
        )
    delivery = DeliveryLoop(consumer, target, metrics, stopping)
    where = f"{target_name} at {shown_url(url)}"
    endpoint = DeliveryEndpoint(registry, delivery, contact, where)
    runner: web.AppRunner | None = None
    try:
        if settings.deliver_metrics_port:
            runner = await _serve_endpoint(settings, endpoint)
        await _started(producer.start(), settings)
        await _started(consumer.start(), settings)
        consumer.subscribe([settings.alerts_topic], listener=delivery.listener())
        sys.stderr.write(f"delivering {settings.alerts_topic} ({partitions} partitions) to {where}\n")
        sys.stderr.flush()
        await _run_until_stopped(delivery, stopping)
    finally:
        await _close(consumer, producer, session)
        if runner is not None:
            await runner.cleanup()
    return exit_status()


async def _unless_stopped(work: Coroutine[Any, Any, T], stopping: asyncio.Event) -> T | None:
    """What `work` returns, or None once stopping is set first (waiting for a broker that is away)."""
    task = asyncio.create_task(work)
    stop_requested = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({task, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_requested.cancel()
        if not task.done():
            task.cancel()
    if stopping.is_set() and not task.done():
        return None
    return await task


async def _started(starting: Awaitable[None], settings: Settings) -> None:
    try:
        await starting
    except KafkaError as error:
        raise kafka_failure(error, settings) from None


async def _run_until_stopped(delivery: DeliveryLoop, stopping: asyncio.Event) -> None:
    """Deliver until stopping; then the round under way gets STOP_GRACE seconds to finish."""
    task = asyncio.create_task(delivery.run())
    stop_requested = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({task, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_GRACE)
        if not task.done():
            log.warning(
                "the round under way did not finish within %.0f s; left for the next start", STOP_GRACE
            )
            task.cancel()
        try:
            await task
        except Abandoned as reason:
            log.warning("stopped with a round undelivered, left for the next start (%s)", reason)
        except asyncio.CancelledError:
            if not stopping.is_set():
                raise
    finally:
        stop_requested.cancel()
        if not task.done():
            task.cancel()


async def _close(
    consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, session: aiohttp.ClientSession
) -> None:
    """Leave the group, flush, close; a broker that does not answer gets STOP_TIMEOUT seconds each."""
    for closing in (consumer.stop, producer.stop, session.close):
        try:
            await asyncio.wait_for(closing(), STOP_TIMEOUT)
        except (TimeoutError, KafkaError) as error:
            log.warning("closing took too long or failed (%s)", error)


async def _reach_broker(settings: Settings, target: str) -> int:
    """Connect (waiting `broker_wait` for a broker that is only away), wait for the alert topic,
    and declare the state and dead-letter topics with its partition count; that count."""

    async def declare() -> int:
        partitions = await _alert_partitions(settings)
        topics = {settings.alerts_dead_letter_topic: partitions}
        await create_topics(settings, topics, replication_factor=settings.replication_factor)
        if target == "alertmanager":
            await create_topics(
                settings,
                {state_topic(settings): partitions},
                replication_factor=settings.replication_factor,
                config=STATE_TOPIC_CONFIG,
            )
        return partitions

    return await reach_broker(settings, declare)


class _TopicAbsent(BrokerError):
    retriable = True


async def _alert_partitions(settings: Settings) -> int:
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([settings.alerts_topic])
    finally:
        await admin.close()
    if described["error_code"] or not described["partitions"]:
        raise _TopicAbsent(
            f"the alert topic {settings.alerts_topic!r} does not exist (yet): the worker declares it"
        )
    return len(described["partitions"])


async def _serve_endpoint(settings: Settings, endpoint: DeliveryEndpoint) -> web.AppRunner:
    """/metrics, /healthz and /readyz in this event loop (`streams.delivery.endpoint`)."""
    where = f"{settings.metrics_host}:{settings.deliver_metrics_port}"
    try:
        runner = await serve(endpoint.build(), settings.metrics_host, settings.deliver_metrics_port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"metrics port {where} is already in use (set deliver_metrics_port; 0 turns the endpoint off)"
            ) from None
        raise ConfigError(
            f"metrics_host/deliver_metrics_port: cannot listen on {where} ({error.strerror})"
        ) from None
    sys.stderr.write(f"metrics on http://{where}/metrics\n")
    return runner
