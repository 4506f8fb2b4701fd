"""Throughput of the pure detection core against the issue's goal: 200,000 events/s in one process.

One seeded, realistic lifecycle history (streams.traffic) is encoded to JSON lines
and measured in three stages, side by side, so a change shows where it helps:

- decode: `decode_message` on every line (JSON parsing plus the contract checks);
- engine: `Engine.process` on already decoded events (state, patterns, deadlines);
- core:   decode + engine + rendering every alert to bytes: exactly what
          `sentinel replay` does (`agents.replay.run_replay`), minus the file IO;
- actions: the engine again with all five additions of shared/spec/actions.md
          configured (business hours, two segments, a holdout) and the commands a CRM
          would send among the events (segments, snoozes, order confirmations).

Each stage streams like the replay does: decoded events and rendered alerts are
dropped as they come, except the events the engine stage needs, which are
decoded beforehand (untimed) and frozen out of the garbage collector's sight so
that they do not tax the engine with collections a streaming run never makes.
Rates use wall time; CPU time is reported too, as it is steadier on a shared machine.
It also reports the per-customer state size, encoded (the changelog value) and in memory.

    .venv/bin/python -m bench.engine [--customers N] [--seed S] [--repeat R] [--by-part]

Prints a table and writes bench/results/engine.json. `--by-part` adds one more engine run
in which the shared rules (`lifecycle.apply`), every pattern's `on_event`, the deadlines the
watermark reaches and the idempotency key are timed one by one, to show where an event's
time goes; that run is slower by its timers.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from agents import engine as engine_module
from agents import lifecycle
from agents.config import Config
from agents.engine import Engine
from agents.replay import run_replay
from agents.state import CustomerState
from schemas.events import Rejected, Touchpoint, decode_message, encode_event
from schemas.timestamps import DAY, MINUTE, format_instant
from streams.cli import relax_garbage_collector
from streams.traffic import lifecycle_history

GOAL_EVENTS_PER_SECOND = 200_000
RESULTS = Path(__file__).parent / "results" / "engine.json"
STATE_SAMPLE = 2_000


def decode_all(lines: list[bytes]) -> int:
    """Stage "decode": every line through the contract gate, results dropped; returns the rejects."""
    rejected = 0
    for line in lines:
        rejected += len(decode_message(line)[1])
    return rejected


ACTIONS: dict[str, Any] = {
    "calendar": {
        "timezone": "Europe/Berlin",
        "hours": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu")} | {"fri": "08:00-16:00"},
        "holidays": ["2026-01-01", "2026-04-03", "2026-12-24", "2026-12-25", "2027-01-01"],
    },
    "patterns": {
        "lead_not_followed_up": {"within": "16h", "clock": "business"},
        "complaint_unanswered": {"within": "8h", "clock": "business"},
        "post_purchase_dissonance": {"within": "24h", "clock": "business"},
    },
    "segments": {
        "key_account": {
            "patterns": {"post_sale_abandonment": {"within": "7d"}, "missing_appreciation": {"within": "45d"}}
        },
        "smb": {"patterns": {"wrong_channel": {"enabled": False}}},
    },
    "holdout": {"share": 0.1, "salt": "bench"},
}
"""All five additions of shared/spec/actions.md, for the "actions" stage."""


def with_actions(events: list[Touchpoint]) -> list[Touchpoint]:
    """The history with the commands a CRM would send: every customer segmented at their first
    event (a fifth key accounts), one in ten snoozed for ten days at their first order, and an
    order confirmation (a transactional send) a minute after every order."""
    added: list[tuple[int, int, Touchpoint]] = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        subject, at = event.subject, event.time
        bucket = zlib.crc32(subject.encode()) % 10
        if subject not in seen:
            seen.add(subject)
            segment = "key_account" if bucket < 2 else "smb"
            added.append(
                (
                    at,
                    index,
                    Touchpoint(
                        f"seg-{index}", "crm", "customer.segmented", subject, at, {"segment": segment}
                    ),
                )
            )
        if event.type == "order.placed":
            confirmation = {"channel": "email", "kind": "transactional"}
            added.append(
                (
                    at + MINUTE,
                    index,
                    Touchpoint(f"conf-{index}", "shop", "marketing.sent", subject, at + MINUTE, confirmation),
                )
            )
            if bucket == 9:
                until = format_instant(at + 10 * DAY)
                snooze = {"pattern": "*", "until": until, "by": "bench"}
                added.append(
                    (at, index, Touchpoint(f"snz-{index}", "crm", "alert.snoozed", subject, at, snooze))
                )
    merged = [(event.time, index, event) for index, event in enumerate(events)] + added
    merged.sort(key=lambda row: (row[0], row[1]))
    return [event for _, _, event in merged]


def decoded_events(lines: list[bytes]) -> list[Touchpoint]:
    """The input of the engine stage (untimed), kept out of the garbage collector's generations."""
    events = [event for line in lines for event in decode_message(line)[0]]
    gc.collect()
    gc.freeze()
    return events


