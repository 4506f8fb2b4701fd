"""The worker's HTTP endpoint, on its metrics port: metrics, health, readiness and the customer view.

- `GET /metrics`: Prometheus text exposition of the worker's registry.
- `GET /healthz`: 200 while the event loop answers (liveness: restart the worker if not).
- `GET /readyz`: 200 once the worker's group has settled its partitions, their tables are
  recovered and the broker acknowledged something lately; 503 with the reasons otherwise.
- `GET /customers/{id}`: the customer's state (`agents.customer_view`), answered by the
  worker that owns the customer's partition: any worker routes the request there.

It runs in the worker's event loop (aiohttp, which Faust brings along), so a
health answer also says that the loop is not stuck.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from agents.customer_view import customer_view
from agents.detect import Detection
from agents.engine import BEFORE_TIME
from agents.state import CustomerState
from schemas import codec
from schemas.batches import partition_for
from streams.settings import Settings

ROUTED_HEADER = "X-Sentinel-Routed"
"""Set on a customer request one worker passes to the owner, which must answer it itself."""
MIN_BROKER_SILENCE_SECONDS = 10.0
"""A worker that has had no acknowledgement from the broker for this long, or for ten ticks
(it writes a tick every `tick_interval`), whichever is longer, is not ready."""


def advertised_url(settings: Settings) -> str:
    """Where other workers reach this one's HTTP endpoint (`advertised_url`, else derived)."""
    if settings.advertised_url:
        return settings.advertised_url.rstrip("/")
    host = settings.metrics_host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (a wildcard bind is not an address to give out)
        host = socket.getfqdn()
    return f"http://{host}:{settings.metrics_port}"


@dataclass
class BrokerContact:
    """When the broker last acknowledged something of this worker's (a poll, a write)."""

    last: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last = time.monotonic()

    def silent_for(self) -> float:
        return time.monotonic() - self.last


class ProbedEndpoint:
    """/metrics, /healthz and /readyz, as the worker and the deliverer both serve them: a
    subclass says why it is not ready, and may add routes of its own."""

    registry: CollectorRegistry

    def not_ready(self) -> list[str]:
        """The reasons this process should get no work now; empty when it is ready."""
        raise NotImplementedError

    def routes(self) -> list[web.RouteDef]:
        return []

    def build(self) -> web.Application:
        application = web.Application(middlewares=[unknown_paths_in_json])
        application.add_routes(
            [
                web.get("/metrics", self.metrics),
                web.get("/healthz", self.healthz),
                web.get("/readyz", self.readyz),
                *self.routes(),
            ]
        )
        return application

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(self, request: web.Request) -> web.Response:
        return json_response({"status": "alive"})

    async def readyz(self, request: web.Request) -> web.Response:
        reasons = self.not_ready()
        if reasons:
            return json_response({"ready": False, "reasons": reasons}, status=503)
        return json_response({"ready": True})


@dataclass
class WorkerEndpoint(ProbedEndpoint):
    """What the endpoint reads: the process's registry and, in a detecting one, its Faust app and
    partitions (an ingest-only process has neither: it is ready once the broker answers it)."""

    settings: Settings
    registry: CollectorRegistry
    contact: BrokerContact
    wall_clock_ms: Callable[[], int]
    app: Any = None
    """The faust.App: its rebalancing flag, table recovery and the assignor's partition owners."""
    detection: Detection | None = None
    customers_changelog: str = ""

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/customers/{subject}", self.customer)]

    def not_ready(self) -> list[str]:
        app, reasons = self.app, []
        if app is not None and (app.rebalancing or not app.tables.recovery.completed.is_set()):
            reasons.append("the consumer group has not settled this worker's partitions")
        if app is not None and app.in_recovery:
            reasons.append("recovering the state tables from their changelogs")
        silence = self.contact.silent_for()
        if silence > max(MIN_BROKER_SILENCE_SECONDS, 10 * self.settings.tick_interval / 1000):
            reasons.append(f"no acknowledgement from the broker for {silence:.0f} s")
        return reasons

    async def customer(self, request: web.Request) -> web.Response:
        subject = request.match_info["subject"]
        detection = self.detection
        if detection is None:
            return json_response(
                {"error": "this process only ingests (role ingest): ask a detecting one"}, status=404
            )
        partition = partition_for(subject, detection.partitions)
        if partition in detection.owned():
            return self._answer(detection, subject, partition)
        if request.headers.get(ROUTED_HEADER):
            return json_response(
                {"error": f"this worker does not own partition {partition} (any more)"}, status=503
            )
        owner = self._owner(partition)
        if owner is None:
            return json_response(
                {"error": f"no worker owns partition {partition} now (rebalancing)"}, status=503
            )
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"{owner}/customers/{subject}", headers={ROUTED_HEADER: "1"}) as answer,
        ):
            return web.Response(
                status=answer.status, body=await answer.read(), content_type="application/json"
            )

    def _answer(self, detection: Detection, subject: str, partition: int) -> web.Response:
        runtime = detection.runtime_for(partition)
        encoded = runtime.staged.get(subject)
        if encoded is None:
            return json_response({"error": f"no customer {subject} is known"}, status=404)
        state = CustomerState.decode(encoded, subject)
        at = runtime.engine.watermark
        if at == BEFORE_TIME:
            at = self.wall_clock_ms()
        return json_response(customer_view(subject, state, at=at, config=detection.config))

    def _owner(self, partition: int) -> str | None:
        owners = self.app.assignor.table_metadata(self.customers_changelog)
        for url, topics in owners.items():
            if partition in topics.get(self.customers_changelog, ()):
                return str(url).rstrip("/")
        return None


@web.middleware
async def unknown_paths_in_json(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPNotFound:
        return json_response({"error": f"no such path: {request.path}"}, status=404)
    return response


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=codec.dumps(body), content_type="application/json")


async def serve(application: web.Application, host: str, port: int) -> web.AppRunner:
    """Bind and serve in the running loop (the worker's endpoint, or the deliverer's); raises OSError
    when the port is taken. `runner.cleanup()` closes it."""
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
