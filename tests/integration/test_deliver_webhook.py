"""`sentinel deliver webhook` against a local receiver that verifies signatures as the README says.

The alerts are a replay's, written to the alert topic of the embedded broker as
the worker writes them (keyed by customer). The receiver answers as a test tells
it to, per Idempotency-Key and try: 503, a hang longer than `delivery_timeout`,
a refusal, or 200.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agents.replay import replay
from schemas import codec
from schemas.timestamps import SECOND
from streams.broker import create_topics, free_port
from streams.settings import Settings
from tests.readme import readme_verifier

from .conftest import UniqueName
from .delivery import (
    DeliverProcess,
    alert_end_offsets,
    committed_offsets,
    produce_alerts,
    wait_for,
)
from .pipeline import history_lines, read_topic, worker_settings

SECRET = "correct horse battery staple"
HANG = 1.5
"""Seconds a hanging answer takes: longer than the tests' delivery_timeout."""

Answer = Callable[[str, int], int | None]
"""(Idempotency-Key, try number from 1) → HTTP status to answer, or None to hang."""


@dataclass
class Receiver:
    """A webhook receiver on a loopback port; records every request it is sent."""

    answer: Answer
    delay: float = 0.0
    tries: Counter[str] = field(default_factory=Counter)
    delivered: dict[str, bytes] = field(default_factory=dict)
    """Idempotency-Key → body, for each request answered 200."""
    unverified: list[str] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    verified: Callable[[bytes, Mapping[str, str], bytes], bool] = field(default_factory=readme_verifier)

    def handle(self, headers: dict[str, str], body: bytes) -> int | None:
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            self.tries[key] += 1
            attempt = self.tries[key]
            self.headers_seen.append(headers)
            if not self.verified(SECRET.encode(), headers, body):
                self.unverified.append(key)
                return 401
        status = self.answer(key, attempt)
        if status == 200:
            with self.lock:
                self.delivered[key] = body
        return status


@contextmanager
def serving(receiver: Receiver) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.handle(dict(self.headers.items()), body)
            if status is None:
                time.sleep(HANG)
                return
            try:
                self.send_response(status)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"nope" if status >= 400 else b"okay")
            except OSError:
                pass  # the deliverer gave up waiting

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sentinel-alerts"
    finally:
        server.shutdown()
        server.server_close()


def webhook_settings(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path, **changes: object
) -> Settings:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path).replace(
        deliver_metrics_port=free_port(),
        alerts_dead_letter_topic=unique_name("alerts-dead-letter"),
        webhook_secret=SECRET,
        webhook_backoff=50,
        webhook_attempts=4,
        delivery_timeout=1 * SECOND,
    )
    return settings.replace(**changes)


def history_alerts(customers: int, seed: int) -> list[bytes]:
    return replay(history_lines(customers, seed=seed)[0]).alerts


def with_holdout(alert: bytes) -> bytes:
    event = codec.loads(alert)
    event["data"]["holdout"] = True
    return codec.dumps(event)


