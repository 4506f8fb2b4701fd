"""`stop_process`: every child the project starts is stopped by a signal, a grace period, then SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from streams.subprocesses import stop_process

SLEEPER = "import time; print('up', flush=True); time.sleep(60)"
STUBBORN = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + SLEEPER


def started(code: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"up\n"
    return process


def test_a_process_that_heeds_the_signal_exits_by_it() -> None:
    with started(SLEEPER) as process:
        assert stop_process(process, 10) == -signal.SIGTERM


def test_a_process_that_ignores_the_signal_is_killed_after_the_grace_period() -> None:
    with started(STUBBORN) as process:
        began = time.monotonic()
        assert stop_process(process, 0.5) == -signal.SIGKILL
        assert 0.5 <= time.monotonic() - began < 5


def test_an_exited_process_is_only_reaped_and_none_was_never_started() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    assert stop_process(process, 1) == 3
    assert stop_process(None, 1) is None
