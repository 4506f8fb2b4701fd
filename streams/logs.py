"""How every command logs: one handler on the root logger, text or JSON, and never a storm.

Every record (ours, Faust's, mode's, aiokafka's) propagates to the root
logger's one handler, which

- holds back repeats: of each kind of record (logger, level, message template)
  the first `BURST` in an interval go out, then at most one per `INTERVAL`,
  saying how many more like it were held back, so that a broker refusing
  connections, which makes aiokafka log some 180 lines a second, cannot flood
  the log;
- keeps input out of the log above debug level: an exception's message is
  written only when its class writes messages for operators (Kafka's, the
  operating system's, ours but bad input's); any other (a KeyError, a parser's
  ValueError) may quote a customer id, so only its class and traceback are;
- writes one record per line: `text` for people, `json` for log collectors,
  with the keys of `JSON_KEYS`, `EXCEPTION_KEYS` and `CONTEXT_KEYS` only.

Faust is told not to configure logging (`override_logging=False`), so the
worker logs through this handler from its first line to its last.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from schemas.errors import InvalidEvent, SentinelError

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
JSON_KEYS = ("time", "level", "logger", "message")
"""Keys of every JSON line."""
EXCEPTION_KEYS = ("error", "traceback")
"""Keys added to a record that carries an exception: its class (and message where it may be shown)
and its traceback."""
CONTEXT_KEYS = ("repeated",)
"""The only record attributes written as keys of their own. `repeated`: how many records like this
one were held back since the last line of its kind."""

BURST = 2
"""Records of one kind let through at once before repeats are held back."""
INTERVAL = 10.0
"""Seconds between two lines of one kind once its repeats are held back."""
KINDS_LIMIT = 1024
"""Kinds of record remembered; beyond it, kinds idle for an interval are forgotten."""

_DIGITS = re.compile(r"\d+")
_OPERATOR_MODULES = ("aiokafka.", "kafka.")
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> LogHandler:
    """Make the root logger's only handler ours, at `level` (a key of LEVELS), in `log_format`."""
    withhold = LEVELS[level] > logging.DEBUG
    formatter = JsonFormatter(withhold) if log_format == "json" else TextFormatter(withhold)
    handler = LogHandler(stream if stream is not None else sys.stderr, RepeatFilter())
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    logging.captureWarnings(True)
    return handler


def configured() -> bool:
    """Whether `configure_logging` has made the root logger's handler ours."""
    return _handler() is not None


def _handler() -> LogHandler | None:
    return next((h for h in logging.getLogger().handlers if isinstance(h, LogHandler)), None)


def _withholding() -> bool:
    handler = _handler()
    return handler is None or not isinstance(handler.formatter, _Formatter) or handler.formatter.withhold


def failure_line(command: str, problem: str) -> str:
    """The one line a failing command ends with: plain, or a JSON record when the log is JSON."""
    line = f"sentinel {command}: {problem}"
    handler = _handler()
    if handler is None or not isinstance(handler.formatter, JsonFormatter):
        return line
    record = logging.LogRecord("sentinel", logging.CRITICAL, __file__, 0, line, None, None)
    return handler.formatter.format(record)


def describe_crash(error: BaseException) -> str:
    """What ended a worker, for its last line: the exception and the module and line it rose in."""
    where = ""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" in {tb.tb_frame.f_globals.get('__name__', '?')} line {tb.tb_lineno}"
    return f"{describe_exception(error, _withholding())}{where}; the log holds its traceback"


@dataclass(slots=True)
class _Kind:
    """What the filter remembers of one kind of record."""

    since: float
    """Start of the current interval."""
    passed: int
    """Lines let through in the current interval."""
    allowed: int
    """Lines the current interval lets through: `BURST` after a quiet interval, else one."""
    last: float
    held: int = 0
    held_record: logging.LogRecord | None = None


