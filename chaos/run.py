"""One scenario's run: its broker, workers and alert reader, waiting for the end, and the verdict."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from chaos.observe import AlertTail, Delivery, Snapshot, delivery, parse_metrics
from chaos.processes import Fleet, Worker, wall_ms
from chaos.verdict import Comparison, Disruption, compare, mismatches
from chaos.workload import PacedProducer, Workload
from schemas import codec
from streams.app import declare_topics
from streams.broker import EmbeddedBroker, end_offsets, free_port
from streams.settings import Settings
from streams.verify import checked_worker_settings, read_topic

CRASH_MARKS = ("Crashed reason=", "We experienced a crash", "sentinel worker: crashed")
"""How Faust logs an agent, a task or the whole app dying of an exception, and the one line a
worker that crashed after its start ends with (exit code 9)."""
SEEK_BACK_MARK = "were not delivered; reading again from it"
"""The line detection logs each time it seeks a partition back over a gap (`agents.detect.seek_back`)."""
QUIET_S = 4.0
"""The alert topic must stay this quiet before a run counts as finished (late re-sends show up)."""


@dataclass
class Context:
    """What every scenario gets: the seed, a directory for logs and state, a progress printer."""

    seed: int
    work_dir: Path
    say: Callable[[str], None]

    def rng(self, scenario: str) -> random.Random:
        """A generator of the scenario's own, so running one scenario alone draws the same moments."""
        return random.Random(f"{self.seed}/{scenario}")


@dataclass
class Outcome:
    """What a scenario did and found: the comparison, each disruption, named checks, raw facts."""

    scenario: str
    seed: int
    events: int
    expected: int
    seconds: float
    ended: str
    """How waiting for the end stopped: complete, caught-up, stuck or timeout."""
    comparison: Comparison | None
    disruptions: list[Disruption]
    checks: dict[str, bool]
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())


