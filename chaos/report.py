"""The suite's tables, its JSON, and the block of RELIABILITY.md that `make chaos` rewrites."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from chaos.run import Outcome

ROOT = Path(__file__).resolve().parent.parent
RELIABILITY = ROOT / "RELIABILITY.md"
BEGIN = "<!-- chaos:begin (written by `python -m chaos`; edit outside this block) -->"
END = "<!-- chaos:end -->"
COLUMNS = (
    "scenario",
    "events",
    "expected",
    "lost",
    "unexpected",
    "conflicting",
    "duplicates",
    "per disruption",
    "rounds re-sent",
    "max round",
    "recovery s",
    "minutes",
    "result",
)


def row(outcome: Outcome) -> list[str]:
    c = outcome.comparison
    counts = (
        ["-"] * 5 if c is None else [f"{n:,}" for n in (c.lost, c.unexpected, c.conflicting, c.duplicates)]
    )
    disruptions = outcome.disruptions
    recovery = " ".join("-" if d.recovery_s is None else f"{d.recovery_s:.1f}" for d in disruptions)
    return [
        outcome.scenario,
        f"{outcome.events:,}",
        f"{outcome.expected:,}",
        *counts[:4],
        " ".join(str(d.duplicates) for d in disruptions) or "-",
        " ".join(str(d.rounds_resent) for d in disruptions) or "-",
        "-" if c is None else f"{c.max_round:,}",
        recovery or "-",
        f"{outcome.seconds / 60:.1f}",
        "pass" if outcome.passed else "FAIL",
    ]


def table(outcomes: list[Outcome]) -> str:
    rows = [list(COLUMNS), *(row(outcome) for outcome in outcomes)]
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(COLUMNS))]
    numeric = {1, 2, 3, 4, 5, 6, 9, 11}

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    return "\n".join([line(rows[0]), "  ".join("-" * width for width in widths), *map(line, rows[1:])])


def details(outcome: Outcome) -> str:
    """Each disruption, the failed checks and the findings of one scenario, as text."""
    lines = [f"{outcome.scenario}: ended {outcome.ended}, {outcome.seconds / 60:.1f} min"]
    if outcome.comparison is not None:
        c = outcome.comparison
        lines.append(
            f"  topic: {c.records:,} records, {c.distinct:,} ids, {c.rounds:,} rounds; "
            f"replay: {c.expected:,} alerts"
        )
    for number, d in enumerate(outcome.disruptions, start=1):
        recovery = "-" if d.recovery_s is None else f"{d.recovery_s:.1f} s"
        lines.append(
            f"  {number:>2}. {d.kind:<8} {d.moment}; re-sent {d.duplicates:,} from {d.rounds_resent} "
            f"round(s); recovery {recovery}"
        )
    for name, ok in outcome.checks.items():
        if not ok:
            lines.append(f"  FAILED: {name}")
    lines.extend(f"  finding: {finding}" for finding in outcome.findings)
    for key in (
        "ownership",
        "partitions_owned",
        "outage_log",
        "sigterm_exit_s",
        "exit_code",
        "worker_exit_s",
        "up_after_broker_s",
        "internal_skipped",
        "seeks_back",
    ):
        if key in outcome.facts:
            lines.append(f"  {key}: {json.dumps(outcome.facts[key], default=str)}")
    return "\n".join(lines)


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.system()} {platform.release()}"


def as_json(outcomes: list[Outcome], seed: int, seconds: float) -> dict[str, Any]:
    return {
        "seed": seed,
        "seconds": seconds,
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "python": platform.python_version(),
        "scenarios": [{**dataclasses.asdict(outcome), "passed": outcome.passed} for outcome in outcomes],
    }


def update_reliability(outcomes: list[Outcome], seed: int, seconds: float, command: str) -> None:
    """Replace the block between the chaos markers with this run's tables; the prose stays."""
    passed = sum(outcome.passed for outcome in outcomes)
    loads = [o.facts["load_average"][0] for o in outcomes if "load_average" in o.facts]
    load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "unknown"
    block = [
        BEGIN,
        "",
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M %Z')}, {seconds / 60:.1f} min, seed {seed}, "
        f"{passed} of {len(outcomes)} scenarios passed; {machine()}, "
        f"Python {platform.python_version()}; load average (1 min) at the end of each scenario {load}, "
        "of which the suite's own processes make 1-2. Command:",
        "",
        "```sh",
        command,
        "```",
        "",
        "```text",
        table(outcomes),
        "```",
        "",
        "Each scenario's disruptions (what the worker was doing, alerts re-sent, recovery), "
        "failed checks and findings:",
        "",
        "```text",
        "\n\n".join(details(outcome) for outcome in outcomes),
        "```",
        "",
        END,
    ]
    text = RELIABILITY.read_text() if RELIABILITY.exists() else "# Reliability\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + "\n".join(block) + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n"
    RELIABILITY.write_text(text)
