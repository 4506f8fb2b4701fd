"""`make chaos`: every fault scenario on real processes, a table, JSON, and RELIABILITY.md.

    .venv/bin/python -m chaos [SCENARIO ...] [--seed N] [--json PATH] [--no-update] [--work-dir DIR]

Without scenario names it runs all of them in order and rewrites the results block of
RELIABILITY.md; with names, only those, leaving RELIABILITY.md alone. The same seed draws
the same moments and the same history. Progress goes to stderr; each run's logs and state
stay in the work directory until the next run; the exit status is 0 only when every
scenario passed.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from chaos.report import ROOT, as_json, details, table, update_reliability
from chaos.run import Context, Outcome
from chaos.scenarios import SCENARIOS

COMMAND = "make chaos   # = .venv/bin/python -m chaos --seed 1"
DEFAULT_JSON = ROOT / "chaos" / "results" / "chaos.json"
DEFAULT_WORK = ROOT / "chaos" / "results" / "work"


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so every broker and worker the scenario started is ended."""
    raise SystemExit(128 + signum)


def run_one(name: str, ctx: Context) -> Outcome:
    began = time.monotonic()
    try:
        return SCENARIOS[name].run(ctx)
    except Exception as error:  # noqa: BLE001 - one broken scenario must not hide the others' results
        say(f"{name}: the harness failed: {error!r}\n{traceback.format_exc()}")
        return Outcome(
            scenario=name,
            seed=ctx.seed,
            events=0,
            expected=0,
            seconds=time.monotonic() - began,
            ended="error",
            comparison=None,
            disruptions=[],
            checks={"the scenario ran to its end": False},
            findings=[f"harness error: {error!r}"],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="any of: " + ", ".join(SCENARIOS))
    parser.add_argument("--seed", type=int, default=1, help="draws the history and every moment (default 1)")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})"
    )
    parser.add_argument("--no-update", action="store_true", help="leave RELIABILITY.md alone")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK,
        help=f"logs and state, emptied first (default {DEFAULT_WORK})",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and what each does")
    args = parser.parse_args(argv)
    if args.list:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:<16} {scenario.what}")
        return 0
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    names = args.scenarios or list(SCENARIOS)
    signal.signal(signal.SIGTERM, terminate)
    # The suite's own readers and producers meet the outages it makes; their retries are no news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    ctx = Context(args.seed, args.work_dir, say)
    say(f"seed {args.seed}, scenarios {', '.join(names)}; logs in {args.work_dir}")
    began = time.monotonic()
    outcomes: list[Outcome] = []
    try:
        for name in names:
            say(f"=== {name}: {SCENARIOS[name].what}")
            outcome = run_one(name, ctx)
            outcomes.append(outcome)
            say(f"{name}: {'pass' if outcome.passed else 'FAIL'}\n{details(outcome)}")
    finally:
        seconds = time.monotonic() - began
        if outcomes:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(as_json(outcomes, args.seed, seconds), indent=1, default=str))
            print(table(outcomes))
            print()
            print("\n\n".join(details(outcome) for outcome in outcomes))
            say(f"done in {seconds / 60:.1f} min; results in {args.json}")
        if not args.scenarios and not args.no_update and len(outcomes) == len(SCENARIOS):
            update_reliability(outcomes, args.seed, seconds, COMMAND)
            say("tables written to RELIABILITY.md")
    return 0 if outcomes and all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
