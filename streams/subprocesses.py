"""Stopping a child process the way a supervisor does: a signal, a grace period, then SIGKILL.

The embedded broker, `WorkerProcess` and the processes tests and benchmarks start
(Prometheus, Alertmanager, stunnel, a deliverer) all stop this way.
"""

from __future__ import annotations

import logging
import signal
import subprocess

log = logging.getLogger(__name__)


def stop_process(
    process: subprocess.Popen[bytes] | None, timeout: float, signum: int = signal.SIGTERM
) -> int | None:
    """Send `signum` and wait up to `timeout` seconds, then SIGKILL; the exit code (None: never
    started). A process that exited already is only reaped."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(signum)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("pid %d ignored signal %d for %.1f s; killing it", process.pid, signum, timeout)
            process.kill()
    return process.wait()
