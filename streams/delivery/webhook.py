"""`sentinel deliver webhook`: each alert POSTed as a signed CloudEvent, retried, or dead-lettered.

The body is the alert event exactly as on the alert topic (CloudEvents structured
mode, `Content-Type: application/cloudevents+json`). Headers:

- `X-Sentinel-Timestamp`: Unix seconds when this try was signed;
- `X-Sentinel-Signature`: `sha256=` + hex HMAC-SHA256, keyed with `webhook_secret`,
  of the timestamp, a dot, and the body bytes (`<timestamp>.<body>`);
- `Idempotency-Key`: the alert event's id, the same on every try and every
  delivery of that event (a fired and a resolved event have different ones).

Each try that fails for a reason that may pass (no connection, no answer within
`delivery_timeout`, 408, 425, 429 or 5xx) is tried again after an exponential
backoff with jitter, up to `webhook_attempts` tries; another answer (a 3xx or
4xx) will not change, so the alert is not tried again. Either way the alert then
goes to the alert dead-letter topic with the last error, and the round goes on.

Alerts of one partition go out in their order (an episode's firing before its
resolution); partitions go out side by side.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiokafka import AIOKafkaProducer, ConsumerRecord

from agents.records import Record
from schemas.alerts import parse_alert
from schemas.errors import InvalidAlert
from streams.delivery.alertmanager import skip_holdout
from streams.delivery.client import post_once, shown_url
from streams.delivery.loop import Polled, Retry, dead_letter
from streams.delivery.metrics import DeliveryMetrics
from streams.kafka import send_acknowledged
from streams.settings import Settings

log = logging.getLogger(__name__)

TARGET = "webhook"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
SIGNATURE_HEADER = "X-Sentinel-Signature"
TIMESTAMP_HEADER = "X-Sentinel-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRIABLE = frozenset({408, 425, 429})
"""Besides every 5xx: answers that say "later", not "never"."""
LONGEST_BACKOFF = 300.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the secret over `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, timestamp: int, body: bytes, event_id: str) -> dict[str, str]:
    return {
        "Content-Type": CONTENT_TYPE,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        IDEMPOTENCY_HEADER: event_id,
    }


def retriable(status: int) -> bool:
    return status >= 500 or status in RETRIABLE


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one alert ended: delivered (`error` None), or why not after `attempts` tries."""

    error: str | None
    attempts: int
    reason: str = "undeliverable"


class WebhookTarget:
    """Posts every alert of a round, partitions side by side; dead-letters what it cannot deliver."""

    name = TARGET
    max_records = 100
    """One POST each: a round of 100 keeps a stop short and commits often."""

    def __init__(
        self,
        settings: Settings,
        url: str,
        session: aiohttp.ClientSession,
        producer: AIOKafkaProducer,
        metrics: DeliveryMetrics,
        retry: Callable[[str], Retry],
        clock_ms: Callable[[], int],
        *,
        include_holdouts: bool = False,
    ) -> None:
        self.settings = settings
        self.url = url
        self.session = session
        self.producer = producer
        self.metrics = metrics
        self.retry = retry
        self.clock_ms = clock_ms
        self.include_holdouts = include_holdouts
        self.timeout = aiohttp.ClientTimeout(total=settings.delivery_timeout / 1000)
        self.owned: set[int] = set()

    def owns(self, partition: int) -> bool:
        return partition in self.owned

    async def assigned(self, partitions: set[int]) -> None:
        self.owned |= partitions

    async def revoked(self, partitions: set[int]) -> None:
        self.owned -= partitions

    def poll_timeout_ms(self) -> int:
        return 500

    async def between_rounds(self) -> None:
        return None

    async def deliver(self, polled: Polled) -> None:
        tasks = [asyncio.create_task(self._partition(records)) for records in polled.values()]
        try:
            done = await asyncio.gather(*tasks)
        except BaseException:  # Abandoned, or a bug: the other partitions stop too
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        dead_letters = [letter for letters in done for letter in letters]
        await send_acknowledged(self._producer, dead_letters, on_retry=self.metrics.count_retry)
        for letter in dead_letters:
            reason = dict(letter.headers)["sentinel-reason"].decode()
            self.metrics.count_failed(reason)

    async def _producer(self) -> AIOKafkaProducer:
        return self.producer

    async def _partition(self, records: list[ConsumerRecord]) -> list[Record]:
        dead_letters = []
        topic = self.settings.alerts_dead_letter_topic
        for record in records:
            body = record.value or b""
            try:
                alert = parse_alert(body)
            except InvalidAlert as error:
                dead_letters.append(dead_letter(topic, record, "invalid_alert", str(error), TARGET, 0))
                continue
            if skip_holdout(alert, self.include_holdouts):
                self.metrics.count_skipped("holdout")
                continue
            outcome = await self._post(body, alert.event_id)
            if outcome.error is None:
                kind = "resolved" if alert.resolved else "notice" if alert.notice else "fired"
                self.metrics.count_delivered(kind, record.timestamp, self.clock_ms())
            else:
                log.error("alert %s not delivered (%s); dead-lettered", alert.event_id, outcome.error)
                dead_letters.append(
                    dead_letter(topic, record, outcome.reason, outcome.error, TARGET, outcome.attempts)
                )
        return dead_letters

    async def _post(self, body: bytes, event_id: str) -> Outcome:
        retry = self.retry(f"posting alert {event_id} to {shown_url(self.url)}")
        attempts = self.settings.webhook_attempts
        for attempt in range(1, attempts + 1):
            headers = signed_headers(self.settings.webhook_secret, self.clock_ms() // 1000, body, event_id)
            answer = await post_once(self.session, self.url, body, headers, self.timeout)
            if answer.accepted:
                retry.succeeded()
                return Outcome(None, attempt)
            problem = answer.described(500)
            if answer.status is not None and not retriable(answer.status):
                retry.refused()
                return Outcome(problem, attempt, "refused")
            if attempt == attempts:
                retry.gave_up(problem)
                return Outcome(problem, attempt)
            await retry.wait(problem)
        raise AssertionError("unreachable")
