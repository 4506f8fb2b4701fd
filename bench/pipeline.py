"""End-to-end pipeline benchmark on the embedded broker (issue 4).

One run, one broker, one workload, three consumers side by side:

- ceiling: aiokafka `getmany` + orjson decode + a dict update per event (no framework, no output);
- naive:   a Faust agent, one event per message, one table write per event (memory store);
- worker:  `sentinel worker` (ingest + detection, all 18 patterns, changelogged state, alerts),
           timed until every alert is out and every state write reached the changelog.

Then the worker again on half the customers (the slope between the two peak RSS figures is
the memory one more customer costs), and on a fresh topic at a paced offered load (5,000
events/s) for its event-to-alert latency. The workload is a seeded lifecycle history (streams.traffic) of
100,000 customers with ~250-byte CloudEvents, one event per Kafka message, 4 partitions,
capped to its first 500,000 events (every customer appears in them).

Correctness inside the benchmark: the alerts the worker produced under load must equal,
byte for byte (sorted), what `sentinel replay` gives for the same history up to the time
every input partition's clock reached (one closing event per input partition).

    .venv/bin/python -m bench.pipeline [--customers N] [--events N] [--latency-seconds S]

Prints a table and writes bench/results/pipeline.json. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from schemas import codec
from schemas.events import encode_event
from schemas.timestamps import MINUTE, parse_instant
from streams.broker import EmbeddedBroker, create_topics, end_offsets
from streams.clients import produce_lines
from streams.settings import Settings
from streams.subprocesses import stop_process
from streams.traffic import lifecycle_history
from streams.verify import (
    checked_worker_settings,
    closing_events,
    comparable,
    expected_alerts,
    produce_closing,
    read_topic,
)
from streams.worker import WorkerProcess

GOAL_EVENTS_PER_S = 60_000
GOAL_P99_S = 0.250
GOAL_BYTES_PER_CUSTOMER = 1024
GOAL_CUSTOMERS = 1_000_000
OFFERED_LOAD = 5_000
PARTITIONS = 4
HISTORY_START = parse_instant("2024-01-01T00:00:00Z")
RESULTS = Path(__file__).parent / "results" / "pipeline.json"
SCRAPE_INTERVAL = 0.2
MAX_FETCH_BYTES = 4 * 1024 * 1024


def say(message: str) -> None:
    print(f"[bench.pipeline {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- workload


@dataclass
class Workload:
    lines: list[bytes]
    customers: int
    last_time: int
    closing: list[tuple[int, bytes]]
    """One harmless event per input partition, after the last one: every input clock reaches it."""

    @property
    def messages(self) -> int:
        return len(self.lines) + len(self.closing)

    @property
    def mean_bytes(self) -> float:
        return sum(map(len, self.lines)) / len(self.lines)


def make_workload(customers: int, events: int, seed: int, span_days: int) -> Workload:
    history = lifecycle_history(customers, seed=seed, start=HISTORY_START, span_days=span_days)
    head = history[:events]
    del history
    lines = [encode_event(event) for event in head]
    last_time = head[-1].time
    distinct = len({event.subject for event in head})
    return Workload(lines, distinct, last_time, closing_events(last_time + 5 * MINUTE, PARTITIONS))


# --------------------------------------------------------------------------- process probes


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (bytes) of a process, from /proc (psutil is not installed)."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024
    return values


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by named processes and by the whole machine between creation and `stop()`.

    This machine may be shared: `other_cores` is what everything else used meanwhile
    (other sessions' tests, builds), in cores; anything well above 0 disturbed the figure.
    """

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.started = time.perf_counter()
        self.machine = machine_cpu()
        self.cpu = {name: self._cpu(pid) for name, pid in self.pids.items()}

    @staticmethod
    def _cpu(pid: int) -> float:
        try:
            return cpu_seconds(pid)
        except OSError:
            return 0.0

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.started
        busy, total = machine_cpu()
        ticks_per_core = (total - self.machine[1]) / (os.cpu_count() or 1)
        machine_busy = (busy - self.machine[0]) / ticks_per_core if ticks_per_core else 0.0
        cores = {f"{name}_cores": (self._cpu(pid) - self.cpu[name]) / wall for name, pid in self.pids.items()}
        return {
            "wall_s": wall,
            "machine_busy_cores": machine_busy,
            **cores,
            "other_cores": max(0.0, machine_busy - sum(cores.values())),
        }


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def self_memory() -> dict[str, int]:
    return proc_status(os.getpid())


@dataclass
class Scrape:
    """The worker metrics the benchmark follows."""

    at: float
    events: float = 0.0
    fired: float = 0.0
    resolved: float = 0.0
    customers: float = 0.0
    watermarks: dict[str, float] = field(default_factory=dict)
    lag: float = 0.0
    latency_buckets: list[tuple[float, float]] = field(default_factory=list)
    latency_count: float = 0.0
    latency_sum: float = 0.0


