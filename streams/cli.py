"""`sentinel`: the command line. Each subcommand imports only what it needs.

A failure the project foresees (schemas.errors) ends the command with one line
on stderr, `sentinel <command>: <problem>`, and the exit code of its class
(listed in the README); only a bug ends in a traceback (exit code 1). Every
command logs as the settings' `log_level` and `log_format` say (`streams.logs`).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from importlib import metadata
from typing import IO, TYPE_CHECKING, Any, BinaryIO, TypeVar

from schemas.errors import SentinelError
from streams.settings import LOG_LEVELS

if TYPE_CHECKING:
    from streams.progress import Progress
    from streams.settings import Settings

Command = Callable[[argparse.Namespace], int]
T = TypeVar("T")


def relax_garbage_collector() -> None:
    """Collect young objects less often: millions of long-lived customer states made the
    default threshold (700 allocations) walk them constantly; 17-40% of replay CPU here."""
    gc.set_threshold(100_000, 50, 100)


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
    progress = _progress_for(args.file, "alerts", sys.stdout)
    lines = _open_lines(args.file)

    def emit(alert: bytes) -> None:
        out.write(alert)
        out.write(b"\n")
        if progress is not None:
            progress.add_done()

    def reject(number: int, bad: Rejected) -> None:
        where = f", batch element {bad.index}" if bad.index is not None else ""
        if progress is not None:
            progress.clear()
        sys.stderr.write(f"line {number}{where}: rejected ({bad.reason}): {bad.message}\n")

    try:
        counts = run_replay(
            progress.lines_of(lines) if progress is not None else lines,
            config=config,
            until=until,
            emit=emit,
            reject=reject,
        )
    except OSError as error:
        if progress is not None:
            progress.finish()
        sys.stderr.write(f"sentinel replay: cannot read {args.file}: {error.strerror}\n")
        return 2
    finally:
        if progress is not None:
            progress.finish()  # where it stopped, too, before Ctrl-C's prompt or a failure's line
    out.flush()
    if counts.duplicates:
        sys.stderr.write(f"{counts.duplicates} duplicate events ignored\n")
    return 0


def _progress_for(path: str, done_label: str, output: IO[Any] | None = None) -> Progress | None:
    """A progress line on stderr when it is a terminal (and `output`, if given, is not)."""
    from streams import progress

    if not progress.wanted(sys.stderr, output):
        return None
    try:
        size = os.stat(path).st_size if path != "-" else progress.file_size(sys.stdin)
    except OSError:
        size = None
    return progress.Progress(sys.stderr, size, done_label)


def cmd_patterns(args: argparse.Namespace) -> int:
    from agents.config import Config, load_config
    from schemas import codec

    config = load_config(args.config) if args.config else Config.default()
    rows = [pattern.catalog_row() for pattern in config.patterns]
    in_force = config.as_toml_ready()
    if args.json:
        extras = {
            key: in_force[key] for key in ("disabled", "calendar", "segments", "holdout") if key in in_force
        }
        sys.stdout.write(codec.dumps({"patterns": rows, **extras}).decode() + "\n")
        return 0
    for row in rows:
        point = row["danger_point"] if row["danger_point"] is not None else "-"
        limits = ", ".join(f"{name}={value}" for name, value in row["thresholds"].items()) or "-"
        sys.stdout.write(f"{row['pattern']:<27} dp {point!s:<3} {row['phases']:<36} {limits}\n")
    if "disabled" in in_force:
        sys.stdout.write(f"\nswitched off: {', '.join(in_force['disabled'])}\n")
    if "calendar" in in_force:
        calendar = in_force["calendar"]
        hours = ", ".join(f"{day} {spans}" for day, spans in calendar["hours"].items())
        holidays = ", ".join(calendar["holidays"]) or "none"
        sys.stdout.write(f"\nbusiness hours ({calendar['timezone']}): {hours}; holidays: {holidays}\n")
    for segment, overrides in in_force.get("segments", {}).items():
        changes = "; ".join(
            f"{name} " + ", ".join(f"{key}={value}" for key, value in limits.items())
            for name, limits in overrides.items()
        )
        sys.stdout.write(f"segment {segment}: {changes or 'as the pattern tables'}\n")
    if "holdout" in in_force:
        holdout = in_force["holdout"]
        sys.stdout.write(f"holdout: {holdout['share']:.0%} of customers (salt {holdout['salt']!r})\n")
    return 0


def cmd_effectiveness(args: argparse.Namespace) -> int:
    from agents.config import Config, load_config
    from agents.effectiveness import measure, render_table
    from schemas import codec
    from schemas.events import Rejected
    from schemas.timestamps import parse_duration

    config = load_config(args.config) if args.config else Config.default()
    try:
        horizon = parse_duration(args.horizon)
    except ValueError as error:
        raise SentinelError(f"--horizon: {error}") from None
    if horizon <= 0:
        raise SentinelError(f"--horizon must be longer than zero, got {args.horizon!r}")
    rejected = 0

    def reject(number: int, bad: Rejected) -> None:
        nonlocal rejected
        rejected += 1

    with _readable(args.file) as lines:
        try:
            report = measure(lines, config=config, horizon=horizon, reject=reject)
        except OSError as error:
            raise SentinelError(f"cannot read {args.file}: {error.strerror}") from None
    if rejected:
        sys.stderr.write(f"{rejected} rejected lines or events left out (sentinel replay names them)\n")
    if args.plot:
        from streams.effectiveness_plot import plot_report

        drawn = plot_report(report, args.plot)
        sys.stderr.write(f"{drawn} patterns drawn in {args.plot}\n")
    if args.json:
        sys.stdout.write(codec.dumps(report.as_json_ready()).decode() + "\n")
    else:
        sys.stdout.write(render_table(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentinel", description="Touchpoint Sentinel: catch customer relationships going wrong in time."
    )
    parser.add_argument(
        "--version", action="version", version=f"sentinel {metadata.version('touchpoint-sentinel')}"
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

    effectiveness = commands.add_parser(
        "effectiveness", help="do the alerts help? churn of alerted against held-out customers, per pattern"
    )
    effectiveness.add_argument("file", help="touchpoints as JSON lines, as for replay; - for stdin")
    effectiveness.add_argument("--config", help="thresholds file (TOML) with its [holdout] table")
    effectiveness.add_argument(
        "--horizon", default="90d", help="how long after the first alert a loss counts (default 90d)"
    )
    effectiveness.add_argument("--json", action="store_true", help="the report as one JSON object")
    effectiveness.add_argument("--plot", metavar="FILE.png", help="also draw the rates with intervals")
    effectiveness.set_defaults(run=cmd_effectiveness)

    worker = commands.add_parser("worker", help="run the stream processor (production)")
    worker.add_argument("--settings", help="settings file (TOML, [sentinel] table); env SENTINEL_* wins")
    worker.add_argument(
        "--loglevel",
        type=str.lower,
        choices=LOG_LEVELS,
        help="log level for this run; wins over log_level of the settings (default warning)",
    )
    worker.add_argument("--role", choices=("all", "ingest", "detect"), help="overrides the role setting")
    worker.set_defaults(run=cmd_worker)

    broker = commands.add_parser("broker", help="run the embedded Kafka-compatible broker (Tansu)")
    broker.add_argument("--port", type=int, default=9092)
    broker.set_defaults(run=cmd_broker)

    produce = commands.add_parser("produce", help="publish a JSON-lines touchpoint history")
    produce.add_argument("file", help="touchpoints as JSON lines; - for stdin")
    produce.add_argument("--settings", help="settings file (TOML)")
    produce.set_defaults(run=cmd_produce)

    tail = commands.add_parser("tail", help="follow the alert topic, one line per alert")
    tail.add_argument("--settings", help="settings file (TOML)")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--max", type=int, help="stop after this many alerts")
    tail.add_argument("--idle-timeout", type=float, help="stop after this many seconds without an alert")
    tail.add_argument("--json", action="store_true", help="print the alert events as JSON")
    tail.set_defaults(run=cmd_tail)

    deliver = commands.add_parser(
        "deliver", help="deliver alerts to Alertmanager or a webhook (a consumer group on the alert topic)"
    )
    targets = deliver.add_subparsers(dest="target", required=True, metavar="TARGET")
    for target, text, url in (
        (
            "alertmanager",
            "post alerts to Alertmanager's v2 API, open episodes kept firing",
            "http://host:9093",
        ),
        ("webhook", "POST each alert as a signed CloudEvent, retried, dead-lettered", "https://host/path"),
    ):
        delivery = targets.add_parser(target, help=text)
        delivery.add_argument("--url", required=True, help=f"where to deliver ({url})")
        delivery.add_argument(
            "--settings", help="settings file (TOML, [sentinel] table); env SENTINEL_* wins"
        )
        delivery.add_argument(
            "--include-holdouts", action="store_true", help="deliver the alerts of held-out customers too"
        )
        delivery.add_argument(
            "--loglevel",
            type=str.lower,
            choices=LOG_LEVELS,
            help="log level for this run; wins over log_level of the settings (default warning)",
        )
        delivery.set_defaults(run=cmd_deliver)

    customer = commands.add_parser("customer", help="a customer's state, as a worker knows it (JSON)")
    customer.add_argument("subject", help="the customer id")
    customer.add_argument("--settings", help="settings file (TOML)")
    customer.add_argument("--worker", help="any worker's HTTP endpoint (default: advertised_url)")
    customer.set_defaults(run=cmd_customer)

    demo = commands.add_parser("demo", help="embedded broker + worker + live lifecycle traffic")
    demo.add_argument("--customers", type=int, default=3000)
    demo.add_argument("--days-per-second", type=float, default=2.0, help="event-time acceleration")
    demo.add_argument("--duration", type=float, help="stop after this many seconds (default: Ctrl-C)")
    demo.add_argument("--port", type=int, default=0, help="broker port (default: a free one)")
    demo.add_argument("--metrics-port", type=int, default=9108)
    demo.set_defaults(run=cmd_demo)
    return parser


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    settings = loaded_settings(args)
    if args.role:
        settings = settings.replace(role=args.role)
    return run_worker(settings)


def cmd_broker(args: argparse.Namespace) -> int:
    from streams.broker import EmbeddedBroker, run_forever

    def ready(broker: EmbeddedBroker) -> None:
        sys.stdout.write(f"embedded broker on {broker.bootstrap_servers}; Ctrl-C stops it\n")
        sys.stdout.flush()

    return run_forever(args.port, on_ready=ready)


def _readable(path: str) -> BinaryIO:
    """The input opened before anything connects, or one line saying why it cannot be read."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as error:
        raise SentinelError(f"cannot read {path}: {error.strerror}") from None


