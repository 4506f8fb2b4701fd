"""What a watermark advance costs with 1,000,000 customers and few due deadlines (issue 4).

Measured directly on `agents.engine.Engine`, as the worker drives it (`follow_event_time=False`,
the caller moves the watermark with `advance_to`). The engine holds 1,000,000 real customer
states, each armed by a `lead.created` (lead_not_followed_up, due 48 h later): almost all of
them due far in the future, and a few small groups due early, one group per trial. Each trial
advances the watermark twice: to just before its group's deadline (nothing due: the common
case of a watermark step) and just past it (the group fires). For scale it also times what a
scan would cost (every customer's `next_due()`), and `reindex()` (the O(n) rebuild a recovery does).

    .venv/bin/python -m bench.watermark [--customers N] [--due K] [--trials T]

Prints a table and writes bench/results/watermark.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from agents.config import Config
from agents.engine import Engine
from schemas.events import Touchpoint
from schemas.timestamps import DAY, HOUR, MINUTE, parse_instant

BASE = parse_instant("2024-01-01T00:00:00Z")
FAR = BASE + 300 * DAY
WITHIN = 48 * HOUR
GOAL_SECONDS = 0.010
"""A few due deadlines among 1,000,000 customers: "milliseconds, not a scan"; 10 ms is the bar used."""
RESULTS = Path(__file__).parent / "results" / "watermark.json"


def say(message: str) -> None:
    print(f"[bench.watermark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def lead(number: int, at: int) -> Touchpoint:
    return Touchpoint(
        f"wm-{number}",
        "bench/watermark",
        "lead.created",
        f"C-{number:07d}",
        at,
        {"owner": "R-1", "source_channel": "web"},
    )


def trial_start(trial: int) -> int:
    """When trial `trial`'s group of leads arrives (their deadlines fall 48 h later)."""
    return BASE + trial * HOUR


def build(customers: int, due: int, trials: int, big: int) -> tuple[Engine, list[list[str]], float]:
    """An engine with `customers` armed customers: `trials` groups of `due` early ones, one group
    of `big` early ones (the last trial), the rest far in the future. Returns the engine, the
    subjects of each group and the build time."""
    engine = Engine(Config.default(), follow_event_time=False)
    groups: list[list[str]] = [[] for _ in range(trials + 1)]
    early = {}
    stride = max(1, customers // (trials * due + big + 1))
    slot = 0
    for trial in range(trials):
        for _ in range(due):
            early[slot * stride] = trial
            slot += 1
    for _ in range(big):
        early[slot * stride] = trials
        slot += 1
    started = time.perf_counter()
    for number in range(customers):
        group = early.get(number)
        if group is None:
            engine.process(lead(number, FAR + number % 1000))
        else:
            engine.process(lead(number, trial_start(group) + number % 1000))
            groups[group].append(f"C-{number:07d}")
    assert not engine.drain()
    return engine, groups, time.perf_counter() - started


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.watermark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10, help="deadlines due per trial (the few)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--big", type=int, default=1_000, help="deadlines due in the last, larger trial")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    say(f"building an engine with {args.customers:,} customers")
    gc.collect()
    rss_before = rss_bytes()
    engine, groups, build_seconds = build(args.customers, args.due, args.trials, args.big)
    gc.collect()
    rss_after = rss_bytes()
    indexed = len(engine.deadlines)
    say(f"built in {build_seconds:.1f} s; {indexed:,} deadlines indexed")

    quiet: list[float] = []
    firing: list[float] = []
    fired_per_trial: list[int] = []
    gc.disable()  # a collection pass over 1M states would land in whichever call it interrupts
    try:
        for trial in range(args.trials + 1):
            due_at = trial_start(trial) + WITHIN
            seconds, _ = timed(lambda at=due_at: engine.advance_to(at - 30 * MINUTE))
            assert not engine.drain(), "nothing is due before the group's deadline"
            quiet.append(seconds)
            seconds, _ = timed(lambda at=due_at: engine.advance_to(at + 1000))
            alerts = engine.drain()
            fired_per_trial.append(len(alerts))
            assert {alert.subject for alert in alerts} == set(groups[trial]), "exactly the group fires"
            if trial < args.trials:
                firing.append(seconds)
            else:
                big_seconds = seconds
    finally:
        gc.enable()

    scan_seconds, earliest = timed(lambda: min(due for _, s in engine.customers() if (due := s.next_due())))
    assert earliest >= FAR
    reindex_seconds, _ = timed(engine.reindex)

    report: dict[str, Any] = {
        "customers": len(engine),
        "deadlines_indexed": indexed,
        "build_seconds": build_seconds,
        "advance_nothing_due_ms": {
            "median": statistics.median(quiet) * 1000,
            "max": max(quiet) * 1000,
            "trials": len(quiet),
        },
        "advance_few_due_ms": {
            "due_per_advance": args.due,
            "median": statistics.median(firing) * 1000,
            "max": max(firing) * 1000,
            "trials": len(firing),
        },
        "advance_many_due_ms": {"due": fired_per_trial[-1], "seconds_ms": big_seconds * 1000},
        "scan_all_customers_ms": scan_seconds * 1000,
        "reindex_ms": reindex_seconds * 1000,
        "engine_rss_bytes_per_customer": (rss_after - rss_before) / args.customers,
        "goal_ms": GOAL_SECONDS * 1000,
        "goal_met": statistics.median(firing) < GOAL_SECONDS and max(firing) < GOAL_SECONDS,
        "note": (
            "engine_rss_bytes_per_customer: RSS growth of this process per customer holding one armed "
            "lead (the engine's state objects and deadline heap only; no table copy, no Kafka buffers)"
        ),
    }
    print_table(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    say(f"written to {args.output}")
    return report


def print_table(report: dict[str, Any]) -> None:
    few, quiet, many = (
        report["advance_few_due_ms"],
        report["advance_nothing_due_ms"],
        report["advance_many_due_ms"],
    )
    print(
        f"\nwatermark advance, {report['customers']:,} customers, {report['deadlines_indexed']:,} deadlines "
        f"indexed (goal: a few due cost < {report['goal_ms']:.0f} ms)\n"
    )
    rows = [
        ("advance, nothing due (median / max)", f"{quiet['median']:.3f} / {quiet['max']:.3f} ms"),
        (
            f"advance, {few['due_per_advance']} due (median / max of {few['trials']})",
            f"{few['median']:.3f} / {few['max']:.3f} ms",
        ),
        (f"advance, {many['due']:,} due", f"{many['seconds_ms']:.1f} ms"),
        ("for scale: a scan of every customer's next_due()", f"{report['scan_all_customers_ms']:,.0f} ms"),
        ("for scale: reindex() (recovery rebuild)", f"{report['reindex_ms']:,.0f} ms"),
        ("engine memory per customer (one armed lead)", f"{report['engine_rss_bytes_per_customer']:,.0f} B"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>18}")
    print(f"\ngoal met: {'yes' if report['goal_met'] else 'NO'}")


if __name__ == "__main__":
    main()
