"""Running a command with its stderr on a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path


def on_a_terminal(*args: str, stdout: Path, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """Run `sentinel` with stderr on a pseudo-terminal (stdout to a file, `env` added to the
    environment); returns the exit code and what the terminal showed."""
    controller, terminal = pty.openpty()
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's last holder has gone
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    with stdout.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=terminal,
            env={**os.environ, **(env or {})},
        )
        os.close(terminal)
        code = process.wait(timeout=120)
    reader.join(timeout=10)
    os.close(controller)
    return code, shown.decode()
