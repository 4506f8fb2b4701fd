"""Time words: RFC 3339 instants and human durations, both as integer milliseconds.

Every clock in Touchpoint Sentinel is event time in epoch milliseconds (UTC), so
deadline arithmetic is integer arithmetic and renders back identically.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

Duration = int
"""Milliseconds; spelled "48h", "7d", "1d12h" wherever people read or write it."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_FRACTION = re.compile(r"\.\d+")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)", re.ASCII)
_UNIT_MS = {"ms": 1, "s": SECOND, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}


def parse_instant(text: str) -> int:
    """RFC 3339 with a zone ("Z" or ±hh:mm) → epoch milliseconds; ValueError otherwise.

    Digits past the millisecond are dropped: alerts carry milliseconds at most.
    """
    if _RFC3339.fullmatch(text) is None:
        raise ValueError(f"not an RFC 3339 time with zone: {text!r}")
    text = text.upper()
    leap_second = text[17:19] == "60"
    if leap_second:
        text = text[:17] + "59" + text[19:]
    if len(text) > 32:
        text = _FRACTION.sub(lambda digits: digits.group()[:7], text)
    moment = datetime.fromisoformat(text)
    return (moment - _EPOCH) // _MILLISECOND + (SECOND if leap_second else 0)


def format_instant(epoch_ms: int) -> str:
    """Epoch milliseconds → "2026-03-15T09:30:00Z" (".123Z" only when milliseconds are set)."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    millis = epoch_ms % SECOND
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> int:
    """ "48h", "7d", "1d12h", "90s", "250ms", "2w" → milliseconds; ValueError otherwise."""
    position, total = 0, 0
    for part in _DURATION_PART.finditer(text):
        if part.start() != position:
            break
        total += int(part.group(1)) * _UNIT_MS[part.group(2)]
        position = part.end()
    if position == 0 or position != len(text):
        raise ValueError(f"not a duration like '48h', '7d' or '1d12h': {text!r}")
    return total


def format_duration(millis: int) -> str:
    """The shortest exact spelling of a duration, for evidence and the catalog: 172800000 → "2d"."""
    if millis == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNIT_MS[unit]
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def wall_clock_ms() -> int:
    """Now, for the few places that need processing time (live watermark idling, future check)."""
    return (datetime.now(UTC) - _EPOCH) // _MILLISECOND
