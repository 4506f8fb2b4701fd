"""Business-hours deadlines (shared/spec/actions.md, section 2), written from the spec's wording."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agents.calendar import WALL, BusinessCalendar
from schemas.errors import ConfigError
from schemas.timestamps import HOUR, format_instant

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {
    "timezone": "Europe/Berlin",
    "hours": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu")} | {"fri": "08:00-16:00"},
    "holidays": ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"],
}


def local(text: str) -> int:
    """Berlin wall time "2026-11-27 15:00" as epoch ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp() * 1000)


def berlin(instant: int) -> str:
    return datetime.fromtimestamp(instant / 1000, BERLIN).strftime("%a %Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    return BusinessCalendar.from_mapping(OFFICE)


def test_one_day_is_24_business_hours_across_a_weekend(office: BusinessCalendar) -> None:
    # Friday 15:00: 1 h on Friday, 10 h on Monday, 10 h on Tuesday, 3 h on Wednesday.
    assert berlin(office.after(local("2026-11-27 15:00"), 24 * HOUR)) == "Wed 2026-12-02 11:00"


def test_a_trigger_outside_business_hours_starts_counting_at_the_next_opening(
    office: BusinessCalendar,
) -> None:
    assert berlin(office.after(local("2026-11-28 11:00"), 2 * HOUR)) == "Mon 2026-11-30 10:00"
    assert berlin(office.after(local("2026-11-30 06:30"), 1 * HOUR)) == "Mon 2026-11-30 09:00"
    assert berlin(office.after(local("2026-11-30 19:00"), 1 * HOUR)) == "Tue 2026-12-01 09:00"


def test_a_deadline_ending_at_a_closing_instant_is_that_instant(office: BusinessCalendar) -> None:
    assert berlin(office.after(local("2026-11-30 08:00"), 10 * HOUR)) == "Mon 2026-11-30 18:00"
    assert berlin(office.after(local("2026-11-30 08:00"), 20 * HOUR)) == "Tue 2026-12-01 18:00"


def test_holidays_have_no_business_time(office: BusinessCalendar) -> None:
    # Wednesday 23 Dec 17:00: 1 h, then 24-26 Dec are holidays and 27 Dec a Sunday.
    assert berlin(office.after(local("2026-12-23 17:00"), 3 * HOUR)) == "Mon 2026-12-28 10:00"


def test_the_same_trigger_and_calendar_always_give_the_same_instant(office: BusinessCalendar) -> None:
    start = local("2026-11-27 15:00")
    assert office.after(start, 72 * HOUR) == BusinessCalendar.from_mapping(OFFICE).after(start, 72 * HOUR)


def test_spring_forward_a_day_has_an_hour_less_and_a_bound_in_the_gap_is_where_it_ends() -> None:
    # Berlin, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST.
    night = BusinessCalendar.from_mapping({"timezone": "Europe/Berlin", "hours": {"sun": "01:00-05:00"}})
    assert format_instant(night.after(local("2026-03-29 01:00"), 3 * HOUR)) == "2026-03-29T03:00:00Z"
    in_gap = BusinessCalendar.from_mapping({"timezone": "Europe/Berlin", "hours": {"sun": "02:30-04:00"}})
    opens = in_gap.after(local("2026-03-29 00:00"), 0)
    assert format_instant(opens) == "2026-03-29T01:00:00Z"  # 03:00 CEST, the end of the gap
    assert format_instant(in_gap.after(opens, HOUR)) == "2026-03-29T02:00:00Z"  # 04:00 CEST


def test_fall_back_a_day_has_an_hour_more_and_a_bound_in_the_overlap_is_its_first_occurrence() -> None:
    # Berlin, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET.
    night = BusinessCalendar.from_mapping({"timezone": "Europe/Berlin", "hours": {"sun": "01:00-05:00"}})
    start = night.after(int(datetime(2026, 10, 24, 22, tzinfo=ZoneInfo("UTC")).timestamp() * 1000), 0)
    assert format_instant(start) == "2026-10-24T23:00:00Z"  # 01:00 CEST
    assert format_instant(night.after(start, 5 * HOUR)) == "2026-10-25T04:00:00Z"  # 05:00 CET
    overlap = BusinessCalendar.from_mapping({"timezone": "Europe/Berlin", "hours": {"sun": "02:30-04:00"}})
    opens = overlap.after(int(datetime(2026, 10, 24, 22, tzinfo=ZoneInfo("UTC")).timestamp() * 1000), 0)
    assert format_instant(opens) == "2026-10-25T00:30:00Z"  # 02:30 CEST, the first 02:30


def test_24_00_closes_at_midnight_and_a_day_may_list_several_intervals() -> None:
    split = BusinessCalendar.from_mapping(
        {"timezone": "UTC", "hours": {"mon": "08:00-12:00,13:00-17:00", "tue": "20:00-24:00"}}
    )
    monday = int(datetime(2026, 11, 30, 8, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    assert format_instant(split.after(monday, 5 * HOUR)) == "2026-11-30T14:00:00Z"
    assert format_instant(split.after(monday, 12 * HOUR)) == "2026-12-02T00:00:00Z"


def test_the_wall_clock_counts_every_millisecond() -> None:
    assert WALL.after(1_000, 48 * HOUR) == 1_000 + 48 * HOUR


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"timezone": "Mars/Olympus", "hours": {"mon": "08:00-18:00"}},
            "calendar.timezone: unknown timezone",
        ),
        ({"hours": {"mon": "08:00-18:00"}}, "calendar.timezone must be"),
        ({"timezone": "UTC", "hours": {"mon": "8-18"}}, "calendar.hours.mon: '8-18' is not an interval"),
        ({"timezone": "UTC", "hours": {"mon": "18:00-08:00"}}, "calendar.hours.mon: '18:00-08:00' must lie"),
        ({"timezone": "UTC", "hours": {"mon": "08:00-24:30"}}, "calendar.hours.mon: '08:00-24:30' must lie"),
        (
            {"timezone": "UTC", "hours": {"mon": "08:00-12:00,11:00-13:00"}},
            "calendar.hours.mon: intervals overlap",
        ),
        ({"timezone": "UTC", "hours": {"monday": "08:00-12:00"}}, "calendar.hours: unknown day 'monday'"),
        ({"timezone": "UTC", "hours": {}}, "calendar.hours: the calendar has no business time at all"),
        (
            {"timezone": "UTC", "hours": {"mon": "08:00-12:00"}, "holidays": ["24.12.2026"]},
            "calendar.holidays: '24.12.2026' is not a date",
        ),
        ({"timezone": "UTC", "hours": {"mon": "08:00-12:00"}, "weekend": []}, "unknown key calendar.weekend"),
    ],
)
def test_a_wrong_calendar_is_a_config_error_naming_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        BusinessCalendar.from_mapping(table)
