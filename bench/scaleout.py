"""Scale-out: the worker's two stages spread over processes, on one broker and one workload.

One embedded broker, one workload (the pipeline stage's: a seeded lifecycle history of
100,000 customers cut to its first 500,000 events, one ~250-byte CloudEvent per Kafka
message keyed by customer, 4 partitions) and four layouts, each on fresh topics and groups:

- one worker:      `sentinel worker --role all`, the reference row;
- two all workers: two `--role all` processes in one group (each ingests and detects);
- ingest + detect: one `--role ingest` and one `--role detect` process;
- two all, one standby: the second layout with `standby_replicas = 1` (off by default): what
  a standby copy, the price of a fast failover, costs per event. It is not a scale-out layout,
  so the 20 % criterion does not judge it.

Each layout's processes start on an empty touchpoints topic and settle: every group joined
with all its members, each detecting process owning its internal partitions (ticks load
them). Then the whole workload is sent as record batches built beforehand (on the broker
within about two seconds), and the layout is timed from the first batch handed to the
producer to the first metrics scrape (every 0.2 s) at which every internal partition's
watermark reached the closing clocks: every alert is out. Throughput = events / that time.
Over the same window: each process's CPU time (utime + stime from /proc, all its threads),
the broker's and the machine's; afterwards each process's peak RSS (VmHWM) and the partitions
it read (its metrics). The alerts of every layout must equal `sentinel replay` of the history.

From the one-worker layout also: bytes per event on each topic (touchpoints, the internal
topic, the changelogs, alerts) and bytes per customer at rest in the changelog; then its
worker is stopped and a fresh one (memory store, same app id) recovers every customer from the
changelog: how long, how fast, and what the customers cost in its RSS.

    .venv/bin/python -m bench.scaleout [--quick] [--customers N] [--events N] [--skip-check] [--skip-recovery]

Prints the tables and writes bench/results/scaleout.json. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client.parser import text_string_to_metric_families

from bench.pipeline import (
    PARTITIONS,
    CpuMeter,
    Workload,
    aligned,
    cpu_seconds,
    fmt_mib,
    fmt_rate,
    make_workload,
    proc_status,
    read_alerts,
    wait_changelog_drained,
    worker_settings,
)
from streams.broker import EmbeddedBroker, create_topics, end_offsets, free_port
from streams.clients import message_key
from streams.settings import Settings
from streams.verify import comparable, expected_alerts
from streams.worker import WorkerProcess

RESULTS = Path(__file__).parent / "results" / "scaleout.json"
QUICK_RESULTS = RESULTS.with_name("scaleout-quick.json")
WITH_STANDBY = "two all, one standby"
LAYOUTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("one worker", ("all",)),
    ("two all workers", ("all", "all")),
    ("ingest + detect", ("ingest", "detect")),
    (WITH_STANDBY, ("all", "all")),
)
"""The last runs its workers with the setting `standby_replicas = 1` (the default is 0)."""
FULL = (100_000, 500_000)
"""Customers and events of `make bench`'s run: the pipeline stage's workload."""
QUICK = (20_000, 100_000)
"""`--quick`: the same generator and seed, a fifth of the size (about 4 minutes on 2 cores)."""
SCRAPE_INTERVAL = 0.2
SETTLED_FOR = 2.0
"""Seconds every group must stay as wanted before the workload is sent."""
IDLE_WINDOW = 3.0
"""Seconds the settled processes are watched with no events: their CPU per second then (polls,
ticks, metrics) is what a process costs whatever the events, shown beside CPU per event."""
BACKLOG_BATCH_BYTES = 512 * 1024
CPU_PER_EVENT_TOLERANCE = 0.20
"""Scale-out must add no per-event work: the workers' CPU per event within 20 % of one worker's."""
SPEEDUP_GOAL = 1.6
HEADROOM = 2.0
"""The sizing guide plans CPU at half the cores: catch-up after an outage, live rates (smaller
rounds than a backlog's), other load."""
SIZING_RATES = (1_000, 10_000, 100_000)
SIZING_CUSTOMERS = (1_000_000, 10_000_000)
RECOVERY_TARGET_S = 600
"""The sizing guide gives a detect process no more customers than it recovers in 10 minutes."""
ENGINE_RESULTS = Path(__file__).parent / "results" / "engine.json"
MAX_FETCH_BYTES = 4 * 1024 * 1024


def say(message: str) -> None:
    print(f"[bench.scaleout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes and their metrics


@dataclass
class View:
    """What the benchmark reads off one process's metrics."""

    events_by_type: dict[str, float] = field(default_factory=dict)
    watermarks: dict[int, float] = field(default_factory=dict)
    owned: int = 0
    customers: int = 0
    alerts: float = 0.0
    ingest_partitions: set[int] = field(default_factory=set)
    """Partitions of the touchpoints topic this process has read (its ingest lag series)."""

    @property
    def events(self) -> float:
        return sum(self.events_by_type.values())


def read_view(text: str, touchpoints_topic: str) -> View:
    view = View()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "sentinel_events_total":
                view.events_by_type[labels["type"]] = value
            elif name == "sentinel_watermark_seconds":
                view.watermarks[int(labels["partition"])] = value
            elif name == "sentinel_partitions_owned":
                view.owned = int(value)
            elif name == "sentinel_customers_tracked":
                view.customers = int(value)
            elif name in ("sentinel_alerts_fired_total", "sentinel_alerts_resolved_total"):
                view.alerts += value
            elif name == "sentinel_consumer_lag_messages" and labels["topic"] == touchpoints_topic:
                view.ingest_partitions.add(int(labels["partition"]))
    return view


@dataclass
class Member:
    """One worker process of a layout."""

    name: str
    role: str
    worker: WorkerProcess
    view: View = field(default_factory=View)
    idle_rss: int = 0
    idle_cores: float = 0.0
    """CPU per second of the settled process before any event: polls, ticks, metrics."""
    cpu_start: float = 0.0
    cpu_end: float = 0.0

    @property
    def pid(self) -> int:
        assert self.worker.process is not None
        return self.worker.process.pid

    @property
    def ingests(self) -> bool:
        return self.role in ("all", "ingest")

    @property
    def detects(self) -> bool:
        return self.role in ("all", "detect")

    def scrape(self) -> View:
        """The process's metrics now; the last ones when it is too busy to answer in time."""
        try:
            text = self.worker.scrape()
        except OSError:
            return self.view
        self.view = read_view(text, self.worker.settings.touchpoints_topic)
        return self.view


def readiness(worker: WorkerProcess) -> tuple[bool, list[str]]:
    """The worker's /readyz: ready or not, and why not."""
    url = worker.metrics_url.removesuffix("/metrics") + "/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True, []
    except urllib.error.HTTPError as error:
        body = json.loads(error.read() or b"{}")
        return False, list(body.get("reasons", []))
    except OSError:
        return False, ["no answer in time"]


async def group_size(bootstrap: str, group: str) -> tuple[str, int]:
    """A consumer group's state and its number of members (the embedded broker leaves the
    members' assignments out of its answer: who read what is taken from their metrics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    _error, _group, state, _protocol_type, _protocol, members, *_ = response[0].groups[0]
    return state, len(members)


def settled(bootstrap: str, app_id: str, members: Sequence[Member]) -> bool:
    """Both groups stable with every process that belongs in them, and the detecting processes
    owning all internal partitions between them, each some."""
    ingesting = sum(member.ingests for member in members)
    detecting = [member for member in members if member.detects]
    if asyncio.run(group_size(bootstrap, f"{app_id}-ingest")) != ("Stable", ingesting):
        return False
    if asyncio.run(group_size(bootstrap, app_id)) != ("Stable", len(detecting)):
        return False
    owned = [member.scrape().owned for member in detecting]
    return all(owned) and sum(owned) == PARTITIONS


def wait_settled(bootstrap: str, app_id: str, members: Sequence[Member], timeout: float) -> float:
    """Block until `settled` held for `SETTLED_FOR` seconds; returns how long it took."""
    began = time.perf_counter()
    deadline = time.monotonic() + timeout
    since: float | None = None
    while True:
        if settled(bootstrap, app_id, members):
            since = time.perf_counter() if since is None else since
            if time.perf_counter() - since >= SETTLED_FOR:
                return time.perf_counter() - began
        else:
            since = None
        if time.monotonic() > deadline:
            raise RuntimeError(f"the layout's groups did not settle within {timeout:.0f} s")
        time.sleep(0.5)


# --------------------------------------------------------------------------- the workload as a backlog


@dataclass
class Backlog:
    """The workload with each message's partition of the touchpoints topic, as the default
    partitioner puts a message keyed by its customer (what `sentinel produce` does)."""

    workload: Workload
    keys: list[bytes | None]
    partitions: list[int]

    @classmethod
    def of(cls, workload: Workload) -> Backlog:
        partitioner = DefaultPartitioner()
        numbers = list(range(PARTITIONS))
        keys = [message_key(line) for line in workload.lines]
        return cls(workload, keys, [partitioner(key, numbers, numbers) for key in keys])

    @property
    def touchpoint_bytes(self) -> int:
        lines = self.workload.lines
        return sum(map(len, lines)) + sum(len(key or b"") for key in self.keys)


async def send_backlog(bootstrap: str, topic: str, backlog: Backlog, ready: Callable[[], None]) -> float:
    """Build every record batch, call `ready` (in a thread: it waits for the workers and takes
    the baselines), then send them all; returns the seconds until the broker acknowledged them.
    The closing events go last, each to its partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=BACKLOG_BATCH_BYTES, linger_ms=0)
    await producer.start()
    try:
        batches: list[tuple[int, Any]] = []
        open_batches: dict[int, Any] = {}

        def append(partition: int, key: bytes | None, value: bytes) -> None:
            batch = open_batches.get(partition)
            if batch is None or batch.append(timestamp=None, key=key, value=value) is None:
                if batch is not None:
                    batches.append((partition, batch))
                batch = open_batches[partition] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value)

        for line, key, partition in zip(
            backlog.workload.lines, backlog.keys, backlog.partitions, strict=True
        ):
            append(partition, key, line)
        for partition, value in backlog.workload.closing:
            append(partition, None, value)
        batches += open_batches.items()
        await asyncio.to_thread(ready)
        began = time.perf_counter()
        futures = [
            await producer.send_batch(batch, topic, partition=partition) for partition, batch in batches
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - began
    finally:
        await producer.stop()


# --------------------------------------------------------------------------- one layout


@dataclass
class Layout:
    """A layout's processes and names, while it runs."""

    name: str
    settings: Settings
    members: list[Member]

    @property
    def app_id(self) -> str:
        return self.settings.app_id


def start_layout(
    bootstrap: str, name: str, roles: Sequence[str], work_dir: Path, standby: bool = False
) -> Layout:
    tag = "scale-" + uuid.uuid4().hex[:6]
    topic = f"bench-scale-touchpoints-{tag}"
    asyncio.run(create_topics(bootstrap, {topic: PARTITIONS}))
    base = worker_settings(bootstrap, tag, work_dir / tag, topic)
    layout = Layout(name, base, [])
    counts: dict[str, int] = {}
    for role in roles:
        counts[role] = counts.get(role, 0) + 1
        label = f"{role}-{counts[role]}" if roles.count(role) > 1 else role
        settings = base.replace(role=role, metrics_port=free_port(), data_dir=str(work_dir / tag / label))
        if standby:
            settings = settings.replace(standby_replicas=1)
        worker = WorkerProcess(settings, work_dir / f"{tag}-{label}.log")
        layout.members.append(Member(label, role, worker))
    try:
        for member in layout.members:
            member.worker.start(ready_timeout=60)
    except BaseException:
        stop_layout(layout)
        raise
    return layout


def stop_layout(layout: Layout) -> None:
    for member in layout.members:
        member.worker.stop()


def caught_up(members: Sequence[Member], target_seconds: float) -> bool:
    """Every internal partition's watermark, over all detecting processes, reached the target."""
    marks: dict[int, float] = {}
    for member in members:
        if member.detects:
            marks.update(member.view.watermarks)
    return len(marks) == PARTITIONS and all(mark >= target_seconds - 1e-3 for mark in marks.values())


def run_layout(
    broker: EmbeddedBroker, backlog: Backlog, layout: Layout, timeout: float
) -> tuple[dict[str, Any], list[bytes]]:
    """Send the backlog to the settled layout and time it until every alert is out."""
    bootstrap = broker.bootstrap_servers
    assert broker.pid is not None
    workload = backlog.workload
    members = layout.members
    target = workload.last_time / 1000
    meter: dict[str, CpuMeter] = {}
    settle: dict[str, float] = {}

    def ready() -> None:
        settle["seconds"] = wait_settled(bootstrap, layout.app_id, members, timeout=120)
        idle_from = {member.name: cpu_seconds(member.pid) for member in members}
        idle_began = time.perf_counter()
        time.sleep(IDLE_WINDOW)
        idle_seconds = time.perf_counter() - idle_began
        for member in members:
            member.idle_cores = (cpu_seconds(member.pid) - idle_from[member.name]) / idle_seconds
            member.idle_rss = proc_status(member.pid)["VmRSS"]
            member.cpu_start = cpu_seconds(member.pid)
        meter["load"] = CpuMeter(
            {**{member.name: member.pid for member in members}, "broker": broker.pid, "bench": os.getpid()}
        )
        settle["began"] = time.perf_counter()

    say(f"{layout.name}: waiting for {len(members)} process(es) to settle, then sending the backlog")
    backlog_seconds = asyncio.run(send_backlog(bootstrap, layout.settings.touchpoints_topic, backlog, ready))
    began = settle["began"]
    say(f"  settled after {settle['seconds']:.1f} s; backlog on the broker after {backlog_seconds:.1f} s")
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        time.sleep(SCRAPE_INTERVAL)
        for member in members:
            member.scrape()
        now = time.perf_counter()
        if caught_up(members, target):
            for member in members:
                member.cpu_end = cpu_seconds(member.pid)
            seconds = now - began
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{layout.name}: not caught up within {timeout:.0f} s")
        if time.monotonic() - last_report > 10:
            last_report = time.monotonic()
            ingested = sum(member.view.events for member in members if member.ingests)
            say(f"  ingested {ingested:,.0f}/{workload.messages:,}")
    load = meter["load"].stop()
    say(f"  every alert out after {seconds:.1f} s ({workload.messages / seconds:,.0f} events/s)")
    changelog = f"{layout.app_id}-customers-changelog"
    durable_at, changelog_records = wait_changelog_drained(bootstrap, changelog, timeout)
    alerts_online = sum(member.view.alerts for member in members if member.detects)
    records = asyncio.run(read_alerts(bootstrap, layout.settings.alerts_topic, at_least=int(alerts_online)))
    processes: list[dict[str, Any]] = []
    for member in members:
        memory = proc_status(member.pid)
        cpu = member.cpu_end - member.cpu_start
        view = member.view
        processes.append(
            {
                "name": member.name,
                "role": member.role,
                "cpu_seconds": cpu,
                "cores": cpu / seconds,
                "cpu_s_per_1000_events": 1000 * cpu / workload.messages,
                "idle_rss_bytes": member.idle_rss,
                "idle_cores": member.idle_cores,
                "cpu_s_per_1000_events_less_idle": 1000
                * (cpu - member.idle_cores * seconds)
                / workload.messages,
                "peak_rss_bytes": memory["VmHWM"],
                "rss_bytes": memory["VmRSS"],
                "events_ingested": int(view.events) if member.ingests else None,
                "ingest_partitions": sorted(view.ingest_partitions) if member.ingests else None,
                "detect_partitions": sorted(view.watermarks) if member.detects else None,
                "partitions_owned": view.owned if member.detects else None,
                "customers": view.customers if member.detects else None,
            }
        )
    workers_cpu = sum(process["cpu_seconds"] for process in processes)
    workers_idle = sum(process["idle_cores"] for process in processes)
    result = {
        "layout": layout.name,
        "roles": [member.role for member in members],
        "app_id": layout.app_id,
        "events": workload.messages,
        "seconds": seconds,
        "events_per_s": workload.messages / seconds,
        "settle_seconds": settle["seconds"],
        "backlog_on_broker_s": backlog_seconds,
        "changelog_complete_s": durable_at - began,
        "changelog_records": changelog_records,
        "processes": processes,
        "workers_cpu_seconds": workers_cpu,
        "workers_cores": workers_cpu / seconds,
        "workers_cpu_s_per_1000_events": 1000 * workers_cpu / workload.messages,
        "workers_idle_cores": workers_idle,
        "workers_cpu_s_per_1000_events_less_idle": 1000
        * (workers_cpu - workers_idle * seconds)
        / workload.messages,
        "broker_cores": load["broker_cores"],
        "bench_cores": load["bench_cores"],
        "other_cores": load["other_cores"],
        "machine_busy_cores": load["machine_busy_cores"],
        "load": load,
        "alerts_online": int(alerts_online),
        "alert_records": len(records),
        "events_by_type": merged_types(members),
        "note": (
            "window: from the first pre-built batch handed to the producer (every process settled and "
            "idle) to the first scrape at which every internal partition's watermark reached the closing "
            f"clocks (scrapes every {SCRAPE_INTERVAL} s); CPU over the same window"
        ),
    }
    return result, [record.value for record in records]


def merged_types(members: Sequence[Member]) -> dict[str, int]:
    types: dict[str, int] = {}
    for member in members:
        if member.ingests:
            for name, count in member.view.events_by_type.items():
                types[name] = types.get(name, 0) + int(count)
    return {name: count for name, count in sorted(types.items(), key=lambda item: -item[1]) if count}


# --------------------------------------------------------------------------- traffic and state sizes


async def topic_bytes(bootstrap: str, topic: str) -> dict[str, Any]:
    """Records and payload bytes (key + value + headers) of a topic up to its end now (ticks keep
    coming); for the internal topic also its ticks apart, for a changelog the latest value per key."""
    partitions = [TopicPartition(topic, number) for number in range(PARTITIONS)]
    ends = await end_offsets(bootstrap, partitions)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=MAX_FETCH_BYTES
    )
    await consumer.start()
    latest: dict[bytes, int] = {}
    figures = {"records": 0, "bytes": 0, "tick_records": 0, "tick_bytes": 0}
    try:
        pending = {tp for tp in partitions if ends[tp] > 0}
        consumer.assign(list(pending))
        await consumer.seek_to_beginning(*pending)
        while pending:
            polled = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in polled.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    size = (
                        len(record.key or b"")
                        + len(record.value or b"")
                        + sum(len(name) + len(value) for name, value in record.headers or ())
                    )
                    figures["records"] += 1
                    figures["bytes"] += size
                    value = record.value or b""
                    if b'"tick":' in value and b'"events":[' not in value:
                        figures["tick_records"] += 1
                        figures["tick_bytes"] += size
                    if record.key is not None:
                        latest[record.key] = len(record.key) + len(value)
                if records and records[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return {**figures, "keys": len(latest), "latest_bytes": sum(latest.values())}


def traffic(broker: EmbeddedBroker, backlog: Backlog, layout: Layout, alerts: list[bytes]) -> dict[str, Any]:
    """Bytes per event each topic carries in the one-worker layout."""
    bootstrap = broker.bootstrap_servers
    events = backlog.workload.messages
    say("bytes on each topic of the one-worker layout")
    internal = asyncio.run(topic_bytes(bootstrap, layout.settings.internal_topic))
    customers = asyncio.run(topic_bytes(bootstrap, f"{layout.app_id}-customers-changelog"))
    partitions = asyncio.run(topic_bytes(bootstrap, f"{layout.app_id}-watermarks-changelog"))
    touchpoints = backlog.touchpoint_bytes
    alert_bytes = sum(map(len, alerts))
    written = touchpoints + internal["bytes"] + customers["bytes"] + partitions["bytes"] + alert_bytes
    read = touchpoints + internal["bytes"]
    return {
        "events": events,
        "touchpoints_bytes_per_event": touchpoints / events,
        "internal_bytes_per_event": internal["bytes"] / events,
        "internal_batch_bytes_per_event": (internal["bytes"] - internal["tick_bytes"]) / events,
        "internal": internal,
        "customers_changelog": customers,
        "customers_changelog_records_per_event": customers["records"] / events,
        "customers_changelog_bytes_per_event": customers["bytes"] / events,
        "changelog_bytes_per_customer_at_rest": customers["latest_bytes"] / max(1, customers["keys"]),
        "changelog_records_per_customer": customers["records"] / max(1, customers["keys"]),
        "watermarks_changelog": partitions,
        "alert_value_bytes_per_event": alert_bytes / events,
        "written_bytes_per_event": written / events,
        "read_bytes_per_event": read / events,
        "internal_share_of_written": internal["bytes"] / written,
        "internal_share_of_read": internal["bytes"] / read,
        "note": (
            "payload bytes (key + value + headers) of every record, without Kafka's record and batch "
            "framing; read: what ingest and detection consume (touchpoints, internal topic), not "
            "replication or recovery"
        ),
    }


# --------------------------------------------------------------------------- recovery


def recovery(
    layout: Layout, customers: int, idle_rss: int, changelog: dict[str, Any], work_dir: Path
) -> dict[str, Any]:
    """A fresh worker (memory store) in the stopped one-worker layout's place recovers its customers
    from the changelog; timed from its endpoint answering (imports done, Faust not started) until it
    tracks them all, with the part its /readyz reports "recovering" apart."""
    stop_layout(layout)
    settings = layout.settings.replace(
        role="all", metrics_port=free_port(), data_dir=str(work_dir / f"{layout.app_id}-recovered")
    )
    say(f"recovery: a fresh worker reads {changelog['records']:,} records of {customers:,} customers")
    worker = WorkerProcess(settings, work_dir / f"{layout.app_id}-recovered.log")
    worker.start(ready_timeout=60)
    recovered = Member("recovered", "all", worker)
    pid = recovered.pid
    began, cpu_began = time.perf_counter(), cpu_seconds(pid)
    recovering: list[tuple[float, float]] = []  # (time, cpu) of each poll that saw it recovering
    try:
        deadline = time.monotonic() + 900
        while True:
            _ready, reasons = readiness(worker)
            if any("recovering" in reason for reason in reasons):
                recovering.append((time.perf_counter(), cpu_seconds(pid)))
            view = recovered.scrape()
            if view.customers >= customers:
                tracked_at, cpu = time.perf_counter(), cpu_seconds(pid) - cpu_began
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the recovering worker tracks {view.customers:,} of {customers:,}")
            time.sleep(0.1)
        memory = proc_status(pid)
    finally:
        worker.stop()
    restart = tracked_at - began
    reading = reading_cpu = None
    if len(recovering) > 1:
        reading = recovering[-1][0] - recovering[0][0]
        reading_cpu = recovering[-1][1] - recovering[0][1]
    say(f"  all {customers:,} customers back {restart:.1f} s after the endpoint answered")
    return {
        "customers": customers,
        "changelog_records": changelog["records"],
        "changelog_bytes": changelog["bytes"],
        "seconds_to_all_customers": restart,
        "cpu_seconds": cpu,
        "seconds_recovering": reading,
        "cpu_seconds_recovering": reading_cpu,
        "records_per_s_recovering": None if not reading else changelog["records"] / reading,
        "cpu_us_per_record_recovering": None
        if reading_cpu is None
        else 1e6 * reading_cpu / changelog["records"],
        "seconds_before_recovering": None if not recovering else recovering[0][0] - began,
        "seconds_after_recovering": None if not recovering else tracked_at - recovering[-1][0],
        "rss_bytes": memory["VmRSS"],
        "peak_rss_bytes": memory["VmHWM"],
        "settled_empty_worker_rss_bytes": idle_rss,
        "rss_bytes_per_customer": (memory["VmRSS"] - idle_rss) / customers,
        "note": (
            "timed from the worker's endpoint answering (imports done, before Faust starts) to the first "
            "scrape (every 0.1 s) at which it tracks every customer: group join, reading the whole "
            "changelog (the embedded broker never compacts it), loading the partitions; *_recovering: "
            "between the first and last poll at which /readyz said it was recovering the tables; "
            "rss_bytes_per_customer: its RSS then, less the RSS of the one-worker layout's worker settled "
            "with no customers, per customer"
        ),
    }


# --------------------------------------------------------------------------- report


def cost_model(layouts: dict[str, dict[str, Any]], traffic_figures: dict[str, Any] | None) -> dict[str, Any]:
    one, split = layouts["one worker"], layouts["ingest + detect"]
    by_role = {process["role"]: process for process in split["processes"]}
    events = one["events"]
    model: dict[str, Any] = {
        "ingest_cpu_us_per_event": 1e6 * by_role["ingest"]["cpu_seconds"] / events,
        "detect_cpu_us_per_event": 1e6 * by_role["detect"]["cpu_seconds"] / events,
        "all_cpu_us_per_event": 1e6 * one["workers_cpu_seconds"] / events,
        "broker_cpu_us_per_event": {
            name: 1e6 * layout["broker_cores"] * layout["seconds"] / events
            for name, layout in layouts.items()
        },
        "event_mix": one["events_by_type"],
    }
    if traffic_figures is not None:
        model["traffic"] = traffic_figures
    return model


def speedup_figures(layouts: dict[str, dict[str, Any]], cores: int) -> dict[str, dict[str, Any]]:
    """Each layout's speed-up over one worker, against what its processes could reach: no more
    than one worker per process, no more than the machine's cores less the broker's, the bench's
    and everything else's measured share allow at one worker's cores, and with ingest and detect
    apart no more than the busier stage allows."""
    one = layouts["one worker"]
    figures = {}
    for name, layout in layouts.items():
        left = cores - layout["broker_cores"] - layout["bench_cores"] - layout["other_cores"]
        bounds = {"processes": float(len(layout["roles"])), "cores left": left / one["workers_cores"]}
        if "ingest" in layout["roles"]:
            busiest = max(process["cpu_seconds"] for process in layout["processes"])
            bounds["busier stage"] = layout["workers_cpu_seconds"] / busiest
        bound = min(bounds, key=bounds.__getitem__)
        speedup = layout["events_per_s"] / one["events_per_s"]
        figures[name] = {
            "speedup": speedup,
            "cores_left_for_workers": left,
            "ideal_speedup": bounds[bound],
            "bounded_by": bound,
            "bounds": bounds,
            "of_ideal": speedup / bounds[bound],
            "cpu_per_event_ratio": (
                layout["workers_cpu_s_per_1000_events"] / one["workers_cpu_s_per_1000_events"]
            ),
            "cpu_per_event_less_idle_ratio": (
                layout["workers_cpu_s_per_1000_events_less_idle"]
                / one["workers_cpu_s_per_1000_events_less_idle"]
            ),
        }
    return figures


def judge(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's two figures: CPU per event within 20 % of one worker's in every scale-out layout,
    and two processes at 1.6x one, or why that cannot be on this machine. The standby layout adds
    replication by design; its ratio is its cost, shown, not judged."""
    layouts, speed = report["layouts"], report["speedup"]
    one_cores = layouts["one worker"]["workers_cores"]
    verdicts: dict[str, Any] = {"cpu_per_event": {}, "speedup": {}}
    for name, figures in speed.items():
        if name in ("one worker", WITH_STANDBY):
            continue
        verdicts["cpu_per_event"][name] = abs(figures["cpu_per_event_ratio"] - 1) <= CPU_PER_EVENT_TOLERANCE
        verdicts["speedup"][name] = {
            "met": figures["speedup"] >= SPEEDUP_GOAL,
            "possible_here": figures["cores_left_for_workers"] / one_cores >= SPEEDUP_GOAL,
        }
    verdicts["correct"] = all(layout.get("check", {}).get("equal", False) for layout in layouts.values())
    return verdicts


def sizing(report: dict[str, Any], lifecycle_state_bytes: float | None) -> dict[str, Any]:
    """Partitions, processes, cores, memory and recovery for the sizing guide, from this run's costs.

    Per event: ingest and detect CPU as measured apart, times `HEADROOM`; with one standby copy
    (`cores_with_standby`) also what the copies cost (two workers with them less two without). A
    process does at most one core (one interpreter); at least two detect processes, so a partition
    has somewhere to go, and enough that each recovers its customers within `RECOVERY_TARGET_S`;
    ingest runs inside them while the cores allow. Partitions: room to double the largest group of
    processes. Memory per detect process: its share of the customers (in memory with memory://;
    twice with a standby copy of another's), at what a customer at rest cost in the recovered
    worker, plus a settled empty worker. Recovery: its share of the customers from a compacted
    changelog (one record each) at the rate the recovering worker read. A customer's state grows
    with its history: with `lifecycle_state_bytes` (the engine stage's encoded size of whole
    lifecycles) the difference to this run's customers is added to memory and changelog.
    """
    model, layouts, rec = report["cost_model"], report["layouts"], report["recovery"]
    traffic_figures = model["traffic"]
    events = layouts["one worker"]["events"]
    standby_us = (
        1e6
        * (layouts[WITH_STANDBY]["workers_cpu_seconds"] - layouts["two all workers"]["workers_cpu_seconds"])
        / events
    )
    at_rest = traffic_figures["changelog_bytes_per_customer_at_rest"]
    grown = max(0.0, (lifecycle_state_bytes or at_rest) - at_rest)
    per_customer_memory = rec["rss_bytes_per_customer"] + grown
    per_customer_changelog = at_rest + grown
    base_rss = rec["settled_empty_worker_rss_bytes"]
    records_per_s = (
        rec["records_per_s_recovering"] or rec["changelog_records"] / rec["seconds_to_all_customers"]
    )
    rows = []
    for rate in SIZING_RATES:
        ingest_cores = rate * model["ingest_cpu_us_per_event"] * HEADROOM / 1e6
        detect_cores = rate * model["detect_cpu_us_per_event"] * HEADROOM / 1e6
        standby_cores = rate * max(0.0, standby_us) * HEADROOM / 1e6
        ingest = max(1, math.ceil(ingest_cores))
        for customers in SIZING_CUSTOMERS:
            detect = max(2, math.ceil(detect_cores), math.ceil(customers / records_per_s / RECOVERY_TARGET_S))
            together = ingest_cores + detect_cores <= detect
            largest = detect if together else max(ingest, detect)
            share = customers / detect
            rows.append(
                {
                    "events_per_s": rate,
                    "customers": customers,
                    "partitions": max(4, 2 ** math.ceil(math.log2(2 * largest))),
                    "processes": f"{detect} all" if together else f"{ingest} ingest + {detect} detect",
                    "cores": ingest_cores + detect_cores,
                    "cores_with_standby": ingest_cores + detect_cores + standby_cores,
                    "memory_per_detect_process_bytes": base_rss + share * per_customer_memory,
                    "changelog_bytes": customers * per_customer_changelog,
                    "recovery_s": share / records_per_s,
                    "written_mb_per_s": rate * traffic_figures["written_bytes_per_event"] / 1e6,
                }
            )
    return {
        "headroom": HEADROOM,
        "standby_cpu_us_per_event": standby_us,
        "memory_bytes_per_customer": per_customer_memory,
        "changelog_bytes_per_customer": per_customer_changelog,
        "lifecycle_state_bytes": lifecycle_state_bytes,
        "recovery_records_per_s": records_per_s,
        "rows": rows,
    }


def render_sizing(plan: dict[str, Any]) -> list[str]:
    lines = [
        f"sizing from these costs (CPU x{plan['headroom']:.0f}; a standby copy, off by default, "
        f"{plan['standby_cpu_us_per_event']:.1f} µs/event more; "
        f"{plan['memory_bytes_per_customer']:,.0f} B per customer in a worker, twice with a standby copy; "
        f"{plan['changelog_bytes_per_customer']:,.0f} B "
        f"per customer in the changelog; recovery at {plan['recovery_records_per_s']:,.0f} records/s, "
        f"at most {RECOVERY_TARGET_S / 60:.0f} min per detect process):",
        "",
    ]
    rows: list[tuple[str, ...]] = [
        (
            "events/s",
            "customers",
            "partitions",
            "processes",
            "cores",
            "+standby",
            "RAM/detect",
            "changelog",
            "recovery",
            "written",
        )
    ]
    for row in plan["rows"]:
        rows.append(
            (
                f"{row['events_per_s']:,}",
                f"{row['customers'] / 1e6:,.0f} M",
                f"{row['partitions']}",
                row["processes"],
                f"{row['cores']:.1f}",
                f"{row['cores_with_standby']:.1f}",
                f"{row['memory_per_detect_process_bytes'] / 2**30:.1f} GiB",
                f"{row['changelog_bytes'] / 2**30:.1f} GiB",
                f"{row['recovery_s'] / 60:.1f} min",
                f"{row['written_mb_per_s']:.1f} MB/s",
            )
        )
    return lines + aligned(rows, left=0)


def render(report: dict[str, Any]) -> str:
    workload, layouts = report["workload"], report["layouts"]
    speed = report["speedup"]
    lines = [
        f"{workload['events']:,} single-event messages (~{workload['mean_event_bytes']:.0f} B CloudEvents), "
        f"{workload['customers']:,} customers, {PARTITIONS} partitions, one embedded broker, "
        f"{report['machine']['cpus']} CPUs; each layout on fresh topics, timed from the first batch of "
        "the backlog to the last alert",
        "",
    ]
    rows: list[tuple[str, ...]] = [
        (
            "layout",
            "events/s",
            "vs one",
            "workers' CPU s/1k ev",
            "vs one",
            "less idle",
            "broker",
            "other",
            "alerts == replay",
        )
    ]
    for name, layout in layouts.items():
        check = layout.get("check")
        rows.append(
            (
                name,
                fmt_rate(layout["events_per_s"]),
                f"{speed[name]['speedup']:.2f}x",
                f"{layout['workers_cpu_s_per_1000_events']:.3f}",
                f"{speed[name]['cpu_per_event_ratio']:.2f}x",
                f"{layout['workers_cpu_s_per_1000_events_less_idle']:.3f} "
                f"{speed[name]['cpu_per_event_less_idle_ratio']:.2f}x",
                f"{layout['broker_cores']:.2f} cores",
                f"{layout['other_cores'] + layout['bench_cores']:.2f} cores",
                "-" if check is None else f"{'yes' if check['equal'] else 'NO'} ({check['online_alerts']:,})",
            )
        )
    lines += aligned(rows)
    lines.append("")
    rows = [("process", "partitions in / internal", "CPU s", "cores", "idle", "CPU s/1k ev", "peak RSS")]
    for name, layout in layouts.items():
        for process in layout["processes"]:
            ingest = process["ingest_partitions"]
            detect = process["detect_partitions"]
            rows.append(
                (
                    f"{name}: {process['name']}",
                    f"{'-' if ingest is None else len(ingest)} / {'-' if detect is None else len(detect)}",
                    f"{process['cpu_seconds']:.1f}",
                    f"{process['cores']:.2f}",
                    f"{process['idle_cores']:.3f}",
                    f"{process['cpu_s_per_1000_events']:.3f}",
                    fmt_mib(process["peak_rss_bytes"]),
                )
            )
    lines += aligned(rows)
    lines.append("")
    for name in layouts:
        if name == "one worker":
            continue
        figures, layout = speed[name], layouts[name]
        lines.append(
            f"{name}: {figures['speedup']:.2f}x one worker; its processes had "
            f"{figures['cores_left_for_workers']:.2f} cores after the broker's {layout['broker_cores']:.2f} "
            f"and the rest's {layout['bench_cores'] + layout['other_cores']:.2f}, one worker used "
            f"{layouts['one worker']['workers_cores']:.2f}: ideal {figures['ideal_speedup']:.2f}x "
            f"({figures['bounded_by']}), {figures['of_ideal']:.2f} of it reached"
        )
    model = report["cost_model"]
    lines.append("")
    lines.append(
        f"cost: ingest {model['ingest_cpu_us_per_event']:.1f} + detect "
        f"{model['detect_cpu_us_per_event']:.1f} = "
        f"{model['ingest_cpu_us_per_event'] + model['detect_cpu_us_per_event']:.1f} CPU µs/event in two "
        f"processes, {model['all_cpu_us_per_event']:.1f} in one; broker "
        + ", ".join(f"{value:.1f}" for value in model["broker_cpu_us_per_event"].values())
        + " CPU µs/event (layouts in the order above)"
    )
    mix = model["event_mix"]
    total = sum(mix.values())
    lines.append(
        "event mix: "
        + ", ".join(f"{name} {100 * count / total:.0f}%" for name, count in list(mix.items())[:6])
        + f", {len(mix) - 6} other types {100 * sum(list(mix.values())[6:]) / total:.0f}%"
    )
    figures = model.get("traffic")
    if figures is not None:
        changelog = figures["customers_changelog"]
        lines.append(
            f"bytes per event: touchpoints {figures['touchpoints_bytes_per_event']:.0f}, internal topic "
            f"{figures['internal_bytes_per_event']:.0f} ({figures['internal']['records']:,} messages, "
            f"{figures['internal']['tick_records']:,} of them ticks), customers changelog "
            f"{figures['customers_changelog_bytes_per_event']:.0f} "
            f"({figures['customers_changelog_records_per_event']:.2f} records), "
            f"alerts {figures['alert_value_bytes_per_event']:.0f}; the internal topic is "
            f"{100 * figures['internal_share_of_written']:.0f}% of the bytes written and "
            f"{100 * figures['internal_share_of_read']:.0f}% of those read"
        )
        lines.append(
            f"changelog at rest: {figures['changelog_bytes_per_customer_at_rest']:.0f} B per customer "
            f"(key and latest value); {changelog['records']:,} records for {changelog['keys']:,} "
            "customers before compaction"
        )
    rec = report.get("recovery")
    if rec is not None:
        lines.append(
            f"recovery: a fresh worker tracked all {rec['customers']:,} customers "
            f"{rec['seconds_to_all_customers']:.1f} s after its endpoint answered; "
            f"{rec['seconds_recovering'] or 0:.1f} s of it reading {rec['changelog_records']:,} changelog "
            f"records ({rec['changelog_bytes'] / 2**20:.0f} MiB): "
            f"{rec['records_per_s_recovering'] or 0:,.0f} records/s, "
            f"{rec['cpu_us_per_record_recovering'] or 0:.0f} CPU µs each"
        )
        lines.append(
            f"worker memory at rest: {rec['rss_bytes_per_customer']:,.0f} B per customer (the recovered "
            f"worker's RSS {fmt_mib(rec['rss_bytes'])} less a settled empty worker's "
            f"{fmt_mib(rec['settled_empty_worker_rss_bytes'])})"
        )
    if "sizing" in report:
        lines.append("")
        lines += render_sizing(report["sizing"])
    goals = report["goals"]
    lines.append("")
    lines.append(
        f"CPU per event within {100 * CPU_PER_EVENT_TOLERANCE:.0f}% of one worker's: "
        + "; ".join(
            f"{name} {speed[name]['cpu_per_event_ratio']:.2f}x {'yes' if met else 'NO'}"
            for name, met in goals["cpu_per_event"].items()
        )
    )
    if WITH_STANDBY in speed:
        lines.append(
            f"{WITH_STANDBY}: {speed[WITH_STANDBY]['cpu_per_event_ratio']:.2f}x one worker's CPU per event, "
            "the price of a failover that finds the state ready (replication, not scale-out: not judged)"
        )
    lines.append(
        "the same less each process's idle CPU over the window (a diagnosis, not the criterion): "
        + "; ".join(
            f"{name} {speed[name]['cpu_per_event_less_idle_ratio']:.2f}x" for name in goals["cpu_per_event"]
        )
    )
    lines.append(
        f"two processes at >= {SPEEDUP_GOAL}x one: "
        + "; ".join(
            f"{name} {speed[name]['speedup']:.2f}x {'yes' if verdict['met'] else 'NO'}"
            + ("" if verdict["possible_here"] else " (not possible with the cores left here)")
            for name, verdict in goals["speedup"].items()
        )
    )
    return "\n".join(lines)


def lifecycle_state_bytes() -> float | None:
    """The engine stage's encoded state per customer over whole lifecycles, when `make bench` ran it."""
    try:
        return float(json.loads(ENGINE_RESULTS.read_text())["state"]["encoded_bytes_per_customer"])
    except (OSError, KeyError, ValueError):
        return None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    arguments = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=None, help=f"default {FULL[0]:,}")
    parser.add_argument(
        "--events", type=int, default=None, help=f"cap on the history's events, default {FULL[1]:,}"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a reduced run for checks: {QUICK[0]:,} customers, {QUICK[1]:,} events (--customers and "
        "--events still win)",
    )
    parser.add_argument("--span-days", type=int, default=14, help="customers start within this many days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-check", action="store_true", help="skip the replay comparison")
    parser.add_argument("--skip-recovery", action="store_true", help="skip the recovery and traffic figures")
    parser.add_argument(
        "--output", type=Path, default=None, help=f"default {RESULTS} ({QUICK_RESULTS.name} with --quick)"
    )
    args = parser.parse_args(arguments)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    size = QUICK if args.quick else FULL
    args.output = args.output or (QUICK_RESULTS if args.quick else RESULTS)
    args.customers = size[0] if args.customers is None else args.customers
    args.events = size[1] if args.events is None else args.events
    began = time.perf_counter()
    say(f"generating {args.customers:,} customers, keeping the first {args.events:,} events")
    workload = make_workload(args.customers, args.events, args.seed, args.span_days)
    backlog = Backlog.of(workload)
    say(f"workload: {workload.messages:,} messages, {workload.customers:,} customers")
    cores = os.cpu_count() or 1
    report: dict[str, Any] = {
        "command": "make bench  (.venv/bin/python -m bench), or .venv/bin/python -m bench.scaleout",
        "machine": {"cpus": cores, "python": platform.python_version(), "platform": platform.platform()},
        "load_average_before": os.getloadavg(),
        "workload": {
            "customers": workload.customers,
            "events": workload.messages,
            "mean_event_bytes": round(workload.mean_bytes, 1),
            "partitions": PARTITIONS,
            "seed": args.seed,
            "span_days": args.span_days,
        },
    }
    layouts: dict[str, dict[str, Any]] = {}
    alerts: dict[str, list[bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="sentinel-scale-") as temp, EmbeddedBroker() as broker:
        work_dir = Path(temp)
        for name, roles in LAYOUTS:
            layout = start_layout(broker.bootstrap_servers, name, roles, work_dir, name == WITH_STANDBY)
            try:
                layouts[name], alerts[name] = run_layout(broker, backlog, layout, timeout=900)
                if name == "one worker" and not args.skip_recovery:
                    figures = traffic(broker, backlog, layout, alerts[name])
                    report["traffic"] = figures
                    customers = sum(p["customers"] or 0 for p in layouts[name]["processes"])
                    idle = layouts[name]["processes"][0]["idle_rss_bytes"]
                    report["recovery"] = recovery(
                        layout, customers, idle, figures["customers_changelog"], work_dir
                    )
            finally:
                stop_layout(layout)
    report["load_average_after"] = os.getloadavg()

    if not args.skip_check:
        say("correctness: replaying the same history offline")
        lines = [*workload.lines, *(value for _, value in workload.closing)]
        expected = expected_alerts(lines, workload.last_time)
        for name, values in alerts.items():
            online = comparable(values, lines, workload.last_time)
            layouts[name]["check"] = {
                "online_alerts": len(online),
                "replay_alerts": len(expected),
                "equal": online == expected,
            }
            say(f"  {name}: online {len(online):,}, replay {len(expected):,}: {online == expected}")

    report["layouts"] = layouts
    report["speedup"] = speedup_figures(layouts, cores)
    report["cost_model"] = cost_model(layouts, report.get("traffic"))
    report["goals"] = judge(report)
    if "recovery" in report:
        report["sizing"] = sizing(report, lifecycle_state_bytes())
    report["seconds_total"] = time.perf_counter() - began
    table = render(report)
    report["table"] = table
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=sorted) + "\n")
    say(f"written to {args.output} ({report['seconds_total']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
