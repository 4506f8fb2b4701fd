"""The scenarios: what each does to the running system, at which seeded moments, and what it checks.

Every scenario starts a fresh embedded broker and its own workers, feeds a seeded lifecycle
history, disrupts, waits for the end (`Run.settle`) and compares the alert topic with
`sentinel replay` (`chaos.verdict`). The functions take their sizes as arguments, so the
integration tests run the same code on smaller histories.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from chaos.observe import LogWindow, log_window, wait_for
from chaos.processes import Fleet, ReservedPort, Worker, wall_ms
from chaos.run import Context, Outcome, Run, cpu_seconds
from chaos.verdict import Disruption
from chaos.workload import PacedProducer, Workload, produce_all, produce_skewed, workload
from schemas.timestamps import DAY
from streams.broker import EmbeddedBroker

RESTORING = "Restoring state from changelog topics"
RECOVERED = "Recovery complete"
READY = "Worker ready"
KILL_KINDS = ("mid-round", "mid-flush", "mid-recovery")
RESTART_CYCLE_S = 12.0
"""About what one kill and restart take on the embedded broker (two group joins of ~3 s each,
and a second join of each once the killed member's session expired): the kill scenarios
offer the history at a rate that spreads it over all their kills."""
BUSY_CORES = 0.6
OUTAGE_LOG_LINES_PER_MINUTE = 60
SETTLING_RATE = 150
"""Events/s offered while a group settles after a change: enough to show who works on what."""
SETTLING_S = 150.0
"""How long the suite waits for a group to work on every partition again after a change."""
AFTER_OUTAGE_S = 15.0
"""The log is judged from the outage's start to this long after its end: what a broker's return
sets off (timed-out requests failing) belongs to the outage."""
SIGTERM_EXIT_S = 30.0
FULL_CUSTOMERS = 6_500
"""Whole lifecycles of 6,500 customers: 105,737 events with seed 1 (about 16 per customer)."""
BACKFILL_CUSTOMERS = 1_200
OUTAGE_RATE = 2_500
"""Events/s offered around a broker outage: a steady load, a quarter of what one worker handles."""


def history(ctx: Context, customers: int, partitions: int) -> Workload:
    ctx.say(f"history of {customers:,} customers, replayed for {partitions} partitions")
    return workload(customers, ctx.seed, partitions)


# --------------------------------------------------------------------------- kills


def kill_plan(rng: random.Random, kills: int) -> list[tuple[str, float]]:
    """(kind, seconds to wait once the moment is found) per kill: the kinds in equal shares, in
    seeded order; the first is no mid-recovery kill, as a first start has nothing to restore."""
    kinds = [KILL_KINDS[number % len(KILL_KINDS)] for number in range(kills)]
    rng.shuffle(kinds)
    if kinds[0] == "mid-recovery":
        swap = next(i for i, kind in enumerate(kinds) if kind != "mid-recovery")
        kinds[0], kinds[swap] = kinds[swap], kinds[0]
    return [(kind, rng.uniform(0.0, 0.3)) for kind in kinds]


def busy_cores(pid: int, window: float = 0.2) -> float:
    try:
        before = cpu_seconds(pid)
        time.sleep(window)
        return (cpu_seconds(pid) - before) / window
    except OSError:
        return 0.0


def kill_at_moment(
    run: Run, worker: Worker, kind: str, delay: float, rng: random.Random
) -> tuple[str, dict[str, Any], int]:
    """SIGKILL the worker at the moment a kill of `kind` is meant for; what it was doing then,
    and when (wall ms).

    - mid-recovery: `delay` after the restarted worker's log said it is restoring its tables
      (Faust logs that at INFO);
    - mid-round: `delay` after the worker, once it published a round, was found busy (at least
      0.6 cores of CPU over 0.2 s): the engine work of its next round, or ingest forwarding;
    - mid-flush: as soon as the first alerts of a round (the first to third after the restart)
      are read off the topic, from the reading thread: that round's other alerts and its state
      writes are in flight.
    """
    tail = run.reader
    details: dict[str, Any] = {}

    def kill() -> int:
        at = wall_ms()
        worker.kill()
        return at

    if kind == "mid-recovery":
        found = wait_for(lambda: any(mark in worker.log_text() for mark in (RESTORING, READY)), 60, 0.02)
        if not found:
            return "timed out waiting for the restore to begin", details, kill()
        if RESTORING not in worker.log_text():
            return "after start, before the first round (nothing to restore)", details, kill()
        time.sleep(delay)
        at = kill()
        label = "restore just done" if RECOVERED in worker.log_text() else "restoring tables"
        details["after_restore_began_s"] = round(delay, 3)
        return f"mid-recovery: {label} ({delay * 1000:.0f} ms after it began)", details, at
    if kind == "mid-round":
        if not tail.round_after(worker.started_ms).wait(60):
            return "timed out waiting for the worker's first round", details, kill()
        pid = worker.pid or 0
        deadline = time.monotonic() + 30
        cores = 0.0
        while time.monotonic() < deadline and (cores := busy_cores(pid)) < BUSY_CORES:
            pass
        time.sleep(delay)
        snapshot = run.snapshot(worker)
        last = (
            "no alert read yet"
            if tail.last_arrival is None
            else f"last alert read {tail.quiet_for():.1f} s before"
        )
        at = kill()
        details["cores"] = round(cores, 2)
        lag = ""
        if snapshot is not None:
            details["detection_lag"] = sum(snapshot.detection_lag.values())
            details["ingest_lag"] = sum(snapshot.ingest_lag.values())
            lag = f", lag {details['detection_lag']:,.0f} internal / {details['ingest_lag']:,.0f} input"
        state = "busy" if cores >= BUSY_CORES else "not busy within 30 s"
        return f"mid-round: {state} ({cores:.1f} cores{lag}, {last})", details, at
    rounds = rng.randint(1, 3)
    after = worker.started_ms
    for _ in range(rounds - 1):
        if not tail.round_after(after).wait(60):
            return f"timed out waiting for round {rounds} after the restart", details, kill()
        after = tail.newest_round
    killed: dict[str, int] = {}

    def kill_on_round(round_ms: int) -> None:
        killed["at"], killed["round"] = kill(), round_ms

    if not tail.round_after(after, kill_on_round).wait(60):
        return f"timed out waiting for round {rounds} after the restart", details, kill()
    since_ms = killed["at"] - killed["round"]
    details.update(round=rounds, after_publish_began_ms=since_ms)
    return (
        f"mid-flush: round {rounds} after the restart, {since_ms} ms after it began publishing",
        details,
        killed["at"],
    )


def offered(producer: PacedProducer, fraction: float) -> None:
    """Wait until `fraction` of the history was offered (or all of it)."""
    wait_for(lambda: producer.fraction >= fraction or producer.done.is_set(), 900, 0.1)


def kill_scenario(
    ctx: Context, *, name: str, store: str, customers: int, kills: int, rate: int | None = None
) -> Outcome:
    """SIGKILL the worker at seeded moments while the history flows in, restarting it at once.

    The history is offered at `rate` events/s, by default at a pace that spreads it over all
    the kills, so that each restarted worker meets a backlog; kill n (but a mid-recovery one,
    which follows its restart) waits until 90 % x (n - 1) / kills of it was offered, and until
    kill n the offer slows to 150 events/s past 90 % x n / kills + 5 %: restarts took 8 to
    30 s depending on the machine's load, and the kills must not outlast the history."""
    rng = ctx.rng(name)
    load = history(ctx, customers, 4)
    with Fleet(ctx.work_dir / name) as fleet:
        run = Run(ctx, name, fleet, load, partitions=4, store=store)
        run.start_broker()
        run.declare()
        worker = run.worker("worker", loglevel="info").start()
        run.start_tail()
        rate = rate or max(500, int(len(load.lines) / (kills * RESTART_CYCLE_S)))
        producer = run.producer(rate)
        run.facts.update(offered_events_per_s=rate, store=store)
        for number, (kind, delay) in enumerate(kill_plan(rng, kills), start=1):
            if not worker.alive:
                run.findings.append(
                    f"the worker restarted before kill #{number} exited with {worker.returncode}"
                )
                worker.spawn()
            producer.cap = min(1.0, 0.9 * number / kills + 0.05)
            if kind != "mid-recovery":  # that one follows its restart; the others keep to the offer
                offered(producer, 0.9 * (number - 1) / kills)
            moment, details, killed_at = kill_at_moment(run, worker, kind, delay, rng)
            details.update(
                offered=round(producer.fraction, 3),
                alerts_read=round(run.reader.progress, 3),
                uncommitted=run.uncommitted(),
            )
            behind = details["uncommitted"]
            if "internal" in behind:
                moment += (
                    f"; {behind['internal']:,} internal messages and {behind['input']:,} touchpoints"
                    " past the committed offsets"
                )
            disruption = run.disrupt("kill", f"#{number} {moment}", **details)
            disruption.at_ms = killed_at
            worker.spawn()
            disruption.resumed_ms = worker.started_ms
        producer.cap = 1.0
        worker.wait_ready(60)
        producer.done.wait(600)
        if producer.error is not None:
            raise RuntimeError(f"producing the history failed: {producer.error!r}")
        ended = run.settle([worker])
        return run.verdict(ended)


# --------------------------------------------------------------------------- groups


def rebalance_scenario(
    ctx: Context,
    *,
    name: str,
    customers: int,
    partitions: int,
    initial: int,
    kill_window: tuple[float, float] | None,
    add_window: tuple[float, float] | None,
    rate: int,
) -> Outcome:
    """Workers of one group under a steady offered load; one SIGKILLed (not restarted) and one
    added at seeded points of the offer (fractions of the history offered, drawn from the
    windows); who works on which partition, from their metrics.

    Ownership shows only while input flows (a rising watermark), so after each change the
    offer slows to `SETTLING_RATE` until every partition is worked on again (or `SETTLING_S`
    passed), then goes on at `rate`: a rebalance took from 15 s to over 100 s here. The first
    change also waits until the workers are seen sharing every partition (or `SETTLING_S`).
    """
    rng = ctx.rng(name)
    load = history(ctx, customers, partitions)
    kill_at = rng.uniform(*kill_window) if kill_window else None
    add_at = rng.uniform(*add_window) if add_window else None
    with Fleet(ctx.work_dir / name) as fleet:
        run = Run(ctx, name, fleet, load, partitions=partitions, store="memory://")
        run.start_broker()
        run.declare()
        workers = [run.worker(f"worker-{number}", loglevel="info") for number in range(1, initial + 1)]
        for worker in workers:
            worker.spawn()
        for worker in workers:
            worker.wait_ready(60)
        run.start_tail()
        producer = run.producer(rate)
        run.facts.update(offered_events_per_s=rate, partitions=partitions)
        ownership: dict[str, dict[str, list[int]]] = {}
        counts: dict[str, dict[str, float | None]] = {}
        checks: dict[str, bool] = {}

        def spread(label: str, live: list[Worker], until: float, need: int) -> dict[str, list[int]]:
            """Ownership windows until `need` workers each work on a partition and all are covered,
            `until` of the history was offered, or `SETTLING_S` passed."""
            owned: dict[str, list[int]] = {}
            deadline = time.monotonic() + SETTLING_S
            while True:
                owned = run.owners(live)
                covered = {p for parts in owned.values() for p in parts}
                if (sum(1 for parts in owned.values() if parts) >= need and len(covered) == partitions) or (
                    producer.fraction >= until or producer.done.is_set() or time.monotonic() > deadline
                ):
                    break
            ownership[label] = owned
            # What each worker says it owns, beside what its rising watermarks show.
            counts[label] = {
                worker.name: snapshot.partitions_owned
                for worker in live
                if (snapshot := run.snapshot(worker)) is not None
            }
            run.say(f"{label}: {owned}; sentinel_partitions_owned {counts[label]}")
            return owned

        def all_covered(owned: dict[str, list[int]]) -> bool:
            return {p for parts in owned.values() for p in parts} == set(range(partitions))

        live = list(workers)
        owned = spread("before", live, 1.0, initial)  # the first change waits for this
        checks[f"{initial} workers share all {partitions} partitions"] = (
            all_covered(owned) and sum(1 for parts in owned.values() if parts) == initial
        )
        if kill_at is not None:
            offered(producer, kill_at)
            victim = live[len(live) // 2]
            disruption = run.disrupt(
                "kill", f"{victim.name} SIGKILLed, not restarted", offered=round(producer.fraction, 3)
            )
            victim.kill()
            live.remove(victim)
            producer.rate = SETTLING_RATE
            recovered = covered_again(run, live, partitions, disruption, producer.done)
            owned = spread("after kill", live, 1.0, len(live))
            producer.rate = rate
            checks["survivors take over every partition"] = recovered and all_covered(owned)
        if add_at is not None:
            offered(producer, add_at)
            newcomer = run.worker(f"worker-{initial + 1}", loglevel="info")
            disruption = run.disrupt("join", f"{newcomer.name} joins", offered=round(producer.fraction, 3))
            newcomer.start()
            live.append(newcomer)
            producer.rate = SETTLING_RATE
            covered_again(run, live, partitions, disruption, producer.done, newcomer=newcomer)
            owned = spread("after join", live, 1.0, len(live))
            producer.rate = rate
            checks["the new worker takes partitions"] = bool(owned.get(newcomer.name)) and all_covered(owned)
        run.facts["ownership"] = ownership
        run.facts["partitions_owned"] = counts
        producer.done.wait(600)
        for worker in live:
            if not worker.alive:
                run.findings.append(
                    f"{worker.name}, not killed by the suite, exited with {worker.returncode}"
                )
        checks["no worker but the killed one exits"] = all(worker.alive for worker in live)
        if producer.error is not None:
            raise RuntimeError(f"producing the history failed: {producer.error!r}")
        ended = run.settle(live)
        return run.verdict(ended, checks)


def covered_again(
    run: Run,
    live: list[Worker],
    partitions: int,
    disruption: Disruption,
    offer_done: threading.Event,
    *,
    newcomer: Worker | None = None,
) -> bool:
    """Recovery of a group change: from it until every partition's watermark rises again on the
    live workers (and, for a join, on the newcomer too), in 1 s windows, while input flows
    (for at most `SETTLING_S`)."""
    deadline = time.monotonic() + SETTLING_S
    while not offer_done.is_set() and time.monotonic() < deadline:
        owned = run.owners(live, window=1.0)
        covered = {p for parts in owned.values() for p in parts}
        if len(covered) == partitions and (newcomer is None or owned.get(newcomer.name)):
            disruption.recovery_s = (wall_ms() - disruption.at_ms) / 1000
            return True
    return False


# --------------------------------------------------------------------------- broker outages


def pause_on_round(
    run: Run, broker: EmbeddedBroker, producer: PacedProducer, floor: float, timeout: float = 120.0
) -> tuple[str, int]:
    """Once `floor` of the history was offered, SIGSTOP the broker as soon as the next round's
    first alerts are read (from the reading thread), so that round's writes are cut off midway;
    the offer is held meanwhile. What was going on, and when the broker stopped (wall ms)."""
    tail = run.reader
    offered(producer, floor)
    paused: dict[str, int] = {}

    def pause(round_ms: int) -> None:
        producer.hold()
        run.fleet.pause(broker)
        paused["at"], paused["round"] = wall_ms(), round_ms

    share = f"{producer.fraction:.0%} of the history offered"
    if not tail.round_after(max(tail.newest_round, wall_ms()), pause).wait(timeout):
        producer.hold()
        run.fleet.pause(broker)
        return f"no new round within {timeout:.0f} s ({share})", wall_ms()
    since = paused["at"] - paused["round"]
    return f"a round, {since} ms after it began publishing ({share})", paused["at"]


def stall_scenario(ctx: Context, *, name: str, customers: int, seconds: float, rate: int) -> Outcome:
    """The broker SIGSTOPped for `seconds` under an offered load of `rate` events/s, then SIGCONT."""
    rng = ctx.rng(name)
    load = history(ctx, customers, 4)
    with Fleet(ctx.work_dir / name) as fleet:
        run = Run(ctx, name, fleet, load, partitions=4, store="memory://")
        broker = run.start_broker()
        run.declare()
        worker = run.worker("worker").start()
        run.start_tail()
        producer = run.producer(rate)
        log_from = worker.log_size()
        moment, paused_ms = pause_on_round(run, broker, producer, rng.uniform(0.2, 0.5))
        disruption = run.disrupt("stall", f"broker paused {seconds:.0f} s during {moment}")
        disruption.at_ms = paused_ms
        died: float | None = None
        try:
            while (wall_ms() - paused_ms) / 1000 < seconds:
                time.sleep(0.25)
                if died is None and not worker.alive:
                    died = (wall_ms() - paused_ms) / 1000
        finally:
            fleet.resume(broker)
            producer.release()
        disruption.resumed_ms = wall_ms()
        time.sleep(AFTER_OUTAGE_S)
        window = log_window(worker.log_text(log_from, worker.log_size()), seconds + AFTER_OUTAGE_S)
        run.facts.update(outage_log=window.as_dict(), worker_exit_during_stall_s=died)
        checks = outage_checks(run, window, survived=died is None and worker.alive)
        if died is not None or not worker.alive:
            run.findings.append(
                f"the worker exited {died or seconds:.0f} s into the stall with {worker.returncode}; "
                "restarted"
            )
            worker.start()
        wait_for(producer.done.is_set, 600, 0.5)
        ended = run.settle([worker])
        return run.verdict(ended, checks)


def outage_checks(run: Run, window: LogWindow, *, survived: bool) -> dict[str, bool]:
    if window.tracebacks:
        run.findings.append(
            f"{window.tracebacks} traceback(s) in the log during the outage "
            f"or the {AFTER_OUTAGE_S:.0f} s after"
        )
    if window.lines_per_minute > OUTAGE_LOG_LINES_PER_MINUTE:
        run.findings.append(f"{window.lines_per_minute:,.0f} log lines per minute during the outage")
    return {
        "the worker survives the outage": survived,
        "no traceback during the outage (or 15 s after)": window.tracebacks == 0,
        f"at most {OUTAGE_LOG_LINES_PER_MINUTE} log lines per minute during the outage (and 15 s after)": (
            window.lines_per_minute <= OUTAGE_LOG_LINES_PER_MINUTE
        ),
    }


def sigterm_scenario(ctx: Context, *, name: str, customers: int, rate: int) -> Outcome:
    """SIGTERM a worker 5 s into a broker outage: it must exit within 30 s. Then the broker wakes,
    a worker starts on the same state, and the alerts must still equal replay. The worker logs
    at INFO, where Faust names each service it stops, so a hang shows where it is."""
    rng = ctx.rng(name)
    load = history(ctx, customers, 4)
    with Fleet(ctx.work_dir / name) as fleet:
        run = Run(ctx, name, fleet, load, partitions=4, store="memory://")
        broker = run.start_broker()
        run.declare()
        worker = run.worker("worker", loglevel="info").start()
        run.start_tail()
        producer = run.producer(rate)
        moment, paused_ms = pause_on_round(run, broker, producer, rng.uniform(0.2, 0.5))
        disruption = run.disrupt("sigterm", f"broker paused during {moment}; SIGTERM after 5 s")
        disruption.at_ms = paused_ms
        try:
            time.sleep(5)
            exit_s = worker.terminate(SIGTERM_EXIT_S)
        finally:
            fleet.resume(broker)
            producer.release()
        run.facts.update(sigterm_exit_s=exit_s, exit_code=worker.returncode)
        if exit_s is None:
            run.findings.append(
                f"the worker was still running {SIGTERM_EXIT_S:.0f} s after SIGTERM; SIGKILLed"
            )
        worker.start()
        disruption.resumed_ms = worker.started_ms
        wait_for(producer.done.is_set, 600, 0.5)
        ended = run.settle([worker])
        return run.verdict(ended, {f"exits within {SIGTERM_EXIT_S:.0f} s of SIGTERM": exit_s is not None})


def absent_scenario(ctx: Context, *, name: str, customers: int, seconds: float) -> Outcome:
    """The worker starts while nothing listens on the broker's port; the broker starts on that
    port `seconds` later. The worker should wait, then work as if nothing happened."""
    load = history(ctx, customers, 4)
    with Fleet(ctx.work_dir / name) as fleet, ReservedPort() as reserved:
        run = Run(ctx, name, fleet, load, partitions=4, store="memory://")
        run.use_broker(f"127.0.0.1:{reserved.port}")
        worker = run.worker("worker").spawn()
        disruption = run.disrupt("absent", f"no broker for {seconds:.0f} s at the worker's start")
        began = time.monotonic()
        died: float | None = None
        while time.monotonic() - began < seconds:
            time.sleep(0.25)
            if died is None and not worker.alive:
                died = time.monotonic() - began
        window = log_window(worker.log_text(0, worker.log_size()), seconds)
        run.facts.update(outage_log=window.as_dict(), worker_exit_s=died, exit_code=worker.returncode)
        checks = outage_checks(run, window, survived=died is None)
        reserved.release()
        run.start_broker(reserved.port)
        disruption.resumed_ms = wall_ms()
        if worker.alive:
            try:
                worker.wait_ready(90)
                run.facts["up_after_broker_s"] = (wall_ms() - disruption.resumed_ms) / 1000
            except Exception as error:  # noqa: BLE001 - a finding, reported with the run
                run.findings.append(f"the waiting worker did not come up once the broker was there: {error}")
                worker.kill()
        if not worker.alive:
            if died is not None:
                run.findings.append(
                    f"the worker exited {died:.1f} s after it started, with {worker.returncode}: "
                    f"{window.sample[-1] if window.sample else '(no output)'}; "
                    "started again for the comparison"
                )
            worker = run.worker("worker-again").start()
        checks["the worker comes up once the broker is there"] = (
            died is None and "up_after_broker_s" in run.facts
        )
        run.start_tail()
        produce_all(run.worker_settings, load)
        ended = run.settle([worker])
        return run.verdict(ended, checks)


# --------------------------------------------------------------------------- backfill


def backfill_scenario(ctx: Context, *, name: str, customers: int, partitions: int) -> Outcome:
    """Whole lifecycles produced at once on `partitions` partitions, input partitions skewed by a
    seeded one to three days of event time (none with one partition)."""
    rng = ctx.rng(name)
    load = history(ctx, customers, partitions)
    skew_days = rng.randint(1, 3) if partitions > 1 else 0
    with Fleet(ctx.work_dir / name) as fleet:
        run = Run(ctx, name, fleet, load, partitions=partitions, store="memory://")
        run.start_broker()
        run.declare()
        worker = run.worker("worker").start()
        run.start_tail()
        run.facts.update(partitions=partitions, skew_days=skew_days, customers=customers)
        produce_skewed(run.worker_settings, load, skew_days * DAY)
        ended = run.settle([worker])
        return run.verdict(ended)


# --------------------------------------------------------------------------- the catalog


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    """What it does, for the table's readers (RELIABILITY.md)."""
    run: Callable[[Context], Outcome]


def _kill(store: str) -> Scenario:
    name = f"kill-{store.removesuffix('://')}"
    return Scenario(
        name,
        f"12 SIGKILLs of the only worker ({store}), each restarted at once, while a ~105,700-event "
        "history is offered at a pace that spans them: 4 mid-round, 4 mid-flush, 4 mid-recovery, "
        "in seeded order",
        partial(kill_scenario, name=name, store=store, customers=FULL_CUSTOMERS, kills=12),
    )


def _stall(seconds: int) -> Scenario:
    name = f"stall-{seconds}"
    return Scenario(
        name,
        f"broker SIGSTOPped for {seconds} s as a round publishes, 20-50 % into ~105,700 events "
        f"offered at {OUTAGE_RATE:,}/s (the offer held meanwhile, then flushed)",
        partial(stall_scenario, name=name, customers=FULL_CUSTOMERS, seconds=seconds, rate=OUTAGE_RATE),
    )


def _backfill(partitions: int) -> Scenario:
    name = f"backfill-{partitions}"
    return Scenario(
        name,
        f"whole lifecycles of {BACKFILL_CUSTOMERS:,} customers produced at once on {partitions} partition"
        f"{'s' if partitions > 1 else ''}{', input partitions skewed by 1-3 days' if partitions > 1 else ''}",
        partial(backfill_scenario, name=name, customers=BACKFILL_CUSTOMERS, partitions=partitions),
    )


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        _kill("memory://"),
        _kill("rocksdb://"),
        Scenario(
            "rebalance",
            "3 workers, 8 partitions, ~105,700 events offered at 700/s; one SIGKILLed at 20-30 % of "
            "the offer, one added at 55-65 %; partitions per worker from rising watermark gauges",
            partial(
                rebalance_scenario,
                name="rebalance",
                customers=FULL_CUSTOMERS,
                partitions=8,
                initial=3,
                kill_window=(0.2, 0.3),
                add_window=(0.55, 0.65),
                rate=700,
            ),
        ),
        _stall(10),
        _stall(60),
        _stall(180),
        Scenario(
            "absent-60",
            "the worker started with nothing on the broker's port; the broker started there 60 s later",
            partial(absent_scenario, name="absent-60", customers=FULL_CUSTOMERS, seconds=60),
        ),
        Scenario(
            "sigterm-outage",
            "SIGTERM to the worker 5 s into a broker outage (must exit within 30 s); a new worker finishes",
            partial(sigterm_scenario, name="sigterm-outage", customers=FULL_CUSTOMERS, rate=OUTAGE_RATE),
        ),
        _backfill(1),
        _backfill(4),
        _backfill(8),
    )
}
