"""Business hours for the response deadlines (shared/spec/actions.md, section 2).

A deadline "within 24 h" on the business clock is the instant at which the
business time elapsed since the trigger reaches 24 hours. Business time is the
calendar's weekly intervals, local to its timezone, less its holidays; a day
missing from the week and a holiday have none. Interval bounds are local wall
times: one that falls in a daylight-saving gap means the instant the gap ends,
one in an overlap its first occurrence. A deadline that ends exactly at a
closing instant is that instant.

The wall clock is the other clock a pattern can count on (`WALL`); both answer
`after(start, duration)`, and the deadline is fixed when it is armed, so a
watermark advance costs what it always did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_DAY_CACHE_LIMIT = 4096
_SEARCH_DAYS = 4 * 366
"""A deadline further than this from its trigger means a calendar with (almost) no business time."""


class Clock(Protocol):
    """What a pattern counts its deadlines on."""

    @property
    def name(self) -> str:
        """How the alert's evidence names it ("wall", "business")."""
        ...

    def after(self, start: int, duration: int) -> int:
        """The instant (epoch ms) `duration` of this clock's time after `start`."""
        ...


@dataclass(frozen=True, slots=True)
class WallClock:
    """Every millisecond counts."""

    name: str = "wall"

    def after(self, start: int, duration: int) -> int:
        return start + duration


WALL = WallClock()


@dataclass(eq=False)
class BusinessCalendar:
    """Weekly business intervals in a timezone, less holidays."""

    timezone: str
    week: tuple[tuple[tuple[int, int], ...], ...]
    """Per weekday (Monday first), the open intervals in minutes after local midnight, sorted."""
    holidays: frozenset[date]
    name: str = "business"
    _zone: tzinfo = field(init=False, repr=False)
    _days: dict[int, tuple[tuple[int, int], ...]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._zone = ZoneInfo(self.timezone)

    @classmethod
    def from_mapping(cls, table: Mapping[str, object], where: str = "calendar") -> BusinessCalendar:
        """From the `[calendar]` table; a ConfigError names the key that is wrong."""
        for key in table:
            if key not in ("timezone", "hours", "holidays"):
                raise ConfigError(f"{where}: unknown key {where}.{key} (known: timezone, hours, holidays)")
        timezone = table.get("timezone")
        if type(timezone) is not str:
            raise ConfigError(f'{where}.timezone must be an IANA timezone name like "Europe/Berlin"')
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}.timezone: unknown timezone {timezone!r}") from None
        hours = table.get("hours", {})
        if not isinstance(hours, Mapping):
            raise ConfigError(f'{where}.hours must be a table like {{ mon = "08:00-18:00" }}')
        week = tuple(_day_intervals(hours.get(day, ""), f"{where}.hours.{day}") for day in WEEKDAYS)
        for day in hours:
            if day not in WEEKDAYS:
                raise ConfigError(f"{where}.hours: unknown day {day!r} (known: {', '.join(WEEKDAYS)})")
        holidays = table.get("holidays", [])
        if not isinstance(holidays, list):
            raise ConfigError(f'{where}.holidays must be a list of dates like "2026-12-24"')
        calendar = cls(timezone, week, frozenset(_holidays(holidays, f"{where}.holidays")))
        if not any(week):
            raise ConfigError(f"{where}.hours: the calendar has no business time at all")
        return calendar

    def describe(self) -> dict[str, object]:
        """The calendar as the config file spells it."""
        hours = {
            day: ",".join(f"{_hhmm(opens)}-{_hhmm(closes)}" for opens, closes in intervals)
            for day, intervals in zip(WEEKDAYS, self.week, strict=True)
            if intervals
        }
        return {"timezone": self.timezone, "hours": hours, "holidays": sorted(map(str, self.holidays))}

    def after(self, start: int, duration: int) -> int:
        """The instant at which the business time elapsed since `start` reaches `duration`."""
        remaining = duration
        day = datetime.fromtimestamp(start / 1000, self._zone).date()
        for _ in range(_SEARCH_DAYS):
            for opens, closes in self._open(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError(f"no deadline within {_SEARCH_DAYS} days of {start}: the calendar is almost closed")

    def _open(self, day: date) -> tuple[tuple[int, int], ...]:
        """The day's open intervals as instants (epoch ms)."""
        ordinal = day.toordinal()
        found = self._days.get(ordinal)
        if found is None:
            if len(self._days) >= _DAY_CACHE_LIMIT:
                self._days.clear()
            intervals = () if day in self.holidays else self.week[day.weekday()]
            found = self._days[ordinal] = tuple(
                (self._instant(day, opens), self._instant(day, closes)) for opens, closes in intervals
            )
        return found

    def _instant(self, day: date, minutes: int) -> int:
        """Local wall time `minutes` after the day's midnight as an instant: a time in a gap is the
        instant the gap ends, a time in an overlap its first occurrence (fold=0)."""
        local = datetime(day.year, day.month, day.day, tzinfo=self._zone) + timedelta(minutes=minutes)
        local = local.replace(tzinfo=None)
        first = local.replace(tzinfo=self._zone, fold=0)
        instant = first.astimezone(UTC)
        if instant.astimezone(self._zone).replace(tzinfo=None) == local:
            return int(instant.timestamp() * 1000)
        return self._gap_end(first)

    def _gap_end(self, in_gap: datetime) -> int:
        """The instant a daylight-saving gap ends: the first with the offset that follows it, found
        between the two readings of a time in the gap (with the offset before it, and after it)."""
        low = int(in_gap.replace(fold=1).astimezone(UTC).timestamp() * 1000)
        high = int(in_gap.replace(fold=0).astimezone(UTC).timestamp() * 1000)
        after = in_gap.replace(fold=1).utcoffset()
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle / 1000, self._zone).utcoffset() == after:
                high = middle
            else:
                low = middle
        return high


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_intervals(text: object, where: str) -> tuple[tuple[int, int], ...]:
    if type(text) is not str:
        raise ConfigError(f'{where} must be a string like "08:00-12:00,13:00-17:00"')
    if not text.strip():
        return ()
    intervals = []
    for part in text.split(","):
        match = _INTERVAL.fullmatch(part.strip())
        if match is None:
            raise ConfigError(f'{where}: {part.strip()!r} is not an interval like "08:00-18:00"')
        start_hour, start_minute, end_hour, end_minute = map(int, match.groups())
        start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
        if start_minute > 59 or end_minute > 59 or end > 24 * 60 or start >= end:
            raise ConfigError(f"{where}: {part.strip()!r} must lie in 00:00-24:00, its start before its end")
        intervals.append((start, end))
    intervals.sort()
    for (_, earlier_end), (later_start, _) in pairwise(intervals):
        if later_start < earlier_end:
            raise ConfigError(f"{where}: intervals overlap")
    return tuple(intervals)


def _holidays(values: Iterable[object], where: str) -> Iterable[date]:
    for value in values:
        if type(value) is date:
            yield value
            continue
        if type(value) is not str:
            raise ConfigError(f'{where}: {value!r} is not a date like "2026-12-24"')
        try:
            yield date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f'{where}: {value!r} is not a date like "2026-12-24"') from None
