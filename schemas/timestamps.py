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


DAY_CACHE_LIMIT = 4096
"""Days remembered by the fast paths below; events cluster on few days, so this is plenty."""

_day_starts: dict[str, int] = {}
_day_prefixes: dict[int, str] = {}

# Every valid spelling of the parts of "HH:MM:SS[.mmm]Z", with its milliseconds.
_MINUTE_OF_DAY = {
    f"{hour:02d}:{minute:02d}": hour * HOUR + minute * MINUTE for hour in range(24) for minute in range(60)
}
_SECOND_OF_MINUTE = {f":{second:02d}": second * SECOND for second in range(60)}
_MILLIS_AND_ZONE = {"Z": 0} | {f".{millis:03d}Z": millis for millis in range(1000)}

# The same parts the other way round, for `format_instant`: "HH:MM:", "SS", ".mmmZ" or "Z".
_HOURS_MINUTES = [f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)]
_SECONDS = [f"{second:02d}" for second in range(60)]
_MILLIS_ZONE = ["Z"] + [f".{millis:03d}Z" for millis in range(1, 1000)]

DURATION_CACHE_LIMIT = 4096
_duration_words: dict[int, str] = {}


def parse_instant(text: str) -> int:
    """RFC 3339 with a zone ("Z" or ±hh:mm) → epoch milliseconds; ValueError otherwise.

    Digits past the millisecond are dropped: alerts carry milliseconds at most.
    """
    fast = _parse_common_utc(text)
    if fast is not None:
        return fast
    return _parse_any_rfc3339(text)


def _parse_common_utc(text: str) -> int | None:
    """The shape nearly every event uses, "YYYY-MM-DDTHH:MM:SS[.mmm]Z", by table lookups; else None.

    Each part is looked up among its valid spellings, so a value comes back only
    where `_parse_any_rfc3339` gives the same one; anything unusual (offsets,
    leap seconds, other fraction lengths, bad digits) returns None and takes the
    general path, with its errors.
    """
    minute = _MINUTE_OF_DAY.get(text[11:16])
    second = _SECOND_OF_MINUTE.get(text[16:19])
    millis = _MILLIS_AND_ZONE.get(text[19:])
    if minute is None or second is None or millis is None:
        return None
    day_start = _day_start(text[:11])
    if day_start is None:
        return None
    return day_start + minute + second + millis


def _day_start(prefix: str) -> int | None:
    """Epoch ms of midnight UTC for "YYYY-MM-DDT", None when it is no valid date (cached)."""
    start = _day_starts.get(prefix)
    if start is None:
        try:
            start = _parse_any_rfc3339(prefix + "00:00:00Z")
        except ValueError:
            return None
        if len(_day_starts) >= DAY_CACHE_LIMIT:
            _day_starts.clear()
        _day_starts[prefix] = start
    return start


def _parse_any_rfc3339(text: str) -> int:
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
    """Epoch milliseconds → "2026-03-15T09:30:00Z" (".123Z" only when milliseconds are set).

    Alerts render several instants each, so every part is a lookup: the date from
    a per-day cache (strftime is slow, it consults the local zone on every call),
    the clock from tables of all its spellings.
    """
    day, millis_of_day = divmod(epoch_ms, DAY)
    prefix = _day_prefixes.get(day)
    if prefix is None:
        prefix = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
        if len(_day_prefixes) >= DAY_CACHE_LIMIT:
            _day_prefixes.clear()
        _day_prefixes[day] = prefix
    minute_of_day, millis_of_minute = divmod(millis_of_day, MINUTE)
    second, millis = divmod(millis_of_minute, SECOND)
    return f"{prefix}{_HOURS_MINUTES[minute_of_day]}{_SECONDS[second]}{_MILLIS_ZONE[millis]}"


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
    """The shortest exact spelling of a duration, for evidence and the catalog: 172800000 → "2d".

    Cached: evidence spells the same few thresholds and waits over and over.
    """
    words = _duration_words.get(millis)
    if words is None:
        words = _spell_duration(millis)
        if len(_duration_words) >= DURATION_CACHE_LIMIT:
            _duration_words.clear()
        _duration_words[millis] = words
    return words


def _spell_duration(millis: int) -> str:
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
