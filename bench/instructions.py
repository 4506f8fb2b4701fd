"""The engine's cost in CPU instructions, here and at another revision, side by side.

    .venv/bin/python -m bench.instructions --against REV [--customers 2000]

Wall-clock figures of a shared 2-core machine move by 10-20 % from one minute to the next;
callgrind's instruction count of the same work moves by well under 1 %. So a change to the
engine is judged by how many instructions it adds per event: one history (whole lifecycles,
written once as JSON lines by this tree), decoded and run through `Engine.process` by each
revision's own code under `valgrind --tool=callgrind`, minus the same run that only decodes.
REV is checked out in a temporary worktree and run with this tree's interpreter, so both
sides share Python and libraries.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from schemas.events import encode_event
from streams.traffic import lifecycle_history

ROOT = Path(__file__).resolve().parent.parent
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

RUN = """
import gc, sys
from agents.config import Config
from agents.engine import Engine
from schemas.events import decode_message
from streams.cli import relax_garbage_collector

with open(sys.argv[2], "rb") as lines:
    events = [event for line in lines for event in decode_message(line.rstrip(b"\\n"))[0]]
relax_garbage_collector()
gc.freeze()
alerts = 0
if sys.argv[1] == "engine":
    engine = Engine(Config.default())
    for event in events:
        engine.process(event)
        alerts += len(engine.drain())
    engine.finish()
    alerts += len(engine.drain())
print(len(events), alerts)
"""


def write_history(path: Path, customers: int) -> int:
    events = lifecycle_history(customers, seed=7, start=START_MS, span_days=365)
    with path.open("wb") as out:
        for event in events:
            out.write(encode_event(event) + b"\n")
    return len(events)


def count_instructions(tree: Path, mode: str, history: Path) -> tuple[int, int]:
    """(instructions, alerts) of one run of `RUN` in `tree` under callgrind."""
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            RUN,
            mode,
            str(history),
        ],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    collected = re.search(r"Collected : (\d+)", completed.stderr)
    if collected is None:
        raise SystemExit(f"callgrind reported no count for {tree} ({mode}):\n{completed.stderr[-2000:]}")
    _, alerts = completed.stdout.split()
    return int(collected.group(1)), int(alerts)


def engine_cost(tree: Path, history: Path) -> tuple[int, int]:
    """Instructions of the engine alone (decoding subtracted), and the alerts it gave."""
    with_engine, alerts = count_instructions(tree, "engine", history)
    decode_only, _ = count_instructions(tree, "decode", history)
    return with_engine - decode_only, alerts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--against", required=True, help="the git revision to compare with (e.g. a tag or commit)"
    )
    parser.add_argument(
        "--customers", type=int, default=2000, help="whole lifecycles in the history (default 2000)"
    )
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (make tools installs it)")
    with tempfile.TemporaryDirectory(prefix="sentinel-instructions-") as scratch:
        history = Path(scratch) / "history.jsonl"
        events = write_history(history, args.customers)
        other = Path(scratch) / "other"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(other), args.against], cwd=ROOT, check=True
        )
        try:
            before, alerts_before = engine_cost(other, history)
            after, alerts_after = engine_cost(ROOT, history)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=True)
    print(f"{events:,} events, {args.customers:,} whole lifecycles")
    print("instructions of Engine.process (and drain), decoding subtracted")
    print()
    print(f"{'revision':<12}  {'instructions':>15}  {'per event':>9}  {'alerts':>7}")
    for name, count, alerts in ((args.against, before, alerts_before), ("this tree", after, alerts_after)):
        print(f"{name[:12]:<12}  {count:>15,}  {count / events:>9,.0f}  {alerts:>7,}")
    print()
    print(f"this tree / {args.against}: {after / before:.3f}x the instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
