"""The deliverer's HTTP endpoint: metrics, liveness, and readiness from the group and the target."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from streams.delivery.alertmanager import AlertmanagerClient
from streams.delivery.endpoint import DeliveryEndpoint
from streams.delivery.loop import DeliveryLoop, Polled, Retry, TargetContact
from streams.delivery.metrics import DeliveryMetrics

TARGET = "alertmanager at http://alertmanager:9093"


@dataclass
class QuietTarget:
    """A target that holds whatever it is given and delivers nothing."""

    name: str = "alertmanager"
    max_records: int = 10
    held: set[int] = field(default_factory=set)

    def owns(self, partition: int) -> bool:
        return partition in self.held

    async def assigned(self, partitions: set[int]) -> None:
        self.held |= partitions

    async def revoked(self, partitions: set[int]) -> None:
        self.held -= partitions

    async def deliver(self, polled: Polled) -> None:
        return None

    async def between_rounds(self) -> None:
        return None

    def poll_timeout_ms(self) -> int:
        return 100


@dataclass
class Deliverer:
    delivery: DeliveryLoop
    contact: TargetContact
    metrics: DeliveryMetrics
    client: TestClient[Any, Any]

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.client.get(path) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


@asynccontextmanager
async def serving() -> AsyncIterator[Deliverer]:
    """The endpoint of a deliverer that has not joined its group yet, served on a loopback port."""
    registry = CollectorRegistry()
    metrics = DeliveryMetrics.create(registry, "alertmanager")
    delivery = DeliveryLoop(cast(AIOKafkaConsumer, None), QuietTarget(), metrics, asyncio.Event())
    contact = TargetContact()
    endpoint = DeliveryEndpoint(registry, delivery, contact, TARGET)
    async with TestClient(TestServer(endpoint.build())) as client:
        yield Deliverer(delivery, contact, metrics, client)


def alert_partitions(*numbers: int) -> set[TopicPartition]:
    return {TopicPartition("alerts", number) for number in numbers}


async def test_health_answers_while_the_loop_runs() -> None:
    async with serving() as deliverer:
        assert await deliverer.get("/healthz") == (200, {"status": "alive"})


async def test_metrics_are_the_deliverers_and_other_paths_are_not_found() -> None:
    async with serving() as deliverer:
        status, text = await deliverer.get("/metrics")
        assert status == 200
        assert 'sentinel_deliver_delivered_total{kind="fired",target="alertmanager"} 0.0' in text
        assert "sentinel_build_info" in text
        assert await deliverer.get("/") == (404, {"error": "no such path: /"})
        assert await deliverer.get("/metricsz") == (404, {"error": "no such path: /metricsz"})


async def test_ready_once_the_group_assigned_partitions_and_not_while_it_rebalances() -> None:
    async with serving() as deliverer:
        status, body = await deliverer.get("/readyz")
        assert status == 503
        assert body["ready"] is False
        (reason,) = body["reasons"]
        assert reason.startswith("the consumer group has not assigned this deliverer its partitions yet")

        await deliverer.delivery.partitions_revoked(set())  # aiokafka revokes nothing before the first join
        await deliverer.delivery.partitions_assigned(alert_partitions(0, 1))
        assert await deliverer.get("/readyz") == (200, {"ready": True})

        await deliverer.delivery.partitions_revoked(alert_partitions(0, 1))
        assert (await deliverer.get("/readyz"))[0] == 503
        # More deliverers than partitions: this one idles, but it has joined.
        await deliverer.delivery.partitions_assigned(set())
        assert await deliverer.get("/readyz") == (200, {"ready": True})


async def test_not_ready_while_requests_to_the_target_fail() -> None:
    async with serving() as deliverer:
        await deliverer.delivery.partitions_assigned(alert_partitions(0))
        stopping = asyncio.Event()
        retry = Retry("posting 3 alerts", stopping, 0.001, 0.001, contact=deliverer.contact)
        await retry.wait("Cannot connect to host alertmanager:9093")
        status, body = await deliverer.get("/readyz")
        assert status == 503
        assert body["reasons"] == [
            f"requests to {TARGET} have failed for 0 s (Cannot connect to host alertmanager:9093)"
        ]

        await retry.wait("HTTP 503: overloaded")
        assert (await deliverer.get("/readyz"))[1]["reasons"][0].endswith("(HTTP 503: overloaded)")
        retry.succeeded()
        assert await deliverer.get("/readyz") == (200, {"ready": True})


async def test_not_ready_once_stopping() -> None:
    async with serving() as deliverer:
        await deliverer.delivery.partitions_assigned(alert_partitions(0))
        deliverer.delivery.stopping.set()
        assert await deliverer.get("/readyz") == (503, {"ready": False, "reasons": ["stopping"]})
        assert await deliverer.get("/healthz") == (200, {"status": "alive"})


async def test_the_tries_of_a_request_tell_the_contact_how_the_target_answers() -> None:
    contact = TargetContact()
    retry = Retry("posting", asyncio.Event(), 0.001, 0.001, contact=contact)
    assert contact.failing_for() is None
    await retry.wait("HTTP 502")
    first_failure = contact.failing_since
    await retry.wait("HTTP 503")
    assert (contact.failing_since, contact.problem) == (first_failure, "HTTP 503"), "failing since the first"
    retry.refused()
    assert contact.failing_for() is None, "a refusal is an answer: the target is reachable"
    assert retry.attempts == 0
    retry.gave_up("no answer in time")
    assert contact.failing_for() is not None and contact.problem == "no answer in time"
    retry.succeeded()
    assert contact.failing_for() is None


async def test_a_revoked_partitions_lag_is_left_to_its_new_owner() -> None:
    async with serving() as deliverer:
        await deliverer.delivery.partitions_assigned(alert_partitions(0, 1))
        deliverer.metrics.set_lag(0, 12)
        deliverer.metrics.set_lag(1, 3)
        await deliverer.delivery.partitions_revoked(alert_partitions(0))
        _, text = await deliverer.get("/metrics")
        assert 'sentinel_deliver_lag_messages{partition="0",target="alertmanager"}' not in text
        assert 'sentinel_deliver_lag_messages{partition="1",target="alertmanager"} 3.0' in text


async def test_alertmanager_tells_the_contact_of_failures_answers_and_refusals() -> None:
    answers = [503, 200, 503, 400, 400]  # the refused post is tried again alert by alert
    seen: list[TargetContact] = []
    contact = TargetContact()

    async def alerts(request: web.Request) -> web.Response:
        seen.append(dataclasses.replace(contact))
        return web.Response(status=answers.pop(0), text="answer")

    application = web.Application()
    application.add_routes([web.post("/api/v2/alerts", alerts)])
    async with TestServer(application) as server, aiohttp.ClientSession() as session:

        def retry(what: str) -> Retry:
            return Retry(what, asyncio.Event(), 0.001, 0.001, contact=contact)

        client = AlertmanagerClient(str(server.make_url("/")), session, 5000, retry)
        assert await client.post([{"labels": {"alertname": "a"}}]) == {}
        assert seen[1].problem == "HTTP 503: answer", "the 503 counted as a failure"
        assert contact.failing_for() is None, "taken: answering"
        assert await client.post([{"labels": {"alertname": "b"}}]) == {0: "HTTP 400: answer"}
        assert seen[3].failing_since is not None
        assert seen[4].failing_since is None, "the refusal counted as an answer"
        assert contact.failing_for() is None, "a refusal is an answer: Alertmanager is reachable"
    assert answers == []


async def test_metrics_repeat_readiness_and_how_long_the_target_has_failed() -> None:
    async with serving() as deliverer:
        _, text = await deliverer.get("/metrics")
        assert 'sentinel_deliver_ready{target="alertmanager"} 0.0' in text
        assert 'sentinel_deliver_target_failing_seconds{target="alertmanager"} 0.0' in text
        await deliverer.delivery.partitions_assigned(alert_partitions(0))
        _, text = await deliverer.get("/metrics")
        assert 'sentinel_deliver_ready{target="alertmanager"} 1.0' in text

        retry = Retry("posting", asyncio.Event(), 0.001, 0.001, contact=deliverer.contact)
        await retry.wait("HTTP 502")
        assert deliverer.contact.failing_since is not None
        deliverer.contact.failing_since -= 90  # as if the first failure were 90 s ago
        _, text = await deliverer.get("/metrics")
        assert 'sentinel_deliver_ready{target="alertmanager"} 0.0' in text
        (failing,) = [
            line for line in text.splitlines() if line.startswith("sentinel_deliver_target_failing_seconds{")
        ]
        assert 90 <= float(failing.split()[-1]) < 100, failing