def parse_metrics(text: str, at: float) -> Scrape:
    scrape = Scrape(at)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "sentinel_events_total":
                scrape.events += value
            elif name == "sentinel_alerts_fired_total":
                scrape.fired += value
            elif name == "sentinel_alerts_resolved_total":
                scrape.resolved += value
            elif name == "sentinel_customers_tracked":
                scrape.customers = value
            elif name == "sentinel_watermark_seconds":
                scrape.watermarks[labels["partition"]] = value
            elif name == "sentinel_consumer_lag_messages":
                scrape.lag += value
            elif name == "sentinel_event_to_alert_latency_seconds_bucket":
                scrape.latency_buckets.append((float(labels["le"]), value))
            elif name == "sentinel_event_to_alert_latency_seconds_count":
                scrape.latency_count = value
            elif name == "sentinel_event_to_alert_latency_seconds_sum":
                scrape.latency_sum = value
    scrape.latency_buckets.sort()
    return scrape


def scrape(worker: WorkerProcess, patience: float = 60.0) -> Scrape:
    """The worker's metrics, stamped when they arrived. A worker deep in a large round can miss
    one request's timeout on a loaded machine; that is a late sample, not a failed run, so ask
    again until `patience` seconds have passed."""
    give_up_at = time.monotonic() + patience
    while True:
        try:
            text = worker.scrape()
        except OSError:
            if time.monotonic() >= give_up_at:
                raise
            continue
        return parse_metrics(text, time.perf_counter())


def histogram_quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile of a sample."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
    return ordered[index]


# --------------------------------------------------------------------------- child processes


