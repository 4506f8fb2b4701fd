"""The histories the scenarios feed the worker, what replay makes of them, and how they are produced."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from zlib import crc32

from aiokafka import AIOKafkaProducer

from agents.replay import replay
from schemas import codec
from schemas.events import encode_event
from schemas.timestamps import MINUTE, parse_instant
from streams.clients import produce_lines
from streams.settings import Settings
from streams.traffic import lifecycle_history
from streams.verify import closing_events, produce_closing

HISTORY_START = parse_instant("2024-01-01T00:00:00Z")
SPAN_DAYS = 60


@dataclass(frozen=True)
class Workload:
    """A seeded lifecycle history as JSON lines, and the alerts `sentinel replay` gives for it.

    `expected` holds replay's alerts as the comparison takes them (`streams.verify.comparable`):
    up to the last real event, erased customers left out, since erasure is the one rule whose
    outcome depends on arrival. A record of the alert topic is compared only when `comparable`.
    """

    customers: int
    seed: int
    lines: tuple[bytes, ...]
    placement: tuple[tuple[int, str], ...]
    """(event time, customer) of each line, to place it on an input partition."""
    last_time: int
    expected: dict[str, bytes]
    erased: frozenset[str]
    replayed_ids_repeated: int
    """Ids replay itself gave more than once (0; counted so the comparison's premise is checked)."""

    @property
    def until_seconds(self) -> float:
        """The watermark every partition reaches once the closing events are in."""
        return self.last_time / 1000

    def closing(self, partitions: int) -> list[tuple[int, bytes]]:
        return closing_events(self.last_time + 5 * MINUTE, partitions)

    def comparable(self, value: bytes) -> bool:
        alert = codec.loads(value)
        return alert["subject"] not in self.erased and parse_instant(alert["time"]) <= self.last_time


History = tuple[tuple[bytes, ...], tuple[tuple[int, str], ...], frozenset[str]]


@cache
def _history(customers: int, seed: int) -> History:
    """(lines, placement, erased customers), kept once however many partition counts replay for."""
    events = lifecycle_history(customers, seed=seed, start=HISTORY_START, span_days=SPAN_DAYS)
    return (
        tuple(encode_event(event) for event in events),
        tuple((event.time, event.subject) for event in events),
        frozenset(event.subject for event in events if event.type == "customer.erased"),
    )


@cache
def workload(customers: int, seed: int, partitions: int) -> Workload:
    """Whole lifecycles of `customers` customers starting within 60 days, and replay's alerts
    with one closing event per partition; cached per process (a 100,000-event replay takes seconds)."""
    lines, placement, erased_customers = _history(customers, seed)
    last_time = placement[-1][0]
    closing = closing_events(last_time + 5 * MINUTE, partitions)
    everything = [*lines, *(value for _, value in closing)]
    erased = erased_customers | frozenset(codec.loads(value)["subject"] for _, value in closing)
    expected: dict[str, bytes] = {}
    repeated = 0
    for alert in replay(everything).alerts:
        decoded = codec.loads(alert)
        if decoded["subject"] in erased or parse_instant(decoded["time"]) > last_time:
            continue
        repeated += decoded["id"] in expected
        expected[decoded["id"]] = alert
    return Workload(customers, seed, lines, placement, last_time, expected, erased, repeated)


def produce_all(settings: Settings, load: Workload) -> None:
    """The whole history as fast as the producer goes (keyed by customer), then the closing events."""
    asyncio.run(produce_lines(settings, load.lines))
    asyncio.run(produce_closing(settings, settings.touchpoints_topic, load.closing(settings.partitions)))


def input_partition(subject: str, partitions: int) -> int:
    return crc32(subject.encode()) % partitions


def produce_skewed(settings: Settings, load: Workload, skew_ms: int) -> None:
    """Each customer's events to its own input partition in event-time order, partition p sent
    p times `skew_ms` of event time behind partition 0 (a producer that fell behind), at once."""
    partitions = settings.partitions

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
        await producer.start()
        try:
            placed = [(at, subject, input_partition(subject, partitions)) for at, subject in load.placement]
            ordered = sorted(range(len(placed)), key=lambda i: placed[i][0] + placed[i][2] * skew_ms)
            sends = []
            for index in ordered:
                _, subject, partition = placed[index]
                sends.append(
                    await producer.send(
                        settings.touchpoints_topic,
                        load.lines[index],
                        key=subject.encode(),
                        partition=partition,
                    )
                )
            await asyncio.gather(*sends)
        finally:
            await producer.stop()

    asyncio.run(send())
    asyncio.run(produce_closing(settings, settings.touchpoints_topic, load.closing(partitions)))


@dataclass
class PacedProducer:
    """Offers the history at `rate` events/s in 100 ms slices from a thread, then the closing
    events, so workers are under steady load while the scenario kills and adds them.

    `hold` stops the offer while the broker is paused, as upstream producers are blocked then
    too; on `release` it sends what it held back at once (their buffers flushing), then keeps
    to the rate again. Its requests wait up to 10 minutes, so a paused broker fails nothing.
    `rate` may change on the way; the next slices keep to the new one. Past `cap` (a fraction
    of the history) the offer goes on at `capped_rate` only, so a scenario whose disruptions
    take longer than planned does not run out of history before they are done.
    """

    settings: Settings
    load: Workload
    rate: int
    sent: int = 0
    cap: float = 1.0
    capped_rate: int = 150
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _open: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._open.set()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def start(self) -> PacedProducer:
        threading.Thread(target=self._run, name="paced-producer", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._open.set()

    @property
    def fraction(self) -> float:
        return self.sent / len(self.load.lines)

    def _run(self) -> None:
        try:
            asyncio.run(self._send())
        except BaseException as error:  # noqa: BLE001 - the scenario reports it
            self.error = error
        finally:
            self.done.set()

    async def _send(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            linger_ms=5,
            max_batch_size=1024 * 1024,
            request_timeout_ms=600_000,
        )
        await producer.start()
        try:
            lines, step = self.load.lines, max(1, self.rate // 10)
            due = time.monotonic()
            for start in range(0, len(lines), step):
                if not self._open.is_set():
                    await asyncio.to_thread(self._open.wait)
                if self._stop.is_set():
                    return
                sends = [
                    await producer.send(
                        self.settings.touchpoints_topic, line, key=codec.loads(line)["subject"].encode()
                    )
                    for line in lines[start : start + step]
                ]
                await asyncio.gather(*sends)
                sent, self.sent = self.sent, min(len(lines), start + step)
                rate = self.rate if self.fraction < self.cap else min(self.rate, self.capped_rate)
                due += (self.sent - sent) / rate  # behind after a hold: no sleep until caught up
                pause = due - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
        finally:
            await producer.stop()
        await produce_closing(
            self.settings, self.settings.touchpoints_topic, self.load.closing(self.settings.partitions)
        )
