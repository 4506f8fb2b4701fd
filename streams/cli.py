"""`sentinel`: the command line. Each subcommand imports only what it needs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from schemas.errors import SentinelError

Command = Callable[[argparse.Namespace], int]


def _open_lines(path: str) -> Iterator[bytes]:
    if path == "-":
        yield from sys.stdin.buffer
        return
    with open(path, "rb") as handle:
        yield from handle


def cmd_replay(args: argparse.Namespace) -> int:
    from agents.config import Config, load_config
    from agents.replay import run_replay
    from schemas.events import Rejected
    from schemas.timestamps import parse_instant

    config = load_config(args.config) if args.config else Config.default()
    try:
        until = parse_instant(args.until) if args.until else None
    except ValueError as error:
        raise SentinelError(f"--until: {error}") from None
    out: BinaryIO = sys.stdout.buffer

    def emit(alert: bytes) -> None:
        out.write(alert)
        out.write(b"\n")

    def reject(number: int, bad: Rejected) -> None:
        where = f", batch element {bad.index}" if bad.index is not None else ""
        sys.stderr.write(f"line {number}{where}: rejected ({bad.reason}): {bad.message}\n")

    try:
        counts = run_replay(_open_lines(args.file), config=config, until=until, emit=emit, reject=reject)
    except OSError as error:
        sys.stderr.write(f"sentinel replay: cannot read {args.file}: {error.strerror}\n")
        return 2
    out.flush()
    if counts.duplicates:
        sys.stderr.write(f"{counts.duplicates} duplicate events ignored\n")
    return 0


def cmd_patterns(args: argparse.Namespace) -> int:
    from agents.config import Config, load_config
    from schemas import codec

    config = load_config(args.config) if args.config else Config.default()
    for pattern in config.patterns:
        row = pattern.catalog_row()
        if args.json:
            sys.stdout.write(codec.dumps(row).decode() + "\n")
            continue
        point = row["danger_point"] if row["danger_point"] is not None else "-"
        limits = ", ".join(f"{name}={value}" for name, value in row["thresholds"].items()) or "-"
        sys.stdout.write(f"{row['pattern']:<27} dp {point!s:<3} {row['phases']:<36} {limits}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentinel", description="Touchpoint Sentinel: catch customer relationships going wrong in time."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    replay = commands.add_parser("replay", help="run the detection offline over a JSON-lines file")
    replay.add_argument("file", help="touchpoints as JSON lines (a line may be a batch array); - for stdin")
    replay.add_argument("--until", help="RFC 3339 time to run the clock on to at the end of input")
    replay.add_argument("--config", help="thresholds file (TOML)")
    replay.set_defaults(run=cmd_replay)

    patterns = commands.add_parser("patterns", help="list the danger-pattern catalog")
    patterns.add_argument("--config", help="thresholds file (TOML)")
    patterns.add_argument("--json", action="store_true", help="one JSON object per pattern")
    patterns.set_defaults(run=cmd_patterns)

    for register in _RUNTIME_COMMANDS:
        register(commands)
    return parser


_RUNTIME_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except SentinelError as error:
        sys.stderr.write(f"sentinel {args.command}: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