def test_every_alert_is_delivered_signed_through_failed_tries_and_held_out_ones_are_skipped(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = webhook_settings(bootstrap_servers, unique_name, tmp_path)
    alerts = history_alerts(40, seed=41)
    held_out = with_holdout(alerts[7])
    alerts = alerts[:7] + alerts[8:]
    ids = [codec.loads(alert)["id"] for alert in alerts]
    assert len(ids) > 150 and len(set(ids)) == len(ids)
    hangs = set(ids[::15])

    def answer(key: str, attempt: int) -> int | None:
        if attempt == 1:
            return 503
        if attempt == 2 and key in hangs:
            return None
        return 200

    receiver = Receiver(answer)
    asyncio.run(create_topics(settings, {settings.alerts_topic: settings.partitions}))
    with (
        serving(receiver) as url,
        DeliverProcess(settings, "webhook", url, tmp_path / "deliver.log") as deliverer,
    ):
        asyncio.run(produce_alerts(settings, [*alerts, held_out]))
        ends = asyncio.run(alert_end_offsets(settings))
        wait_for(
            lambda: asyncio.run(committed_offsets(settings, "webhook")) == ends,
            90,
            lambda: f"offsets {ends} committed; {len(receiver.delivered)} of {len(ids)} delivered",
        )
        metrics = {
            name: deliverer.sample(name)
            for name in (
                "sentinel_deliver_delivered_total",
                "sentinel_deliver_retried_total",
                "sentinel_deliver_failed_total",
                "sentinel_deliver_latency_seconds_count",
            )
        }
        skipped = deliverer.sample("sentinel_deliver_skipped_total", reason="holdout")
        assert deliverer.terminate() == 0

    assert receiver.unverified == []
    assert set(receiver.delivered) == set(ids), "every alert, under its event id"
    for alert in alerts:
        assert receiver.delivered[codec.loads(alert)["id"]] == alert, "the alert's bytes, as on the topic"
    assert all(receiver.tries[key] >= 2 for key in ids)
    assert all(receiver.tries[key] == 3 for key in hangs)
    assert codec.loads(held_out)["id"] not in receiver.tries
    assert skipped == 1
    assert metrics["sentinel_deliver_delivered_total"] == len(ids)
    assert metrics["sentinel_deliver_latency_seconds_count"] == len(ids)
    assert metrics["sentinel_deliver_retried_total"] >= len(ids) + len(hangs)
    assert metrics["sentinel_deliver_failed_total"] == 0
    headers = receiver.headers_seen[0]
    assert headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert headers["X-Sentinel-Signature"].startswith("sha256=")
    dead = asyncio.run(read_topic(settings, settings.alerts_dead_letter_topic, at_least=0, wait=3, settle=1))
    assert dead == []


def test_an_alert_undeliverable_after_its_tries_or_refused_goes_to_the_dead_letter_topic(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = webhook_settings(bootstrap_servers, unique_name, tmp_path, webhook_attempts=3)
    alerts = history_alerts(6, seed=43)[:20]
    ids = [codec.loads(alert)["id"] for alert in alerts]
    failing, refused = ids[3], ids[5]

    def answer(key: str, attempt: int) -> int | None:
        return {failing: 503, refused: 400}.get(key, 200)

    receiver = Receiver(answer)
    asyncio.run(create_topics(settings, {settings.alerts_topic: settings.partitions}))
    with (
        serving(receiver) as url,
        DeliverProcess(settings, "webhook", url, tmp_path / "deliver.log") as deliverer,
    ):
        asyncio.run(produce_alerts(settings, alerts))
        dead = asyncio.run(read_topic(settings, settings.alerts_dead_letter_topic, at_least=2, wait=60))
        ends = asyncio.run(alert_end_offsets(settings))
        wait_for(lambda: asyncio.run(committed_offsets(settings, "webhook")) == ends, 30, "offsets committed")
        undeliverable = deliverer.sample("sentinel_deliver_failed_total", reason="undeliverable")
        refusals = deliverer.sample("sentinel_deliver_failed_total", reason="refused")

    assert set(receiver.delivered) == set(ids) - {failing, refused}
    assert (receiver.tries[failing], receiver.tries[refused]) == (3, 1)
    by_id = {codec.loads(record.value)["id"]: record for record in dead}
    assert set(by_id) == {failing, refused}
    for key, reason, error, attempts in (
        (failing, "undeliverable", "HTTP 503: nope", "3"),
        (refused, "refused", "HTTP 400: nope", "1"),
    ):
        record = by_id[key]
        headers = {name: value.decode() for name, value in record.headers}
        assert record.value == alerts[ids.index(key)]
        assert record.key == codec.loads(record.value)["subject"].encode()
        assert headers["sentinel-reason"] == reason
        assert headers["sentinel-error"] == error
        assert headers["sentinel-attempts"] == attempts
        assert headers["sentinel-target"] == "webhook"
        assert headers["sentinel-source-topic"] == settings.alerts_topic
        assert int(headers["sentinel-source-offset"]) >= 0
    assert (undeliverable, refusals) == (1, 1)
    assert SECRET not in (tmp_path / "deliver.log").read_text()


def test_sigterm_stops_with_exactly_the_delivered_alerts_committed(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = webhook_settings(bootstrap_servers, unique_name, tmp_path)
    alerts = history_alerts(60, seed=47)
    assert len(alerts) > 300
    receiver = Receiver(lambda key, attempt: 200, delay=0.02)
    asyncio.run(create_topics(settings, {settings.alerts_topic: settings.partitions}))
    asyncio.run(produce_alerts(settings, alerts))
    with serving(receiver) as url:
        deliverer = DeliverProcess(settings, "webhook", url, tmp_path / "deliver.log").start()
        try:
            wait_for(lambda: len(receiver.delivered) >= 60, 60, "60 alerts delivered")
            assert deliverer.terminate() == 0
        finally:
            deliverer.stop()
    committed = asyncio.run(committed_offsets(settings, "webhook"))
    records = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(alerts), settle=1))
    below = {
        codec.loads(record.value)["id"] for record in records if record.offset < committed[record.partition]
    }
    assert len(below) < len(alerts), "stopped in the middle"
    assert set(receiver.delivered) == below
    assert "Traceback" not in (tmp_path / "deliver.log").read_text()