async def _uncommitted(settings: Settings, partitions: int) -> dict[str, int]:
    topics = {"internal": settings.internal_topic, "input": settings.touchpoints_topic}
    groups = {"internal": settings.app_id, "input": f"{settings.app_id}-ingest"}
    wanted = [TopicPartition(topic, p) for topic in topics.values() for p in range(partitions)]
    ends = await end_offsets(settings, wanted)
    behind: dict[str, int] = {}
    for kind, topic in topics.items():
        # A consumer that names the group but joins nothing reads its committed offsets.
        reader = AIOKafkaConsumer(
            group_id=groups[kind], bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False
        )
        await reader.start()
        try:
            total = 0
            for p in range(partitions):
                tp = TopicPartition(topic, p)
                total += ends[tp] - max(0, await reader.committed(tp) or 0)
        finally:
            await reader.stop()
        behind[kind] = total
    return behind


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Run:
    """A scenario's fleet on one fresh broker, its topics and group named after the scenario."""

    def __init__(
        self, ctx: Context, scenario: str, fleet: Fleet, load: Workload, *, partitions: int, store: str
    ) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.fleet = fleet
        self.load = load
        self.partitions = partitions
        self.store = store
        self.began = time.monotonic()
        self.disruptions: list[Disruption] = []
        self.facts: dict[str, Any] = {}
        self.findings: list[str] = []
        self.tail: AlertTail | None = None
        self._tag = f"{scenario}-{uuid.uuid4().hex[:6]}"
        self.settings: Settings | None = None

    def say(self, message: str) -> None:
        self.ctx.say(f"{self.scenario}: {message}")

    def use_broker(self, bootstrap: str) -> Settings:
        """The scenario's worker settings against `bootstrap` (event time only, short group timeouts)."""
        self.settings = checked_worker_settings(
            bootstrap,
            lambda kind: f"chaos-{kind}-{self._tag}",
            str(self.fleet.work_dir / "state"),
            self.partitions,
        ).replace(store=self.store)
        return self.settings

    def start_broker(self, port: int | None = None) -> EmbeddedBroker:
        broker = self.fleet.broker(port)
        self.use_broker(broker.bootstrap_servers)
        return broker

    @property
    def worker_settings(self) -> Settings:
        if self.settings is None:
            raise RuntimeError("no broker chosen yet")
        return self.settings

    def declare(self) -> None:
        asyncio.run(declare_topics(self.worker_settings))

    def worker(self, name: str, *, loglevel: str = "warning") -> Worker:
        """A worker of the scenario's group with a data directory and metrics port of its own."""
        settings = self.worker_settings.replace(
            data_dir=str(self.fleet.work_dir / "state" / name), metrics_port=free_port()
        )
        return self.fleet.worker(name, settings, loglevel=loglevel)

    def start_tail(self) -> AlertTail:
        settings = self.worker_settings
        self.tail = AlertTail(
            settings.bootstrap_servers, settings.alerts_topic, set(self.load.expected)
        ).start()
        self.fleet.closing.append(self.tail.stop)
        return self.tail

    def producer(self, rate: int) -> PacedProducer:
        """The history offered at `rate` events/s from a thread, stopped with the fleet."""
        producer = PacedProducer(self.worker_settings, self.load, rate).start()
        self.fleet.closing.append(producer.stop)
        return producer

    def disrupt(self, kind: str, moment: str, **details: Any) -> Disruption:
        disruption = Disruption(kind, wall_ms(), moment, details=details)
        self.disruptions.append(disruption)
        self.say(f"{kind}: {moment}")
        return disruption

    def uncommitted(self) -> dict[str, int]:
        """Messages past each group's committed offsets (what a restart will read again): the
        detection group's on the internal topic, ingest's on the touchpoints topic."""
        settings = self.worker_settings
        try:
            return asyncio.run(asyncio.wait_for(_uncommitted(settings, self.partitions), 15))
        except (KafkaError, TimeoutError) as error:
            return {"error": -1} if not str(error) else {f"error: {error}": -1}

    def snapshot(self, worker: Worker) -> Snapshot | None:
        text = worker.scrape() if worker.alive else None
        return parse_metrics(text, self.worker_settings.internal_topic) if text else None

    def owners(self, workers: list[Worker], window: float = 3.0) -> dict[str, list[int]]:
        """Which internal partitions each live worker is working on: those whose watermark gauge
        rose between two scrapes `window` apart (a gauge stays after its partition is revoked,
        so a series alone does not show ownership; a rising one does, while input flows)."""
        first = {worker.name: self.snapshot(worker) for worker in workers if worker.alive}
        time.sleep(window)
        owned: dict[str, list[int]] = {}
        for worker in workers:
            before, after = first.get(worker.name), self.snapshot(worker)
            if before is None or after is None:
                continue
            owned[worker.name] = sorted(
                partition
                for partition, mark in after.watermarks.items()
                if mark > before.watermarks.get(partition, float("-inf"))
            )
        return owned

    def settle(self, workers: list[Worker], *, stuck_after: float = 90.0, timeout: float = 900.0) -> str:
        """Wait for the end of the run: every alert replay gives was read (complete); or every
        partition's watermark reached the end with no detection lag (caught-up); or nothing
        moved for `stuck_after` seconds (stuck); or `timeout`. The topic must be quiet first.
        Short of complete, what each live worker's metrics said at the end goes into the facts."""
        ended = self._settle(workers, stuck_after, timeout)
        self.facts["internal_skipped"] = {
            worker.name: {reason: int(count) for reason, count in sorted(snapshot.internal_skipped.items())}
            for worker in workers
            if (snapshot := self.snapshot(worker)) is not None
        }
        if ended != "complete":
            self.facts["metrics_at_end"] = {
                worker.name: self.describe(snapshot)
                for worker in workers
                if (snapshot := self.snapshot(worker)) is not None
            }
        return ended

    def describe(self, snapshot: Snapshot) -> dict[str, Any]:
        """A worker's partitions: watermark (seconds before the history's end), detection and ingest lag."""
        return {
            "watermark_behind_end_s": {
                p: round(self.load.until_seconds - mark) for p, mark in sorted(snapshot.watermarks.items())
            },
            "detection_lag": {p: int(lag) for p, lag in sorted(snapshot.detection_lag.items())},
            "ingest_lag": {p: int(lag) for p, lag in sorted(snapshot.ingest_lag.items())},
        }

    def _settle(self, workers: list[Worker], stuck_after: float, timeout: float) -> str:
        tail = self.reader
        deadline = time.monotonic() + timeout
        last_move, last_state = time.monotonic(), (-1, -1.0)
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if tail.error is not None:
                raise RuntimeError(f"reading the alert topic failed: {tail.error!r}")
            quiet = tail.quiet_for()
            if tail.progress >= 1.0 and quiet >= QUIET_S:
                return "complete"
            # A gauge outlives its partition's revocation, so each partition is read off the worker
            # with its highest watermark, the one working on it now.
            owner: dict[int, tuple[float, float]] = {}
            for worker in workers:
                snapshot = self.snapshot(worker)
                if snapshot is None:
                    continue
                for partition, mark in snapshot.watermarks.items():
                    if mark > owner.get(partition, (float("-inf"), 0.0))[0]:
                        owner[partition] = (mark, snapshot.detection_lag.get(partition, 0.0))
            ends = [owner.get(partition, (0.0, 0.0))[0] for partition in range(self.partitions)]
            lag = sum(lag for _, lag in owner.values())
            if min(ends) >= self.load.until_seconds - 1e-3 and lag == 0 and quiet >= QUIET_S:
                return "caught-up"
            state = (tail.count, sum(ends))
            if state != last_state:
                last_move, last_state = time.monotonic(), state
            elif time.monotonic() - last_move > stuck_after:
                return "stuck"
        return "timeout"

    def verdict(self, ended: str, checks: dict[str, bool] | None = None) -> Outcome:
        """Read the whole alert topic once more and compare it with replay."""
        tail = self.reader
        seen = tail.count
        tail.stop()
        records = asyncio.run(
            read_topic(
                self.worker_settings,
                self.worker_settings.alerts_topic,
                at_least=seen,
                wait=120.0,
                settle=2.0,
                max_fetch_bytes=4 * 1024 * 1024,
            )
        )
        deliveries = [delivery(r.value, r.headers, r.partition, r.offset) for r in records]
        comparison = compare(deliveries, self.load, self.disruptions)
        if not comparison.exact:
            path = self.fleet.work_dir / "mismatches.jsonl"
            with path.open("wb") as out:
                out.writelines(codec.dumps(entry) + b"\n" for entry in mismatches(deliveries, self.load))
            self.facts["mismatches_file"] = str(path)
        return self.outcome(ended, comparison, deliveries, checks or {})

    def crashes(self) -> list[str]:
        """Every line in which Faust says an agent, a task or the app crashed, per worker; and the
        tracebacks each worker's log holds go into the facts."""
        found: list[str] = []
        tracebacks: dict[str, int] = {}
        seeks_back: dict[str, int] = {}
        for worker in self.fleet.workers:
            text = worker.log_text(0)
            tracebacks[worker.name] = text.count("Traceback (most recent call last)")
            seeks_back[worker.name] = text.count(SEEK_BACK_MARK)
            found += (
                f"{worker.name}: {line.strip()[:240]}"
                for line in text.splitlines()
                if any(mark in line for mark in CRASH_MARKS)
            )
        self.facts["tracebacks"] = tracebacks
        self.facts["seeks_back"] = seeks_back
        self.facts["crashes"] = found
        return found

    def outcome(
        self, ended: str, comparison: Comparison, deliveries: list[Delivery], checks: dict[str, bool]
    ) -> Outcome:
        every = {
            "0 lost": comparison.lost == 0,
            "0 unexpected": comparison.unexpected == 0,
            "0 conflicting": comparison.conflicting == 0,
            "re-sends within one round per disruption": all(d.rounds_resent <= 1 for d in self.disruptions),
            "no re-send without a disruption": comparison.unattributed_duplicates == 0,
            "every alert carries sentinel-processed-at": comparison.missing_header == 0,
            "replay gives each id once": self.load.replayed_ids_repeated == 0,
            "no crash in the workers' logs": not self.crashes(),
            **checks,
        }
        if comparison.lost:
            self.findings.append(f"{comparison.lost:,} alerts lost, e.g. {', '.join(comparison.lost_sample)}")
        if comparison.unexpected:
            self.findings.append(
                f"{comparison.unexpected:,} unexpected alerts, e.g. {', '.join(comparison.unexpected_sample)}"
            )
        if comparison.conflicting:
            self.findings.append(
                f"{comparison.conflicting:,} ids with other bytes, "
                f"e.g. {', '.join(comparison.conflicting_sample)}"
            )
        for disruption in self.disruptions:
            if disruption.rounds_resent > 1:
                self.findings.append(
                    f"{disruption.kind} ({disruption.moment}): {disruption.duplicates:,} re-sent alerts "
                    f"from {disruption.rounds_resent} rounds"
                )
        self.findings += (f"crash logged by {line}" for line in self.crashes()[:6])
        if comparison.unattributed_duplicates:
            self.findings.append(f"{comparison.unattributed_duplicates:,} re-sends before any disruption")
        if ended not in ("complete", "caught-up"):
            self.findings.append(f"the run did not finish: {ended}")
        self.facts["alert_records"] = len(deliveries)
        self.facts["load_average"] = [round(value, 2) for value in os.getloadavg()]
        return Outcome(
            scenario=self.scenario,
            seed=self.ctx.seed,
            events=len(self.load.lines),
            expected=len(self.load.expected),
            seconds=time.monotonic() - self.began,
            ended=ended,
            comparison=comparison,
            disruptions=self.disruptions,
            checks=every,
            facts=self.facts,
            findings=self.findings,
        )

    @property
    def reader(self) -> AlertTail:
        """The alert topic's reader (started by `start_tail`)."""
        if self.tail is None:
            raise RuntimeError("the alert topic is not being read")
        return self.tail