def run_engine(events: list[Touchpoint], config: Config) -> tuple[Engine, int]:
    """Stage "engine": pre-decoded events through a fresh engine, to the end of input."""
    engine = Engine(config)
    alerts = 0
    for event in events:
        engine.process(event)
        alerts += len(engine.drain())
    engine.finish()
    alerts += len(engine.drain())
    return engine, alerts


def run_core(lines: list[bytes], config: Config) -> int:
    """Stage "core": the replay loop (decode, engine, render); alert bytes counted, then dropped."""
    alerts = 0

    def emit(alert: bytes) -> None:
        nonlocal alerts
        alerts += 1

    def reject(number: int, bad: Rejected) -> None:
        raise AssertionError(f"line {number} rejected: {bad.reason} {bad.message}")

    run_replay(lines, config=config, until=None, emit=emit, reject=reject)
    return alerts


def time_by_part(events: list[Touchpoint], config: Config) -> dict[str, Any]:
    """One engine run with a timer around the shared rules, each pattern's `on_event`, the
    deadlines the watermark reaches and the idempotency key.

    What no timer covers (state lookup, dedup, the deadline index, stepping) is the rest;
    the timers' own cost inflates the total and each timed part a little.
    """
    clock = time.perf_counter
    spent: dict[str, float] = {}
    calls: dict[str, int] = {}

    def timer(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        spent[name], calls[name] = 0.0, 0

        def timed_call(*arguments: Any) -> Any:
            started = clock()
            result = function(*arguments)
            spent[name] += clock() - started
            calls[name] += 1
            return result

        return timed_call

    engine = Engine(config)
    engine._reactions = {
        kind: tuple(timer(on_event.__self__.name, on_event) for on_event in reactions)  # type: ignore[attr-defined]
        for kind, reactions in engine._reactions.items()
    }
    engine._fire_due = timer("deadlines reached (on_due)", engine._fire_due)  # type: ignore[method-assign]
    untimed_apply, untimed_key = lifecycle.apply, engine_module.event_key
    lifecycle.apply = timer("shared rules (lifecycle.apply)", untimed_apply)
    engine_module.event_key = timer("idempotency key (event_key)", untimed_key)
    try:
        started = clock()
        for event in events:
            engine.process(event)
            engine.drain()
        total = clock() - started
    finally:
        lifecycle.apply, engine_module.event_key = untimed_apply, untimed_key
    per_event = 1e6 / len(events)
    parts = [
        {"part": name, "us_per_event": seconds * per_event, "calls_per_event": calls[name] / len(events)}
        for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
    ]
    rest = total - sum(spent.values())
    return {"us_per_event": total * per_event, "parts": parts, "rest_us_per_event": rest * per_event}


def print_parts(by_part: dict[str, Any]) -> None:
    print(f"\nwhere an event's time goes (timed run, {by_part['us_per_event']:.2f} µs/event with timers)\n")
    print(f"{'part':<32}{'µs/event':>9}{'calls/event':>13}{'µs/call':>9}")
    for part in by_part["parts"]:
        per_call = part["us_per_event"] / part["calls_per_event"] if part["calls_per_event"] else 0.0
        print(
            f"{part['part']:<32}{part['us_per_event']:>9.2f}{part['calls_per_event']:>13.2f}{per_call:>9.2f}"
        )
    print(f"{'the rest of Engine.process':<32}{by_part['rest_us_per_event']:>9.2f}")


def timed(stage: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Wall and CPU seconds of the fastest of `repeat` runs (the least disturbed), and its result."""
    best: tuple[float, float, Any] = (float("inf"), float("inf"), None)
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = stage()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best[0]:
            best = (wall, cpu, result)
    return best


def deep_size(value: Any, seen: set[int] | None = None) -> int:
    """Approximate memory held by a state: the object plus everything only it reaches.

    Shared singletons (small ints, interned strings, None, booleans) are counted
    once per state, which overstates a little; good enough to compare layouts.
    """
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(key, seen) + deep_size(item, seen) for key, item in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        size += sum(deep_size(item, seen) for item in value)
    elif is_dataclass(value):
        size += sum(deep_size(getattr(value, field.name), seen) for field in fields(value))
    return size


def state_sizes(states: list[CustomerState]) -> dict[str, float]:
    """Average encoded (changelog) and in-memory bytes per customer, over an even sample."""
    step = max(1, len(states) // STATE_SAMPLE)
    sample = states[::step]
    encoded = sum(len(state.encode()) for state in sample) / len(sample)
    in_memory = sum(deep_size(state) for state in sample) / len(sample)
    return {
        "customers": len(states),
        "sampled": len(sample),
        "encoded_bytes_per_customer": round(encoded, 1),
        "in_memory_bytes_per_customer": round(in_memory, 1),
    }


def stage_row(name: str, timing: tuple[float, float, Any], events: int, alerts: int | None) -> dict[str, Any]:
    wall, cpu, _ = timing
    per_second = events / wall
    return {
        "stage": name,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "events_per_s": round(per_second),
        "us_per_event": round(1e6 / per_second, 2),
        "cpu_us_per_event": round(1e6 * cpu / events, 2),
        "goal_ratio": round(per_second / GOAL_EVENTS_PER_SECOND, 3),
        "alerts": alerts,
    }


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{report['events']:,} events, {report['customers']:,} customers "
        f"(goal {GOAL_EVENTS_PER_SECOND:,} events/s)\n"
    )
    print(
        f"{'stage':<8}{'seconds':>9}{'events/s':>11}{'µs/event':>10}{'cpu µs':>8}{'of goal':>9}{'alerts':>9}"
    )
    for row in report["stages"]:
        alerts = "" if row["alerts"] is None else f"{row['alerts']:,}"
        print(
            f"{row['stage']:<8}{row['seconds']:>9.2f}{row['events_per_s']:>11,}{row['us_per_event']:>10.2f}"
            f"{row['cpu_us_per_event']:>8.2f}{row['goal_ratio']:>9.2f}{alerts:>9}"
        )
    state = report["state"]
    print(
        f"\nstate: {state['encoded_bytes_per_customer']:.0f} bytes/customer encoded, "
        f"~{state['in_memory_bytes_per_customer']:.0f} bytes/customer in memory "
        f"(sample of {state['sampled']:,})"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the history")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated history")
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage; the best is reported")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON report goes")
    parser.add_argument(
        "--by-part", action="store_true", help="also time the shared rules and each pattern on their own"
    )
    args = parser.parse_args(argv)
    relax_garbage_collector()

    started = time.perf_counter()
    history = lifecycle_history(args.customers, seed=args.seed)
    lines = [encode_event(event) for event in history]
    del history
    print(f"generated {len(lines):,} events in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    config = Config.default()
    decode = timed(lambda: decode_all(lines), args.repeat)
    assert decode[2] == 0, f"{decode[2]} generated events were rejected"
    events = decoded_events(lines)
    engine_run = timed(lambda: run_engine(events, config), args.repeat)
    engine, engine_alerts = engine_run[2]
    core = timed(lambda: run_core(lines, config), args.repeat)
    assert core[2] == engine_alerts, "the replay core and the bare engine disagree"
    acting = with_actions(events)
    actions_config = Config.from_mapping(ACTIONS)
    actions_run = timed(lambda: run_engine(acting, actions_config), args.repeat)

    report: dict[str, Any] = {
        "customers": args.customers,
        "seed": args.seed,
        "events": len(events),
        "goal_events_per_s": GOAL_EVENTS_PER_SECOND,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "stages": [
            stage_row("decode", decode, len(events), None),
            stage_row("engine", engine_run, len(events), engine_alerts),
            stage_row("core", core, len(events), core[2]),
            stage_row("actions", actions_run, len(acting), actions_run[2][1]),
        ],
        "state": state_sizes([state for _, state in engine.customers()]),
    }
    if args.by_part:
        report["by_part"] = time_by_part(events, config)
    print_table(report)
    if args.by_part:
        print_parts(report["by_part"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
