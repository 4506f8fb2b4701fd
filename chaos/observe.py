"""What the suite watches while a scenario runs: the workers' metrics, the alert topic, the logs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from schemas import codec

PROCESSED_AT = "sentinel-processed-at"
"""The header with the wall-clock ms at which the worker published an alert; a round's alerts
share it, which is how the suite tells rounds apart from outside."""
TRACEBACK = "Traceback (most recent call last)"


@dataclass(slots=True)
class Snapshot:
    """One scrape of one worker."""

    watermarks: dict[int, float] = field(default_factory=dict)
    """Detection's watermark (Unix seconds) by internal partition."""
    detection_lag: dict[int, float] = field(default_factory=dict)
    """Internal-topic consumer lag by partition (detection)."""
    ingest_lag: dict[int, float] = field(default_factory=dict)
    """Touchpoints-topic consumer lag by partition (ingest)."""
    events: float = 0.0
    alerts: float = 0.0
    partitions_owned: float | None = None
    """The worker's own count of the internal partitions it detects on (`sentinel_partitions_owned`)."""
    internal_skipped: dict[str, float] = field(default_factory=dict)
    """Internal messages detection did not apply, by reason (redelivered, out_of_order), since the
    process started."""


def parse_metrics(text: str, internal_topic: str) -> Snapshot:
    snapshot = Snapshot()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "sentinel_watermark_seconds":
                snapshot.watermarks[int(labels["partition"])] = value
            elif name == "sentinel_consumer_lag_messages":
                lags = snapshot.detection_lag if labels["topic"] == internal_topic else snapshot.ingest_lag
                lags[int(labels["partition"])] = value
            elif name == "sentinel_events_total":
                snapshot.events += value
            elif name in ("sentinel_alerts_fired_total", "sentinel_alerts_resolved_total"):
                snapshot.alerts += value
            elif name == "sentinel_partitions_owned":
                snapshot.partitions_owned = value
            elif name == "sentinel_internal_messages_skipped_total":
                snapshot.internal_skipped[labels["reason"]] = value
    return snapshot


@dataclass(frozen=True, slots=True)
class Delivery:
    """One record of the alert topic."""

    id: str
    value: bytes
    processed_at: int | None
    """The worker's `sentinel-processed-at` header (wall ms), None when absent."""
    partition: int
    offset: int


def delivery(value: bytes, headers: object, partition: int, offset: int) -> Delivery:
    found = dict(headers or ())  # type: ignore[call-overload]
    raw = found.get(PROCESSED_AT)
    decoded = codec.loads(value)
    return Delivery(str(decoded.get("id")), value, int(raw) if raw else None, partition, offset)


class AlertTail:
    """Reads the alert topic from its start in a thread for as long as a scenario runs.

    It tells the scenario how far the worker got (distinct expected ids seen) and when a new
    round's alerts appear, so a kill can land while that round's writes are in flight.
    """

    def __init__(self, bootstrap: str, topic: str, expected: set[str]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.expected = expected
        self.deliveries: list[Delivery] = []
        self.seen_expected: set[str] = set()
        self.last_arrival: float | None = None
        """When the last records were read (monotonic), None before the first."""
        self.newest_round = 0
        """The highest `sentinel-processed-at` seen."""
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watch: tuple[int, threading.Event, Callable[[int], None] | None] | None = None
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="alert-tail", daemon=True)

    def start(self) -> AlertTail:
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def progress(self) -> float:
        with self._lock:
            return len(self.seen_expected) / len(self.expected) if self.expected else 1.0

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.deliveries)

    def quiet_for(self) -> float:
        """Seconds since records last arrived (since the reader started, before any did)."""
        return time.monotonic() - (self.last_arrival or self._started)

    def round_after(self, after_ms: int, action: Callable[[int], None] | None = None) -> threading.Event:
        """An event set as soon as an alert published after `after_ms` (wall ms) is read.

        `action` runs first, in the reader's thread, with the round's `sentinel-processed-at`:
        a kill or a pause lands a few milliseconds after the round's first alerts were read,
        while the rest of its alerts and its state writes are still on their way.
        """
        flag = threading.Event()
        with self._lock:
            if self.newest_round <= after_ms:
                self._watch = (after_ms, flag, action)
                return flag
            newest = self.newest_round
        if action is not None:
            action(newest)
        flag.set()
        return flag

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def _run(self) -> None:
        try:
            asyncio.run(self._consume())
        except BaseException as error:  # noqa: BLE001 - reported by the scenario, not lost in a thread
            self.error = error

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=10,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        try:
            while not self._stop.is_set():
                polled = await consumer.getmany(timeout_ms=100)
                if polled:
                    self._add(
                        [
                            delivery(r.value, r.headers, r.partition, r.offset)
                            for b in polled.values()
                            for r in b
                        ]
                    )
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10)

    def _add(self, records: list[Delivery]) -> None:
        fired = None
        with self._lock:
            self.deliveries.extend(records)
            self.last_arrival = time.monotonic()
            for record in records:
                if record.id in self.expected:
                    self.seen_expected.add(record.id)
                if record.processed_at is not None and record.processed_at > self.newest_round:
                    self.newest_round = record.processed_at
            if self._watch is not None and self.newest_round > self._watch[0]:
                fired, self._watch = (self._watch, self.newest_round), None
        if fired is not None:
            (_, flag, action), newest = fired
            if action is not None:
                action(newest)
            flag.set()


@dataclass(frozen=True, slots=True)
class LogWindow:
    """What a worker wrote to its log between two moments."""

    seconds: float
    lines: int
    tracebacks: int
    sample: list[str]
    """A few distinct lines, shortened, for the report."""

    @property
    def lines_per_minute(self) -> float:
        return self.lines * 60 / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "seconds": self.seconds,
            "lines": self.lines,
            "lines_per_minute": round(self.lines_per_minute, 1),
            "tracebacks": self.tracebacks,
            "sample": self.sample,
        }


def log_window(text: str, seconds: float, sample: int = 3, width: int = 160) -> LogWindow:
    lines = [line for line in text.splitlines() if line.strip()]
    distinct: list[str] = []
    for line in lines:
        short = line.strip()[:width]
        if short not in distinct and not short.startswith(("File ", "^")):
            distinct.append(short)
        if len(distinct) >= sample:
            break
    return LogWindow(seconds, len(lines), text.count(TRACEBACK), distinct)


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll until `condition` holds or `timeout` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
