"""`make bench`: every benchmark in one run, then the tables into BENCHMARKS.md.

    .venv/bin/python -m bench [--skip engine,pipeline,watermark,scaleout] [--no-update]

Stages, in order, each in a child process of its own (`python -m bench.<stage>`, so no stage
inherits another's heap); each prints its table and writes bench/results/<stage>.json:

- engine:    the pure detection core (bench/engine.py, when present);
- pipeline:  raw aiokafka ceiling, naive Faust, and the worker on the embedded broker,
             throughput, latency at 5,000 events/s, memory, alerts == replay (bench/pipeline.py);
- watermark: a watermark advance among 1,000,000 customers (bench/watermark.py);
- scaleout:  the same workload on one worker, two workers in one group, and ingest and detect
             in processes of their own: throughput, CPU per event per process, the broker's CPU,
             bytes per event per topic, recovery from the changelog, alerts == replay
             (bench/scaleout.py).

The printed tables replace the block between the bench markers in BENCHMARKS.md, with the
date and the command; the prose around it is left alone. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench:begin (written by `python -m bench`; edit outside this block) -->"
END = "<!-- bench:end -->"
STAGES = ("engine", "pipeline", "watermark", "scaleout")
COMMAND = "make bench   # = .venv/bin/python -m bench"


def stage_present(name: str) -> bool:
    """bench/engine.py is optional (another benchmark's home); the others ship with this one."""
    return importlib.util.find_spec(f"bench.{name}") is not None


def run_stage(name: str) -> tuple[int, str]:
    """`python -m bench.<name>` in a child process, so no stage inherits another's heap or
    garbage (RSS figures stay honest); its stdout is echoed and kept, its stderr passes through."""
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert process.stdout is not None
    kept: list[str] = []
    try:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            kept.append(line)
        return process.wait(), "".join(kept)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()


def update_benchmarks(tables: dict[str, str], seconds: float) -> None:
    block = [
        BEGIN,
        "",
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M %Z')}, {seconds / 60:.1f} min, "
        f"Python {platform.python_version()}, command:",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
    ]
    for name, table in tables.items():
        block += [
            f"`bench/{name}.py` (bench/results/{name}.json):",
            "",
            "```text",
            table.strip("\n"),
            "```",
            "",
        ]
    block.append(END)
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + "\n".join(block) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n"
    BENCHMARKS.write_text(text)
    print(f"[bench] tables written to {BENCHMARKS}", file=sys.stderr)


def terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so the broker and worker processes are stopped."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", default="", help="comma-separated stages to skip: " + ", ".join(STAGES))
    parser.add_argument("--no-update", action="store_true", help="leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    skipped = {name.strip() for name in args.skip.split(",") if name.strip()}
    signal.signal(signal.SIGTERM, terminate)

    began = time.perf_counter()
    tables: dict[str, str] = {}
    failed: list[str] = []
    for name in STAGES:
        if name in skipped:
            continue
        if not stage_present(name):
            print(f"[bench] bench/{name}.py is absent; skipping it", file=sys.stderr)
            continue
        print(f"[bench] === {name} ===", file=sys.stderr, flush=True)
        status, output = run_stage(name)
        if status == 0:
            tables[name] = output
        else:
            print(f"[bench] {name} exited with {status}", file=sys.stderr)
            failed.append(name)
    seconds = time.perf_counter() - began
    print(f"[bench] done in {seconds / 60:.1f} min", file=sys.stderr)
    if tables and not failed and not args.no_update:
        update_benchmarks(tables, seconds)
    if failed:
        print(f"[bench] failed: {', '.join(failed)} (BENCHMARKS.md left unchanged)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
