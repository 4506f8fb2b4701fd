"""Running the worker: in this process (`sentinel worker`) or as a child process (demo, tests, bench)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Self

import faust
from prometheus_client import CollectorRegistry

from agents.config import Config
from agents.ingest import wall_clock_ms
from schemas.errors import ConfigError, PortInUse, SentinelError, WorkerCrashed
from schemas.timestamps import format_duration
from streams import logs
from streams.app import create_app, declare_topics, run_ingest
from streams.connection import reach_broker
from streams.http import BrokerContact, WorkerEndpoint, serve
from streams.metrics import Metrics
from streams.settings import Settings
from streams.subprocesses import stop_process

log = logging.getLogger(__name__)


def run_worker(settings: Settings, config: Config | None = None) -> int:
    """Block running the worker until SIGINT/SIGTERM; returns the exit status.

    Before Faust starts, the broker is reached as configured, the topics are
    declared and the HTTP endpoint (metrics, health, customers) is bound: a wrong
    password or certificate, an unreachable broker or a port in use stops the
    start with a SentinelError (one line from the command line). The endpoint
    comes last because it tells that the worker is up (WorkerProcess and probes
    wait for it). A crash after the start is `WorkerCrashed`: its traceback
    logged once, then one line. Faust leaves logging alone: `streams.logs` has
    configured it (here, if the command line has not).
    """
    if not logs.configured():
        logs.configure_logging(settings.log_level, settings.log_format)
    if settings.role == "ingest":
        return run_ingest_only(settings)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # Faust, the checks below and the HTTP endpoint share it
    sentinel = create_app(settings, config)
    loop.run_until_complete(_reach_broker(settings))
    if settings.metrics_port:
        loop.run_until_complete(serve_endpoint(settings, sentinel.endpoint))
    worker = BoundedStopWorker(
        sentinel.app, quiet=True, redirect_stdouts=False, override_logging=False, loop=loop
    )
    worker.spinner = None  # a terminal spinner writes escape codes into log files
    try:
        worker.execute_from_commandline()
    except SystemExit:
        if worker.crash_reason is None:
            raise
        raise WorkerCrashed(f"crashed: {logs.describe_crash(worker.crash_reason)}") from None
    return 0


def run_ingest_only(settings: Settings) -> int:
    """`--role ingest`: validate, dead-letter and repartition, with no Faust and no state; as many
    such processes as the touchpoints topic has partitions share the work (their own group)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    registry = CollectorRegistry()
    metrics = Metrics.create(registry, settings.role)
    contact = BrokerContact()
    loop.run_until_complete(_reach_broker(settings))
    if settings.metrics_port:
        endpoint = WorkerEndpoint(settings, registry, contact, wall_clock_ms)
        loop.run_until_complete(serve_endpoint(settings, endpoint))
    ingest = loop.create_task(run_ingest(settings, metrics, contact))

    def stop() -> None:
        _exit_unless_done_within(STOP_DEADLINE, 0)
        ingest.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    with suppress(asyncio.CancelledError):
        loop.run_until_complete(ingest)
    loop.close()
    return 0


STOP_DEADLINE = 25.0
"""Seconds a stopping worker gets before it exits regardless (a supervisor's grace period is 30)."""


class BoundedStopWorker(faust.Worker):
    """A Faust worker that cannot hang on its way out.

    Once it begins to stop (a signal, or the app crashed), the process exits
    within `STOP_DEADLINE` seconds, whatever still waits for a broker that does
    not answer: a supervisor's restart must not wait on a process that is only
    half alive. What was not written by then is read again after the restart
    (its offsets were not committed).
    """

    async def stop(self) -> None:
        _exit_unless_done_within(STOP_DEADLINE, WorkerCrashed.exit_code if self.crash_reason else 0)
        await super().stop()

    def _shutdown_loop(self) -> None:
        """mode re-raises the crash here, after logging it: `run_worker` reports it instead, in one line."""
        reason, self.crash_reason = self.crash_reason, None
        try:
            super()._shutdown_loop()
        finally:
            self.crash_reason = reason


def _exit_unless_done_within(seconds: float, code: int) -> None:
    def exit_now() -> None:
        problem = f"stopping took over {seconds:.0f} s; exiting with {code}"
        sys.stderr.write(logs.failure_line("worker", problem) + "\n")
        sys.stderr.flush()
        os._exit(code)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


async def serve_endpoint(settings: Settings, endpoint: WorkerEndpoint) -> None:
    where = f"{settings.metrics_host}:{settings.metrics_port}"
    try:
        await serve(endpoint.build(), settings.metrics_host, settings.metrics_port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"metrics port {where} is already in use (set metrics_port; 0 turns the endpoint off)"
            ) from None
        raise ConfigError(f"metrics_host/metrics_port: cannot listen on {where} ({error.strerror})") from None
    log.info("metrics on http://%s/metrics", where)


async def _reach_broker(settings: Settings) -> None:
    """Connect and declare the topics (`reach_broker`: an unreachable broker gets `broker_wait`)."""
    await reach_broker(settings, lambda: declare_topics(settings))


def worker_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The settings as the documented SENTINEL_* variables, for a worker in a child process."""
    env = dict(os.environ if base is None else base)
    for name in Settings.__dataclass_fields__:
        value = getattr(settings, name)
        spec = Settings.__dataclass_fields__[name]
        if spec.type == "Duration":
            value = format_duration(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"SENTINEL_{name.upper()}"] = str(value)
    return env


class WorkerProcess:
    """`sentinel worker` in a child process, stopped with SIGTERM like a deployment would."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.metrics_host}:{self.settings.metrics_port}/metrics"

    def start(self, ready_timeout: float = 30.0) -> Self:
        """Start and wait until the metrics endpoint answers (the worker is up)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env=worker_environment(self.settings),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SentinelError(f"worker exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.metrics_url, timeout=1):  # noqa: S310 (loopback URL we built)
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SentinelError(f"worker did not come up in {ready_timeout:.0f} s; see {self.log_path}")

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:  # noqa: S310
            text: str = response.read().decode()
        return text

    def stop(self, timeout: float = 20.0) -> int | None:
        return stop_process(self.process, timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
