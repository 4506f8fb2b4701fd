"""The words for time that alerts carry: instants and durations spelled exactly and read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from schemas.timestamps import DAY, format_duration, format_instant, parse_duration, parse_instant

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INSTANTS = st.integers(min_value=0, max_value=253_402_300_799_999)  # through 9999-12-31
DURATIONS = st.integers(min_value=0, max_value=10_000 * DAY)


@given(INSTANTS)
def test_an_instant_is_spelled_as_rfc3339_utc_with_milliseconds_only_when_set(epoch_ms: int) -> None:
    moment = EPOCH + timedelta(milliseconds=epoch_ms)
    millis = f".{epoch_ms % 1000:03d}" if epoch_ms % 1000 else ""
    assert format_instant(epoch_ms) == moment.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"


@given(INSTANTS)
def test_a_spelled_instant_reads_back_to_itself(epoch_ms: int) -> None:
    assert parse_instant(format_instant(epoch_ms)) == epoch_ms


@given(DURATIONS)
def test_a_spelled_duration_reads_back_to_itself(millis: int) -> None:
    assert parse_duration(format_duration(millis)) == millis


def test_durations_take_their_shortest_spelling_and_repeat_it() -> None:
    assert [format_duration(value) for value in (0, 2 * DAY, DAY + 12 * 3_600_000, 250)] == [
        "0s",
        "2d",
        "1d12h",
        "250ms",
    ]
    assert format_duration(2 * DAY) == "2d"