def run_connected(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Check the connection to the broker first, then run `work`; Kafka errors leave as our own."""
    import asyncio

    from aiokafka.errors import KafkaError

    from streams.connection import check_connection, kafka_failure

    async def connected() -> T:
        await check_connection(settings)
        try:
            return await work()
        except KafkaError as error:
            raise kafka_failure(error, settings) from None

    return asyncio.run(connected())


def cmd_produce(args: argparse.Namespace) -> int:
    from streams.clients import produce_lines

    settings = loaded_settings(args)
    progress = _progress_for(args.file, "sent")
    with _readable(args.file) as handle:
        if progress is None:
            sent = run_connected(settings, lambda: produce_lines(settings, handle))
        else:
            lines = progress.lines_of(handle)
            try:
                sent = run_connected(
                    settings, lambda: produce_lines(settings, lines, on_sent=progress.set_done)
                )
            finally:
                progress.finish()
    sys.stderr.write(f"{sent} messages sent to {settings.touchpoints_topic}\n")
    return 0


def cmd_customer(args: argparse.Namespace) -> int:
    from streams.clients import fetch_customer
    from streams.http import advertised_url
    from streams.settings import Settings

    url = args.worker or advertised_url(Settings.load(args.settings))
    sys.stdout.write(fetch_customer(url, args.subject) + "\n")
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from streams.clients import tail_alerts

    settings = loaded_settings(args)
    run_connected(
        settings,
        lambda: tail_alerts(
            settings,
            from_beginning=args.from_beginning,
            limit=args.max,
            idle_timeout=args.idle_timeout,
            as_json=args.json,
        ),
    )
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    from streams.delivery.run import run_delivery

    return run_delivery(loaded_settings(args), args.target, args.url, include_holdouts=args.include_holdouts)


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(args.customers, args.days_per_second, args.duration, args.port, args.metrics_port)


def loaded_settings(args: argparse.Namespace) -> Settings:
    """The settings, read once per command: defaults, the `--settings` file if the command has
    one (else `SENTINEL_SETTINGS_FILE`), the environment."""
    from streams.settings import Settings

    settings: Settings | None = getattr(args, "loaded_settings", None)
    if settings is None:
        settings = args.loaded_settings = Settings.load(getattr(args, "settings", None))
    return settings


def start_logging(args: argparse.Namespace) -> None:
    """Every command logs as its settings say; `--loglevel` (worker, deliver) wins over them."""
    from streams.logs import configure_logging

    settings = loaded_settings(args)
    configure_logging(getattr(args, "loglevel", None) or settings.log_level, settings.log_format)


def main(argv: Sequence[str] | None = None) -> int:
    from streams.logs import failure_line

    args = build_parser().parse_args(argv)
    if args.command in ("replay", "effectiveness", "worker"):
        relax_garbage_collector()
    run: Command = args.run
    try:
        start_logging(args)
        return run(args)
    except SentinelError as error:
        sys.stderr.write(failure_line(args.command, str(error)) + "\n")
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
