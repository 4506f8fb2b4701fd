"""The Kafka side of `sentinel deliver`: a consumer group on the alert topic, a round at a time.

A round is what one poll returned. The target delivers all of it (or puts what it
cannot deliver in the alert dead-letter topic) and waits for the broker to
acknowledge whatever it wrote; only then are the round's offsets committed. A crash
at any point repeats at most the round under way, which every target tolerates:
Alertmanager identifies an alert by its labels, a webhook receiver by its
Idempotency-Key.

A rebalance waits for the round under way (the revocation takes the round lock),
and a partition's records are delivered only while the target holds that
partition's state (Alertmanager's open episodes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from agents.records import Headers, Record
from streams.delivery.metrics import DeliveryMetrics
from streams.kafka import Backoff, commit_with_backoff

log = logging.getLogger(__name__)

Polled = dict[TopicPartition, list[ConsumerRecord]]
ERROR_HEADER_MAX_BYTES = 1024
"""`sentinel-error` is cut here: a receiver's error page can be long."""


class Abandoned(Exception):
    """The process is stopping while a target still retries: the round is left for the next start."""


class Target(Protocol):
    """Where alerts go; `DeliveryLoop` calls it with the round lock held."""

    name: str
    max_records: int
    """Alerts per round at most: what a stop waits for, and what one commit covers."""

    def owns(self, partition: int) -> bool:
        """The target holds what it needs to deliver this partition's alerts."""
        ...

    async def assigned(self, partitions: set[int]) -> None: ...

    async def revoked(self, partitions: set[int]) -> None: ...

    async def deliver(self, polled: Polled) -> None:
        """Return once every alert is delivered, skipped or dead-lettered, and the broker acknowledged
        every record written on the way; raise `Abandoned` when stopping before that."""
        ...

    async def between_rounds(self) -> None:
        """Periodic work (re-posting open episodes), called after every poll."""
        ...

    def poll_timeout_ms(self) -> int: ...


@dataclass
class TargetContact:
    """How the target answered its latest request, for the readiness check: failing since when and
    why, or answering (it took the request, or refused it for good: it is reachable)."""

    failing_since: float | None = None
    """`time.monotonic()` of the first failure of the current run of failures; None while answering."""
    problem: str = ""

    def failed(self, problem: str) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.problem = problem

    def answered(self) -> None:
        self.failing_since = None
        self.problem = ""

    def failing_for(self) -> float | None:
        """Seconds since the target began failing, or None while it answers."""
        return None if self.failing_since is None else time.monotonic() - self.failing_since


@dataclass
class Retry:
    """Waits between tries at a request only the receiving end can make succeed: exponential from
    `first` to `longest` seconds with jitter (so that deliverers do not retry in step). A stop
    request ends the wait at once, with `Abandoned`. Every failure and success is told to `contact`,
    which the process's tries share."""

    what: str
    stopping: asyncio.Event
    first: float
    longest: float
    on_retry: Callable[[], None] = lambda: None
    contact: TargetContact = field(default_factory=TargetContact)
    attempts: int = 0

    def delay(self) -> float:
        return min(self.longest, self.first * 2 ** (self.attempts - 1)) * random.uniform(0.5, 1.0)

    async def wait(self, problem: str) -> None:
        self.contact.failed(problem)
        if self.stopping.is_set():
            raise Abandoned(f"{self.what}: stopping ({problem})")
        self.attempts += 1
        self.on_retry()
        delay = self.delay()
        log.warning(
            "%s failed (%s); attempt %d, trying again in %.1f s", self.what, problem, self.attempts, delay
        )
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)
        if self.stopping.is_set():
            raise Abandoned(f"{self.what}: stopping ({problem})")

    def succeeded(self) -> None:
        if self.attempts:
            log.warning("%s succeeded after %d failed attempts", self.what, self.attempts)
        self.attempts = 0
        self.contact.answered()

    def refused(self) -> None:
        """The target answered with a refusal that will not change: no more tries, but it is reachable."""
        self.attempts = 0
        self.contact.answered()

    def gave_up(self, problem: str) -> None:
        """The last try failed too (the caller allows no more): the target still counts as failing."""
        self.contact.failed(problem)


def dead_letter(
    topic: str, record: ConsumerRecord, reason: str, error: str, target: str, attempts: int
) -> Record:
    """An alert that could not be delivered, byte for byte, with why in its headers (as ingest's
    dead letters: `sentinel-reason`, `sentinel-error`, where it came from)."""
    cut = error.encode()[:ERROR_HEADER_MAX_BYTES]
    headers: Headers = [
        ("sentinel-reason", reason.encode()),
        ("sentinel-error", cut),
        ("sentinel-target", target.encode()),
        ("sentinel-attempts", str(attempts).encode()),
        ("sentinel-source-topic", record.topic.encode()),
        ("sentinel-source-partition", str(record.partition).encode()),
        ("sentinel-source-offset", str(record.offset).encode()),
    ]
    return Record(topic, record.key, record.value, headers, record.partition)


@dataclass
class DeliveryLoop:
    """Poll, deliver, commit, until `stopping` is set; see the module's docstring for the order."""

    consumer: AIOKafkaConsumer
    target: Target
    metrics: DeliveryMetrics
    stopping: asyncio.Event
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    failure: BaseException | None = None
    """An exception a rebalance callback raised (aiokafka would only log it): it ends the loop."""
    settled: bool = False
    """The group assigned this deliverer its partitions (perhaps none) and the target holds their
    state: False until the first assignment, and from a revocation until the next one is ready."""

    def listener(self) -> ConsumerRebalanceListener:
        return _Listener(self)

    async def run(self) -> None:
        backoff = Backoff("reading alerts")
        while not self.stopping.is_set():
            if self.failure is not None:
                raise self.failure
            try:
                polled = await self.consumer.getmany(
                    timeout_ms=self.target.poll_timeout_ms(), max_records=self.target.max_records
                )
            except KafkaError as error:
                await backoff.wait(error)
                continue
            backoff.succeeded()
            async with self.lock:
                mine = self._owned(polled)
                if mine:
                    await self.target.deliver(mine)
                    await self._commit(mine)
                    self._report_lag(mine)
                await self.target.between_rounds()

    def _owned(self, polled: Polled) -> Polled:
        """The records of partitions still assigned and ready: a rebalance may have come between
        the poll and the lock, and the new owner reads them from the last commit."""
        assigned = self.consumer.assignment()
        return {
            tp: records
            for tp, records in polled.items()
            if records and tp in assigned and self.target.owns(tp.partition)
        }

    async def _commit(self, delivered: Polled) -> None:
        offsets = {tp: records[-1].offset + 1 for tp, records in delivered.items()}
        await commit_with_backoff(self.consumer, "the alerts", offsets)

    def _report_lag(self, delivered: Polled) -> None:
        for tp, records in delivered.items():
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                self.metrics.set_lag(tp.partition, max(0, highwater - records[-1].offset - 1))

    async def partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self.settled = False
        async with self.lock:
            partitions = {tp.partition for tp in revoked}
            await self.target.revoked(partitions)
            self.metrics.forget_lag(partitions)

    async def partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        try:
            async with self.lock:
                await self.target.assigned({tp.partition for tp in assigned})
        except Exception as error:
            self.failure = error
            raise
        self.settled = True


class _Listener(ConsumerRebalanceListener):
    def __init__(self, loop: DeliveryLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self.loop.partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self.loop.partitions_assigned(assigned)