class RepeatFilter(logging.Filter):
    """Holds back repeated records: per (logger, level, message template), the first `burst` in an
    interval go out, then one per `interval`, with "(N more like this in the last S s)". Debug
    records all go out.

    The template is the message before its arguments, with numbers masked (some libraries put
    offsets and ids into the message itself). Repeats held back when the kind falls silent are
    told by `due`, which the handler asks before each line it writes and when it closes.
    """

    def __init__(
        self, burst: int = BURST, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self._kinds: dict[tuple[str, int, str], _Kind] = {}
        self._lock = threading.Lock()  # Faust's consumer thread logs too

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True  # whoever asks for debug wants every line
        key = (record.name, record.levelno, _DIGITS.sub("#", str(record.msg)))
        with self._lock:
            now = self.clock()
            kind = self._kinds.get(key)
            if kind is None:
                self._forget_idle(now)
                self._kinds[key] = _Kind(since=now, passed=1, allowed=self.burst, last=now)
                return True
            if now - kind.since >= self.interval:
                quiet = kind.held == 0 and now - kind.last >= self.interval
                if kind.held:
                    _tell_held(record, kind.held, now - kind.since)
                kind.since, kind.passed, kind.held, kind.held_record = now, 1, 0, None
                kind.allowed = self.burst if quiet else 1
                kind.last = now
                return True
            kind.last = now
            if kind.passed < kind.allowed:
                kind.passed += 1
                return True
            kind.held += 1
            kind.held_record = record
            return False

    def due(self, *, closing: bool = False) -> list[logging.LogRecord]:
        """The last held-back record of each kind whose interval is over (all of them when
        `closing`), telling how many it stands for."""
        released: list[logging.LogRecord] = []
        with self._lock:
            now = self.clock()
            for kind in self._kinds.values():
                record = kind.held_record
                if record is None or not (closing or now - kind.since >= self.interval):
                    continue
                _tell_held(record, kind.held - 1, now - kind.since)
                released.append(record)
                kind.since, kind.passed, kind.allowed, kind.held, kind.held_record = now, 1, 1, 0, None
        released.sort(key=lambda record: record.created)
        return released

    def _forget_idle(self, now: float) -> None:
        if len(self._kinds) < KINDS_LIMIT:
            return
        for key, kind in list(self._kinds.items()):
            if kind.held_record is None and now - kind.last >= self.interval:
                del self._kinds[key]
        if len(self._kinds) >= KINDS_LIMIT:
            self._kinds.clear()


def _tell_held(record: logging.LogRecord, more: int, seconds: float) -> None:
    if more > 0:
        record.msg = f"{record.msg} ({more} more like this in the last {max(1, round(seconds))} s)"
        record.repeated = more


class LogHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes the repeats its filter held back once their interval is over."""

    def __init__(self, stream: TextIO, repeats: RepeatFilter) -> None:
        super().__init__(stream)
        self.repeats = repeats
        self.addFilter(repeats)

    def emit(self, record: logging.LogRecord) -> None:
        for held in self.repeats.due():
            super().emit(held)
        super().emit(record)

    def close(self) -> None:
        self.acquire()
        try:
            for held in self.repeats.due(closing=True):
                super().emit(held)
        finally:
            self.release()
        super().close()


class _Withheld:
    """An exception as a log argument, shown as its class only."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def speaks_to_operators(error: BaseException) -> bool:
    """Whether an exception's message is meant for an operator and never quotes input."""
    if isinstance(error, SentinelError):
        return not isinstance(error, InvalidEvent)
    if isinstance(error, OSError):
        return True
    return type(error).__module__.startswith(_OPERATOR_MODULES)


def describe_exception(error: BaseException, withhold: bool) -> str:
    """`Class: message`, or `Class` alone when the message may quote input and is withheld."""
    name = type(error).__qualname__
    if withhold and not speaks_to_operators(error):
        return f"{name} (message withheld: shown at log level debug)"
    try:
        text = str(error).strip()
    except Exception:  # noqa: BLE001 (a broken __str__ must not break the log)
        text = ""
    return f"{name}: {text}" if text else name


def format_traceback(error: BaseException, withhold: bool) -> str:
    """Python's traceback of `error` and the exceptions it was raised from, where every
    exception's own line is `describe_exception`'s."""
    import traceback

    chain: list[tuple[BaseException, str]] = []
    current: BaseException | None = error
    link = ""
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for exception, link_after in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exception.__traceback__))
        parts.append(describe_exception(exception, withhold) + "\n")
        if link_after:
            parts.append(f"\n{link_after}\n\n")
    return "".join(parts).rstrip("\n")


class _Formatter(logging.Formatter):
    def __init__(self, withhold: bool) -> None:
        super().__init__()
        self.withhold = withhold

    def message(self, record: logging.LogRecord) -> str:
        """The record's message; above debug, exceptions among its arguments are shown as their class."""
        msg = str(record.msg)
        args: Any = record.args
        if not args:
            return msg
        if self.withhold:
            if isinstance(args, Mapping):
                args = {key: self._shown(value) for key, value in args.items()}
            else:
                args = tuple(self._shown(value) for value in args)
        try:
            return msg % args
        except (TypeError, ValueError, KeyError):
            return f"{msg} (its arguments did not fit it)"

    def _shown(self, value: Any) -> Any:
        return _Withheld(describe_exception(value, True)) if isinstance(value, BaseException) else value

    def exception(self, record: logging.LogRecord) -> BaseException | None:
        info = record.exc_info
        return info[1] if info and info[1] is not None else None


def rfc3339(created: float) -> str:
    """UTC, milliseconds: 2026-03-01T09:00:00.123Z."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(_Formatter):
    """`2026-03-01T09:00:00.123Z WARNING aiokafka.conn: message`, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{rfc3339(record.created)} {record.levelname} {record.name}: {self.message(record)}"
        error = self.exception(record)
        if error is not None:
            line += "\n" + format_traceback(error, self.withhold)
        return line


class JsonFormatter(_Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.message(record),
        }
        error = self.exception(record)
        if error is not None:
            document["error"] = describe_exception(error, self.withhold)
            document["traceback"] = format_traceback(error, self.withhold)
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None:
                document[key] = value
        return orjson.dumps(document, default=str).decode()
