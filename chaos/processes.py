"""The processes a scenario starts, kills and pauses, and the guarantee that none outlives it.

Every worker runs `sentinel worker` in a process group of its own, so a SIGKILL reaches
all of it and nothing is left behind; the broker is the embedded Tansu, paused with
SIGSTOP and woken with SIGCONT. `Fleet` owns them all and ends them in its `close`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from schemas.errors import SentinelError
from streams.broker import EmbeddedBroker
from streams.settings import Settings
from streams.worker import worker_environment


def wall_ms() -> int:
    """Wall-clock milliseconds: what the worker writes in its `sentinel-processed-at` header."""
    return time.time_ns() // 1_000_000


class Worker:
    """One `sentinel worker` child process, in its own process group.

    Unlike `streams.worker.WorkerProcess`, starting does not require the worker to come up
    (a worker started without a broker must be watched, not waited for), and the log level
    can be raised to INFO, where Faust says when it restores tables and when it is ready.
    """

    def __init__(self, name: str, settings: Settings, log_path: Path, *, loglevel: str = "warning") -> None:
        self.name = name
        self.settings = settings
        self.log_path = log_path
        self.loglevel = loglevel
        self.process: subprocess.Popen[bytes] | None = None
        self.started_ms = 0
        self._log_start = 0

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.metrics_host}:{self.settings.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def spawn(self) -> Self:
        """Start the process and return at once; the log file is appended to across restarts."""
        if self.alive:
            raise SentinelError(f"worker {self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "--loglevel", self.loglevel],
                env=worker_environment(self.settings),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_ms = wall_ms()
        return self

    def start(self, timeout: float = 60.0) -> Self:
        """Spawn and wait until the metrics endpoint answers (the broker was reached)."""
        self.spawn()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise SentinelError(f"worker {self.name} exited with {self.returncode}; see {self.log_path}")
            if self.scrape() is not None:
                return
            time.sleep(0.1)
        raise SentinelError(f"worker {self.name} did not come up in {timeout:.0f} s; see {self.log_path}")

    def scrape(self) -> str | None:
        """The metrics text, or None while the endpoint does not answer."""
        try:
            with urllib.request.urlopen(self.metrics_url, timeout=2) as response:
                text: str = response.read().decode()
        except OSError:
            return None
        return text

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or an OOM kill would end it."""
        process = self.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def terminate(self, timeout: float) -> float | None:
        """SIGTERM, as a deployment stops it; seconds until it exited, or None (then SIGKILL)."""
        process = self.process
        if process is None or process.poll() is not None:
            return 0.0
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        return time.monotonic() - began

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_text(self, start: int | None = None, end: int | None = None) -> str:
        """The log between two byte offsets; by default what this incarnation wrote."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log_file:
            log_file.seek(self._log_start if start is None else start)
            data = log_file.read() if end is None else log_file.read(max(0, end - log_file.tell()))
        return data.decode("utf-8", "replace")


@dataclass
class Fleet:
    """Every process one scenario started; `close` ends them all (SIGCONT first, then SIGKILL)."""

    work_dir: Path
    workers: list[Worker] = field(default_factory=list)
    brokers: list[EmbeddedBroker] = field(default_factory=list)
    closing: list[Callable[[], None]] = field(default_factory=list)
    """Stops the scenario's own client threads (alert reader, producer) before the processes end."""
    _paused: set[int] = field(default_factory=set)

    def broker(self, port: int | None = None) -> EmbeddedBroker:
        broker = EmbeddedBroker(port, log_file=self.work_dir / "broker.log")
        self.brokers.append(broker)
        return broker.start()

    def worker(self, name: str, settings: Settings, *, loglevel: str = "warning") -> Worker:
        worker = Worker(name, settings, self.work_dir / f"{name}.log", loglevel=loglevel)
        self.workers.append(worker)
        return worker

    def pause(self, broker: EmbeddedBroker) -> None:
        """SIGSTOP the broker: its sockets stay open, nothing answers (a hung broker or a GC pause)."""
        pid = broker.pid
        if pid is None:
            raise SentinelError("the broker is not running")
        os.kill(pid, signal.SIGSTOP)
        self._paused.add(pid)

    def resume(self, broker: EmbeddedBroker) -> None:
        pid = broker.pid
        if pid is not None and pid in self._paused:
            os.kill(pid, signal.SIGCONT)
            self._paused.discard(pid)

    def close(self) -> None:
        for stop in self.closing:
            stop()
        for pid in list(self._paused):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._paused.clear()
        for worker in self.workers:
            worker.kill()
        for broker in self.brokers:
            broker.stop()

    def __enter__(self) -> Self:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ReservedPort:
    """A loopback port bound but not listening: connections are refused, and no other process
    takes it before the broker that is to listen on it starts (`release` first)."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]

    def release(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
