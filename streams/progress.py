"""Progress of `sentinel produce` and `sentinel replay` over a large file, on a terminal only.

It is drawn on stderr, in place, at most `1 / EVERY` times a second, and only when
stderr is a terminal (and stdout is not, where alerts would be written through it):
a pipe or a file, as in scripts, tests and log collectors, gets not a byte of it.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

EVERY = 0.25
"""Seconds between two redraws."""
_ERASE = "\r\x1b[K"


def wanted(stderr: IO[Any], stdout: IO[Any] | None = None) -> bool:
    """Whether to draw progress: stderr is a terminal and stdout, if it carries output, is not."""
    return _isatty(stderr) and not (stdout is not None and _isatty(stdout))


def _isatty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def file_size(handle: IO[Any]) -> int | None:
    """Bytes in a regular file (a pipe's size is unknown until its end)."""
    try:
        info = os.fstat(handle.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class Progress:
    """Lines read (with the percentage of the file when its size is known), something done with
    them (`done`, e.g. messages sent or alerts), and the rate in lines per second."""

    def __init__(
        self,
        stream: IO[str],
        total_bytes: int | None,
        done_label: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        every: float = EVERY,
    ) -> None:
        self.stream = stream
        self.total_bytes = total_bytes
        self.done_label = done_label
        self.clock = clock
        self.every = every
        self.lines = 0
        self.bytes_read = 0
        self.done = 0
        self.started = clock()
        self._drawn_at: float | None = None
        self._shown = False
        self._finished = False

    def lines_of(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        """`lines`, counted as they are read."""
        for line in lines:
            self.lines += 1
            self.bytes_read += len(line)
            self.tick()
            yield line

    def add_done(self, count: int = 1) -> None:
        self.done += count

    def set_done(self, total: int) -> None:
        self.done = total
        self.tick()

    def tick(self) -> None:
        now = self.clock()
        if self._drawn_at is None or now - self._drawn_at >= self.every:
            self._draw(now)

    def clear(self) -> None:
        """Erase the progress line, before something else is written to the terminal."""
        if self._shown:
            self.stream.write(_ERASE)
            self._shown = False

    def finish(self) -> None:
        """Draw the final counts and leave them on their own line; once, and only if a line was read."""
        if self._drawn_at is None or self._finished:
            return
        self._draw(self.clock())
        self.stream.write("\n")
        self.stream.flush()
        self._shown = False
        self._finished = True

    def text(self, now: float) -> str:
        elapsed = now - self.started
        rate = self.lines / elapsed if elapsed > 0 else 0.0
        text = f"{self.lines:,} lines read, {self.done:,} {self.done_label}, {rate:,.0f} lines/s"
        if self.total_bytes:
            text += f", {min(100, 100 * self.bytes_read // self.total_bytes)}%"
        return text

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        self.stream.write(_ERASE + self.text(now))
        self.stream.flush()
        self._shown = True