def run_child(
    role: str,
    arguments: list[str],
    result_path: Path,
    timeout: float,
    log_path: Path,
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """Run `python -m bench.pipeline <role> ...`; it writes its result JSON to `result_path`."""
    command = [sys.executable, "-m", "bench.pipeline", role, "--result", str(result_path), *arguments]
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    meter = CpuMeter({"child": process.pid, "broker": broker_pid, "bench": os.getpid()})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if result_path.exists():
                break
            if process.poll() is not None:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{role} gave no result within {timeout:.0f} s; see {log_path}")
        if not result_path.exists():
            raise RuntimeError(f"{role} exited with {process.returncode} without a result; see {log_path}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        result["load"] = meter.stop()
        return result
    finally:
        stop_process(process, 15)


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Atomically, so the parent never reads half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(result))
    partial.rename(path)


async def ceiling_consumer(bootstrap: str, topic: str, expect: int, cap_seconds: float) -> dict[str, Any]:
    """The raw ceiling: getmany, orjson, one dict update per event; nothing written anywhere."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_FETCH_BYTES,
    )
    await consumer.start()
    state: dict[str, tuple[int, str]] = {}
    seen = 0
    started = time.perf_counter()
    try:
        while seen < expect:
            polled = await consumer.getmany(timeout_ms=500)
            for records in polled.values():
                for record in records:
                    event = orjson.loads(record.value)
                    subject = event["subject"]
                    count = state.get(subject, (0, ""))[0]
                    state[subject] = (count + 1, event["time"])
                seen += len(records)
            if time.perf_counter() - started > cap_seconds:
                break
        finished = time.perf_counter()
    finally:
        await consumer.stop()
    return {
        "events": seen,
        "events_measured": seen,
        "seconds": finished - started,
        "events_per_s": seen / (finished - started),
        "customers": len(state),
        "expected": expect,
        "capped": seen < expect,
        "peak_rss_bytes": self_memory()["VmHWM"],
        "rss_bytes": self_memory()["VmRSS"],
        "note": "timed from the first getmany (no group: nothing to join) to the last record handled",
    }


def ceiling_main(args: argparse.Namespace) -> None:
    baseline = self_memory()["VmRSS"]
    result = asyncio.run(ceiling_consumer(args.bootstrap, args.topic, args.expect, args.cap_seconds))
    result["baseline_rss_bytes"] = baseline
    write_result(Path(args.result), result)


def naive_main(args: argparse.Namespace) -> None:
    """The naive Faust design: an agent over single-event messages, one table write per event."""
    import faust

    app = faust.App(
        args.app_id,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        datadir=args.data_dir,
        autodiscover=False,
        web_enabled=False,
        topic_partitions=PARTITIONS,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=3,
        broker_session_timeout=6,
        broker_heartbeat_interval=2,
        stream_wait_empty=False,
    )
    source = app.topic(
        args.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    table = app.Table(
        "customers",
        default=None,
        partitions=PARTITIONS,
        schema=faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"),
    )
    result_path = Path(args.result)
    baseline = self_memory()["VmRSS"]
    progress = {"seen": 0, "started": 0.0, "done": False}

    def finish() -> None:
        finished = time.perf_counter()
        seen = int(progress["seen"])
        memory = self_memory()
        write_result(
            result_path,
            {
                "events": seen,
                "events_measured": seen - 1,
                "seconds": finished - progress["started"],
                "events_per_s": (seen - 1) / (finished - progress["started"]),
                "customers": len(table),
                "expected": args.expect,
                "capped": seen < args.expect,
                "peak_rss_bytes": memory["VmHWM"],
                "rss_bytes": memory["VmRSS"],
                "baseline_rss_bytes": baseline,
                "note": "timed from the first event processed to the last (group join excluded)",
            },
        )
        progress["done"] = True

    @app.agent(source)
    async def naive(stream: Any) -> None:
        async for value in stream:
            event = orjson.loads(value)
            key = event["subject"].encode()
            previous = table.get(key)
            count = orjson.loads(previous)[0] + 1 if previous else 1
            table[key] = orjson.dumps([count, event["time"]])
            progress["seen"] += 1
            if progress["seen"] == 1:
                progress["started"] = time.perf_counter()
            if not progress["done"] and (
                progress["seen"] >= args.expect
                or time.perf_counter() - progress["started"] > args.cap_seconds
            ):
                finish()

    worker = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


def child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline <ceiling|naive>")
    parser.add_argument("role", choices=("ceiling", "naive"))
    parser.add_argument("--result", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--cap-seconds", type=float, default=120.0)
    parser.add_argument("--app-id", default="bench-naive")
    parser.add_argument("--data-dir", default=".")
    args = parser.parse_args(argv)
    if args.role == "ceiling":
        ceiling_main(args)
    else:
        naive_main(args)


# --------------------------------------------------------------------------- the worker


def worker_settings(bootstrap: str, tag: str, data_dir: Path, touchpoints_topic: str) -> Settings:
    def name(kind: str) -> str:
        return f"bench-{kind}-{tag}"

    settings = checked_worker_settings(bootstrap, name, str(data_dir), PARTITIONS)
    return settings.replace(touchpoints_topic=touchpoints_topic)


async def read_alerts(bootstrap: str, topic: str, *, at_least: int) -> list[Any]:
    """Every record of the alert topic: waits for `at_least`, then for 2 quiet seconds."""
    return await read_topic(
        bootstrap, topic, at_least=at_least, wait=120.0, settle=2.0, max_fetch_bytes=MAX_FETCH_BYTES
    )


def caught_up(scraped: Scrape, target_seconds: float) -> bool:
    """Every internal partition's watermark reached the closing clocks (less the lateness)."""
    marks = scraped.watermarks
    return len(marks) == PARTITIONS and all(mark >= target_seconds - 1e-3 for mark in marks.values())


def worker_throughput(
    bootstrap: str, topic: str, workload: Workload, work_dir: Path, timeout: float, broker_pid: int | None
) -> tuple[dict[str, Any], list[bytes]]:
    """Whole workload already on the topic; time the worker from its first processed event to the last.

    Ingest (a plain aiokafka group) and detection (a Faust agent) join their groups at different
    moments, a few seconds apart. The window opens when the first of them starts working and
    closes when every partition's watermark reached the closing clocks; the part of the gap
    between the two starts in which the worker process sat idle (wall time minus its CPU time)
    is taken out, so neither group join counts, and no work done before the second start is
    left out either.
    """
    settings = worker_settings(bootstrap, "throughput-" + uuid.uuid4().hex[:6], work_dir / "state", topic)
    target = workload.last_time / 1000
    worker = WorkerProcess(settings, work_dir / "worker-throughput.log")
    worker.start()
    assert worker.process is not None
    pid = worker.process.pid
    say(f"worker pid {pid} up (metrics :{settings.metrics_port}); waiting for both stages to start")
    try:
        previous, previous_cpu = scrape(worker), cpu_seconds(pid)
        idle_rss = proc_status(pid)["VmRSS"]
        first: tuple[float, float] | None = None  # (time, cpu) of the last scrape before any stage worked
        both: tuple[float, float] | None = None  # ... before both stages worked
        meter: CpuMeter | None = None
        deadline = time.monotonic() + timeout
        last_report = time.monotonic()
        while True:
            time.sleep(SCRAPE_INTERVAL)
            cpu = cpu_seconds(pid)
            current = scrape(worker)
            ingest_on, detect_on = current.events > 0, bool(current.watermarks)
            if first is None:
                if ingest_on or detect_on:
                    first = (previous.at, previous_cpu)
                    meter = CpuMeter({"worker": pid, "broker": broker_pid, "bench": os.getpid()})
                else:
                    idle_rss = proc_status(pid)["VmRSS"]
            if both is None and ingest_on and detect_on:
                both = (previous.at, previous_cpu)
                ingested_at_both = previous.events
            if both is not None and caught_up(current, target):
                finished_at, final, end_cpu = current.at, current, cpu
                break
            previous, previous_cpu = current, cpu
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                say(
                    f"  ingested {current.events:,.0f}/{workload.messages:,}, "
                    f"customers {current.customers:,.0f}, alerts {current.fired + current.resolved:,.0f}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not catch up within {timeout:.0f} s")
        assert first is not None and meter is not None
        alerts_memory = proc_status(pid)
        gap_wall = both[0] - first[0]
        gap_idle = max(0.0, gap_wall - (both[1] - first[1]))
        alerts_seconds = finished_at - first[0] - gap_idle
        say(f"every alert out after {alerts_seconds:.1f} s; waiting for the state changelog to drain")
        changelog = f"{settings.app_id}-customers-changelog"
        durable_at, changelog_records = wait_changelog_drained(bootstrap, changelog, timeout)
        durable_cpu = cpu_seconds(pid)
        load = meter.stop()
        memory = proc_status(pid)
        seconds = durable_at - first[0] - gap_idle
        say(f"state changelog complete after {seconds:.1f} s ({changelog_records:,} records); reading alerts")
        records = asyncio.run(
            read_alerts(bootstrap, settings.alerts_topic, at_least=int(final.fired + final.resolved))
        )
    finally:
        worker.stop()
    customers = final.customers
    grown = memory["VmHWM"] - idle_rss
    steady = memory["VmRSS"] - idle_rss
    result = {
        "events": workload.messages,
        "seconds": seconds,
        "events_per_s": workload.messages / seconds,
        "alerts_complete_s": alerts_seconds,
        "events_per_s_alerts_complete": workload.messages / alerts_seconds,
        "changelog_records": changelog_records,
        "rss_bytes_when_alerts_complete": alerts_memory["VmRSS"],
        "window_from_first_stage_s": finished_at - first[0],
        "window_from_second_stage_s": finished_at - both[0],
        "stage_start_gap_s": gap_wall,
        "gap_idle_s": gap_idle,
        "events_ingested_when_second_stage_started": ingested_at_both,
        "cpu_seconds": durable_cpu - first[1],
        "cpu_utilisation": (durable_cpu - first[1]) / seconds,
        "cpu_seconds_alerts_complete": end_cpu - first[1],
        "load": load,
        "alerts": int(final.fired + final.resolved),
        "alert_records": len(records),
        "customers": int(customers),
        "idle_rss_bytes": idle_rss,
        "rss_bytes": memory["VmRSS"],
        "peak_rss_bytes": memory["VmHWM"],
        "peak_bytes_per_customer": grown / customers if customers else None,
        "rss_bytes_per_customer": steady / customers if customers else None,
        "note": (
            "window: from the last scrape before ingest or detection started working to the moment "
            "the customers changelog stopped growing (every state written), less the idle part of "
            "the gap between the two stages' starts (scrapes every "
            f"{SCRAPE_INTERVAL} s); alerts_complete_s: to the first scrape at which every "
            "partition's watermark reached the closing clocks (every alert sent)"
        ),
    }
    return result, [record.value for record in records]


def wait_changelog_drained(
    bootstrap: str, topic: str, timeout: float, quiet: float = 2.0
) -> tuple[float, int]:
    """When the changelog stopped growing (perf_counter time of the first poll that saw its final
    size), and that size: the worker's state is durable once Faust's producer buffer is empty."""

    async def size() -> int:
        ends = await end_offsets(bootstrap, [TopicPartition(topic, p) for p in range(PARTITIONS)])
        return sum(ends.values())

    deadline = time.monotonic() + timeout
    last_size, last_change = asyncio.run(size()), time.perf_counter()
    while time.perf_counter() - last_change < quiet:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the changelog {topic} kept growing for {timeout:.0f} s")
        time.sleep(0.25)
        now_size = asyncio.run(size())
        if now_size != last_size:
            last_size, last_change = now_size, time.perf_counter()
    return last_change, last_size


@dataclass
class PacedRun:
    sent_ms: dict[str, int] = field(default_factory=dict)
    event_time: dict[str, int] = field(default_factory=dict)
    read_ms: dict[bytes, int] = field(default_factory=dict)
    records: list[Any] = field(default_factory=list)
    offered_per_s: float = 0.0
    behind_max_s: float = 0.0


async def read_alerts_live(consumer: AIOKafkaConsumer, run: PacedRun, stop: asyncio.Event) -> None:
    """Note the wall time at which each alert becomes readable on the alert topic."""
    while not stop.is_set():
        polled = await consumer.getmany(timeout_ms=50)
        now_ms = time.time_ns() // 1_000_000
        for batch in polled.values():
            for record in batch:
                run.records.append(record)
                run.read_ms[record.value] = now_ms


async def produce_paced(
    producer: AIOKafkaProducer, topic: str, lines: Sequence[bytes], rate: float, run: PacedRun
) -> None:
    """Send `lines` at `rate` events/s in 10 ms slices, each stamped with its send time."""
    per_tick = max(1, round(rate * 0.01))
    started = time.perf_counter()
    pending = []
    for index in range(0, len(lines), per_tick):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            run.behind_max_s = max(run.behind_max_s, -delay)
        now_ms = time.time_ns() // 1_000_000
        for line in lines[index : index + per_tick]:
            event = orjson.loads(line)
            run.sent_ms[event["id"]] = now_ms
            run.event_time[event["id"]] = parse_instant(event["time"])
            pending.append(
                await producer.send(topic, line, key=event["subject"].encode(), timestamp_ms=now_ms)
            )
        if len(pending) > 5_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    run.offered_per_s = len(lines) / (time.perf_counter() - started)


def event_caused(value: bytes, run: PacedRun) -> str | None:
    """The paced event that made this alert fire or resolve (its time is the alert's), if any.

    Alerts fired by a deadline carry the deadline's time and no trigger at that time: their
    latency is a watermark's, not an event's, and they are left out, as the worker's own
    histogram leaves them out.
    """
    alert = codec.loads(value)
    at = parse_instant(alert["time"])
    causes = [
        event_id
        for event_id in alert["data"].get("trigger_event_ids") or ()
        if run.event_time.get(event_id) == at and event_id in run.sent_ms
    ]
    return max(causes, key=run.sent_ms.__getitem__) if causes else None


def worker_latency(
    bootstrap: str,
    lines: Sequence[bytes],
    warmup: int,
    rate: float,
    work_dir: Path,
    timeout: float,
    broker_pid: int | None,
) -> dict[str, Any]:
    """A fresh worker on a fresh topic; warm it up, then offer `rate` events/s and time alerts."""
    tag = "latency-" + uuid.uuid4().hex[:6]
    topic = f"bench-live-touchpoints-{tag}"
    asyncio.run(create_topics(bootstrap, {topic: PARTITIONS}))
    settings = worker_settings(bootstrap, tag, work_dir / "state-latency", topic)
    worker = WorkerProcess(settings, work_dir / "worker-latency.log")
    worker.start()
    assert worker.process is not None
    pid = worker.process.pid
    try:
        asyncio.run(produce_lines(settings, lines[:warmup]))
        deadline = time.monotonic() + timeout
        while True:
            current = scrape(worker)
            if current.events >= warmup and len(current.watermarks) == PARTITIONS:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the latency worker did not start processing")
            time.sleep(SCRAPE_INTERVAL)
        say(
            f"latency worker warm ({warmup} events); "
            f"offering {rate:,.0f} events/s for {len(lines) - warmup:,} events"
        )
        paced = lines[warmup:]
        last_time = parse_instant(orjson.loads(paced[-1])["time"])
        closing = closing_events(last_time + 5 * MINUTE, PARTITIONS)
        before = scrape(worker)
        cpu_before = cpu_seconds(pid)
        wall_before = time.perf_counter()

        async def run_all() -> tuple[PacedRun, Scrape, float, float, dict[str, float]]:
            run = PacedRun()
            meter = CpuMeter({"worker": pid, "broker": broker_pid, "bench": os.getpid()})
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
            consumer = AIOKafkaConsumer(
                settings.alerts_topic,
                bootstrap_servers=bootstrap,
                group_id=None,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=20,
            )
            await producer.start()
            await consumer.start()
            stop = asyncio.Event()
            reading = asyncio.create_task(read_alerts_live(consumer, run, stop))
            try:
                await produce_paced(producer, topic, paced, rate, run)
                load = meter.stop()
                offered_until = time.perf_counter()
                for partition, value in closing:
                    await producer.send_and_wait(topic, value, partition=partition)
                deadline = time.monotonic() + timeout
                while True:
                    current = await asyncio.to_thread(scrape, worker)
                    if caught_up(current, last_time / 1000):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the latency worker did not catch up")
                    await asyncio.sleep(SCRAPE_INTERVAL)
                cpu = cpu_seconds(pid)
                catch_up = time.perf_counter() - offered_until
                await asyncio.sleep(1.5)  # the last alerts reach the reader
            finally:
                stop.set()
                await reading
                await consumer.stop()
                await producer.stop()
            return run, current, cpu, catch_up, load

        run, after, cpu_after, catch_up, load = asyncio.run(run_all())
        wall = time.perf_counter() - wall_before
        memory = proc_status(pid)
    finally:
        worker.stop()

    end_to_end: list[float] = []
    worker_side: list[float] = []
    by_send: list[tuple[int, float]] = []
    for record in run.records:
        cause = event_caused(record.value, run)
        if cause is None:
            continue
        sent = run.sent_ms[cause]
        end_to_end.append((run.read_ms[record.value] - sent) / 1000)
        by_send.append((sent, end_to_end[-1]))
        processed = dict(record.headers or ()).get("sentinel-processed-at")
        if processed is not None:
            worker_side.append((int(processed) - sent) / 1000)

    def delta_buckets() -> list[tuple[float, float]]:
        earlier = dict(before.latency_buckets)
        return [(bound, count - earlier.get(bound, 0.0)) for bound, count in after.latency_buckets]

    buckets = delta_buckets()
    by_send.sort()
    quarter = max(1, len(by_send) // 4)
    return {
        "offered_events_per_s": run.offered_per_s,
        "events": len(paced),
        "producer_behind_max_s": run.behind_max_s,
        "alerts_read": len(run.records),
        "alerts_event_caused": len(end_to_end),
        "p50_s": quantile(end_to_end, 0.50),
        "p99_s": quantile(end_to_end, 0.99),
        "max_s": max(end_to_end) if end_to_end else None,
        "worker_p50_s": quantile(worker_side, 0.50),
        "worker_p99_s": quantile(worker_side, 0.99),
        "histogram_p50_s": histogram_quantile(buckets, 0.50),
        "histogram_p99_s": histogram_quantile(buckets, 0.99),
        "histogram_count": buckets[-1][1] if buckets else 0,
        "p50_first_quarter_s": quantile([latency for _, latency in by_send[:quarter]], 0.5),
        "p50_last_quarter_s": quantile([latency for _, latency in by_send[-quarter:]], 0.5),
        "catch_up_after_offer_s": catch_up,
        "worker_cpu_utilisation": (cpu_after - cpu_before) / wall,
        "load": load,
        "rss_bytes": memory["VmRSS"],
        "note": (
            "p50/p99: from the produce time of the event that caused an alert to the moment a "
            "consumer of the alert topic read it (end to end); worker_*: to the alert's "
            "sentinel-processed-at header; histogram_*: the worker's own histogram (bucket-"
            "interpolated). Alerts fired by deadlines are left out: they have no causing event."
        ),
    }


# --------------------------------------------------------------------------- report


def ratio(value: float | None, to: float | None) -> str:
    if value is None or not to:
        return "-"
    return f"{value / to:.2f}x"


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def fmt_mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f} MiB"


def fmt_bytes(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} B"


def aligned(rows: list[tuple[str, ...]], left: int = 1) -> list[str]:
    """Rows as text columns: the first `left` columns left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(widths[i]) if i < left else cell.rjust(widths[i]) for i, cell in enumerate(row)
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def render_table(report: dict[str, Any]) -> str:
    ceiling, naive, worker = report["ceiling"], report["naive"], report["worker"]
    latency, memory, workload = report["latency"], report["memory"], report["workload"]
    lines = [
        f"{workload['events']:,} single-event messages (~{workload['mean_event_bytes']:.0f} B CloudEvents), "
        f"{workload['customers']:,} customers, {PARTITIONS} partitions, embedded broker, "
        f"{report['machine']['cpus']} CPUs",
        "",
    ]
    rows: list[tuple[str, ...]] = [
        ("setup", "events/s", "/ceiling", "/naive", "/goal", "peak RSS", "B/customer", "other load")
    ]
    for name, result in (
        ("raw ceiling: getmany + orjson + dict", ceiling),
        ("naive Faust: 1 table write per event", naive),
        ("Touchpoint Sentinel worker", worker),
    ):
        rate = result.get("events_per_s")
        per_customer = None
        if result.get("customers"):
            base = result.get("idle_rss_bytes", result.get("baseline_rss_bytes", 0))
            per_customer = (result["peak_rss_bytes"] - base) / result["customers"]
        other = result.get("load", {}).get("other_cores")
        rows.append(
            (
                name,
                fmt_rate(rate),
                ratio(rate, ceiling.get("events_per_s")),
                ratio(rate, naive.get("events_per_s")),
                ratio(rate, GOAL_EVENTS_PER_S),
                fmt_mib(result.get("peak_rss_bytes")),
                fmt_bytes(per_customer),
                "-" if other is None else f"{other:.2f} cores",
            )
        )
    lines += aligned(rows)
    lines.append("")
    lines.append(
        f"worker: every alert out after {worker['alerts_complete_s']:.1f} s "
        f"({worker['events_per_s_alerts_complete']:,.0f} events/s), state changelog complete after "
        f"{worker['seconds']:.1f} s ({worker['changelog_records']:,} records); events/s above counts "
        "to the latter"
    )
    for name, result in (("raw ceiling", ceiling), ("naive Faust", naive)):
        if result.get("capped"):
            lines.append(
                f"{name}: timed on its first {result['events']:,} events (stopped after "
                f"{result['seconds']:.0f} s to keep the run short)"
            )
    lines.append(
        f"latency at {latency['offered_events_per_s']:,.0f} events/s offered for "
        f"{latency['events'] / latency['offered_events_per_s']:.0f} s: "
        f"p50 {fmt_ms(latency['p50_s'])}, p99 {fmt_ms(latency['p99_s'])}, max {fmt_ms(latency['max_s'])} "
        f"over {latency['alerts_event_caused']:,} event-caused alerts (end to end, read off the alert topic)"
    )
    lines.append(
        f"  p50 in the first / last quarter of the run: {fmt_ms(latency['p50_first_quarter_s'])} / "
        f"{fmt_ms(latency['p50_last_quarter_s'])}; worker caught up "
        f"{latency['catch_up_after_offer_s']:.1f} s after the offer stopped; "
        f"other load {latency['load']['other_cores']:.2f} cores"
    )
    lines.append(
        f"memory: peak RSS {fmt_mib(memory['peak_rss_bytes_smaller_run'])} at "
        f"{memory['customers_in_smaller_run']:,} customers, {fmt_mib(memory['peak_rss_bytes'])} at "
        f"{memory['customers_measured']:,}: {memory['marginal_bytes_per_customer']:,.0f} B per further "
        f"customer; {fmt_rate(report['worker_smaller']['events_per_s'])} events/s in the smaller run"
    )
    if "check" in report:
        check = report["check"]
        lines.append(
            f"alerts under load == sentinel replay: {'yes' if check['equal'] else 'NO'} "
            f"({check['online_alerts']:,} online, {check['replay_alerts']:,} replayed)"
        )
    lines.append("")
    met = report["goals"]
    goal_rows: list[tuple[str, ...]] = [
        ("goal", "measured", "met"),
        (
            f">= {GOAL_EVENTS_PER_S:,} events/s per worker process",
            f"{fmt_rate(worker['events_per_s'])} events/s",
            "yes" if met["throughput"] else "NO",
        ),
        (
            f"p99 < {GOAL_P99_S * 1000:.0f} ms at {OFFERED_LOAD:,} events/s",
            f"p99 {fmt_ms(latency['p99_s'])}",
            "yes" if met["latency"] else "NO",
        ),
        (
            f"< 1 KiB per customer at {GOAL_CUSTOMERS:,}",
            f"~{memory['extrapolated_bytes_per_customer']:,.0f} B "
            f"(slope {memory['customers_in_smaller_run']:,} -> {memory['customers_measured']:,})",
            "yes" if met["memory"] else "NO",
        ),
    ]
    lines += aligned(goal_rows, left=2)
    return "\n".join(lines)


def memory_summary(worker: dict[str, Any], smaller: dict[str, Any]) -> dict[str, Any]:
    """Per-customer memory of the worker, extrapolated to 1,000,000 customers from two runs.

    The same worker on the same kind of workload with half the customers: the difference of
    the two peak RSS figures over the difference in customers is what one more customer costs;
    what does not grow with customers (buffers of a round, the broker clients) cancels out.
    """
    customers, fewer = worker["customers"], smaller["customers"]
    marginal = (worker["peak_rss_bytes"] - smaller["peak_rss_bytes"]) / (customers - fewer)
    extrapolated_rss = worker["peak_rss_bytes"] + marginal * (GOAL_CUSTOMERS - customers)
    return {
        "customers_measured": customers,
        "customers_in_smaller_run": fewer,
        "peak_rss_bytes": worker["peak_rss_bytes"],
        "peak_rss_bytes_smaller_run": smaller["peak_rss_bytes"],
        "marginal_bytes_per_customer": marginal,
        "growth_bytes_per_customer": worker["peak_bytes_per_customer"],
        "extrapolated_peak_rss_bytes_at_1m": extrapolated_rss,
        "extrapolated_bytes_per_customer": extrapolated_rss / GOAL_CUSTOMERS,
        "note": (
            f"peak RSS measured at {customers:,} and {fewer:,} customers (fresh workers, the same "
            "workload shape); the slope between them is extrapolated linearly to 1,000,000 and "
            "divided by 1,000,000: an extrapolation, not a measurement at 1M. growth_bytes_per_customer "
            "is (peak RSS - idle RSS) / customers at the larger run, which also counts the fixed "
            "buffers as if each customer needed them"
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in ("ceiling", "naive"):
        child_main(arguments)
        return {}
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=500_000, help="cap on the history's events")
    parser.add_argument("--span-days", type=int, default=14, help="customers start within this many days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument(
        "--naive-cap-seconds", type=float, default=60.0, help="stop timing naive Faust after this"
    )
    parser.add_argument("--skip-check", action="store_true", help="skip the replay comparison")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(arguments)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    began = time.perf_counter()
    say(f"generating {args.customers:,} customers, keeping the first {args.events:,} events")
    workload = make_workload(args.customers, args.events, args.seed, args.span_days)
    say(
        f"workload: {len(workload.lines):,} events, {workload.customers:,} customers, "
        f"{workload.mean_bytes:.0f} bytes/event on average"
    )
    report: dict[str, Any] = {
        "command": "make bench  (.venv/bin/python -m bench)",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "workload": {
            "customers": workload.customers,
            "events": workload.messages,
            "closing_events": len(workload.closing),
            "mean_event_bytes": round(workload.mean_bytes, 1),
            "partitions": PARTITIONS,
            "seed": args.seed,
            "span_days": args.span_days,
            "events_per_message": 1,
        },
        "goals": {},
    }
    with tempfile.TemporaryDirectory(prefix="sentinel-bench-") as temp, EmbeddedBroker() as broker:
        work_dir = Path(temp)
        bootstrap = broker.bootstrap_servers
        topic = "bench-touchpoints"
        asyncio.run(create_topics(bootstrap, {topic: PARTITIONS}))
        say(f"broker at {bootstrap}; producing the workload to {topic}")
        produce_settings = Settings(bootstrap_servers=bootstrap, touchpoints_topic=topic)
        started = time.perf_counter()
        asyncio.run(produce_lines(produce_settings, workload.lines))
        asyncio.run(produce_closing(bootstrap, topic, workload.closing))
        produce_seconds = time.perf_counter() - started
        report["workload"]["produce_events_per_s"] = workload.messages / produce_seconds
        say(f"produced {workload.messages:,} messages in {produce_seconds:.1f} s")

        say("raw ceiling (child process)")
        report["ceiling"] = run_child(
            "ceiling",
            ["--bootstrap", bootstrap, "--topic", topic, "--expect", str(workload.messages)],
            work_dir / "ceiling.json",
            timeout=180,
            log_path=work_dir / "ceiling.log",
            broker_pid=broker.pid,
        )
        say(f"  {report['ceiling']['events_per_s']:,.0f} events/s")

        say(f"naive Faust agent (child process, timed for at most {args.naive_cap_seconds:.0f} s)")
        report["naive"] = run_child(
            "naive",
            [
                "--bootstrap",
                bootstrap,
                "--topic",
                topic,
                "--expect",
                str(workload.messages),
                "--cap-seconds",
                str(args.naive_cap_seconds),
                "--app-id",
                "bench-naive-" + uuid.uuid4().hex[:6],
                "--data-dir",
                str(work_dir / "naive"),
            ],
            work_dir / "naive.json",
            timeout=args.naive_cap_seconds + 120,
            log_path=work_dir / "naive.log",
            broker_pid=broker.pid,
        )
        say(f"  {report['naive']['events_per_s']:,.0f} events/s")

        say("Touchpoint Sentinel worker, whole workload pre-produced")
        report["worker"], alerts = worker_throughput(
            bootstrap, topic, workload, work_dir, timeout=900, broker_pid=broker.pid
        )
        say(f"  {report['worker']['events_per_s']:,.0f} events/s, {len(alerts):,} alerts")

        smaller = make_workload(args.customers // 2, args.events // 2, args.seed + 1, args.span_days)
        smaller_topic = "bench-touchpoints-smaller"
        say(f"memory reference: a worker on {smaller.customers:,} customers, {smaller.messages:,} events")
        asyncio.run(create_topics(bootstrap, {smaller_topic: PARTITIONS}))
        smaller_settings = Settings(bootstrap_servers=bootstrap, touchpoints_topic=smaller_topic)
        asyncio.run(produce_lines(smaller_settings, smaller.lines))
        asyncio.run(produce_closing(bootstrap, smaller_topic, smaller.closing))
        report["worker_smaller"], _ = worker_throughput(
            bootstrap, smaller_topic, smaller, work_dir, timeout=900, broker_pid=broker.pid
        )
        del smaller

        rate = OFFERED_LOAD
        count = int(rate * args.latency_seconds)
        warmup = 500
        report["latency"] = worker_latency(
            bootstrap,
            workload.lines[: warmup + count],
            warmup,
            rate,
            work_dir,
            timeout=300,
            broker_pid=broker.pid,
        )
        say(
            f"  p50 {fmt_ms(report['latency']['p50_s'])}, p99 {fmt_ms(report['latency']['p99_s'])} "
            f"({report['latency']['alerts_event_caused']:,} event-caused alerts)"
        )

    if not args.skip_check:
        say("correctness: replaying the same history offline")
        expected = expected_alerts(
            [*workload.lines, *(value for _, value in workload.closing)], workload.last_time
        )
        online = comparable(
            alerts, [*workload.lines, *(value for _, value in workload.closing)], workload.last_time
        )
        equal = online == expected
        report["check"] = {
            "online_alerts": len(online),
            "replay_alerts": len(expected),
            "equal": equal,
            "missing": len(set(expected) - set(online)),
            "unexpected": len(set(online) - set(expected)),
        }
        say(f"  online {len(online):,} alerts, replay {len(expected):,}: {'EQUAL' if equal else 'DIFFERENT'}")

    report["memory"] = memory_summary(report["worker"], report["worker_smaller"])
    report["goals"] = {
        "throughput": report["worker"]["events_per_s"] >= GOAL_EVENTS_PER_S,
        "latency": (report["latency"]["p99_s"] or float("inf")) < GOAL_P99_S,
        "memory": report["memory"]["extrapolated_bytes_per_customer"] < GOAL_BYTES_PER_CUSTOMER,
        "correct": report.get("check", {}).get("equal"),
    }
    report["seconds_total"] = time.perf_counter() - began
    table = render_table(report)
    report["table"] = table
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    say(f"written to {args.output} ({report['seconds_total']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
