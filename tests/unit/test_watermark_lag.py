"""The alerts do not depend on how far the watermark lags (patterns.md, fine print "Time").

For input that arrives customer by customer in event-time order, whatever
happens to a customer between a deadline and the moment the watermark passes
it gives the alerts it gives when the watermark passes the deadline first. So a
replay at any lateness, an engine whose watermark is held back as behind a
repartitioning step, and any interleaving of customers that makes no event late
all give the same alerts. Erasure is the one rule that depends on arrival; these
histories have none.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.config import Config
from agents.engine import Engine
from schemas import codec
from schemas.alerts import render
from schemas.events import Touchpoint
from schemas.timestamps import DAY, MINUTE, parse_instant
from streams.traffic import lifecycle_history

from .dense_history import GAPS, dense_history

LATENESS = ("5m", "1d", "400d")
RUN_ON = 800 * DAY
"""How far past the last event every run's clock goes at the end, so every deadline gets its turn."""


ACTIONS: dict[str, Any] = {
    "calendar": {
        "timezone": "Europe/Berlin",
        "hours": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-04-03", "2026-12-25"],
    },
    "patterns": {
        "lead_not_followed_up": {"within": "16h", "clock": "business"},
        "complaint_unanswered": {"clock": "business"},
    },
    "segments": {
        "key_account": {
            "patterns": {
                "post_sale_abandonment": {"within": "3d"},
                "wrong_channel": {"enabled": False},
                "missing_appreciation": {"within": "30d"},
            }
        }
    },
    "holdout": {"share": 0.3, "salt": "lag"},
}
"""All five additions of shared/spec/actions.md in force, for histories that use them."""


def _config(lateness: str, base: dict[str, Any] | None = None) -> Config:
    return Config.from_mapping({**(base or {}), "engine": {"lateness": lateness}})


def _until(events: Sequence[Touchpoint]) -> int:
    return max(event.time for event in events) + RUN_ON


def replayed(
    events: Sequence[Touchpoint], lateness: str = "5m", config: dict[str, Any] | None = None
) -> list[bytes]:
    """What `sentinel replay` gives: the watermark follows the newest event, less the lateness."""
    engine = Engine(_config(lateness, config))
    alerts: list[bytes] = []
    for event in events:
        engine.process(event)
        alerts += map(render, engine.drain())
    engine.finish(_until(events))
    alerts += map(render, engine.drain())
    return sorted(alerts)


def held_back(events: Sequence[Touchpoint], watermark_after: Callable[[int, int, int], int]) -> list[bytes]:
    """The engine as the worker drives it: the caller moves the watermark, here after each event
    to `watermark_after(position, watermark, newest event time - lateness)`."""
    engine = Engine(Config.default(), follow_event_time=False)
    alerts: list[bytes] = []
    for position, event in enumerate(events):
        engine.process(event)
        engine.advance_to(
            watermark_after(position, engine.watermark, engine.latest_event_time - engine.lateness)
        )
        alerts += map(render, engine.drain())
    engine.finish(_until(events))
    alerts += map(render, engine.drain())
    return sorted(alerts)


def interleaved(events: Sequence[Touchpoint], delays: Sequence[int]) -> list[Touchpoint]:
    """The events as they may arrive: each delayed by its `delays` entry (at most the lateness),
    never overtaking an earlier event of the same customer. No event arrives late: whatever
    arrived before it is at most one lateness newer."""
    arrival: dict[str, int] = {}
    keyed = []
    for position, (event, delay) in enumerate(zip(events, delays, strict=True)):
        at = arrival[event.subject] = max(arrival.get(event.subject, 0), event.time + delay)
        keyed.append((at, position, event))
    keyed.sort(key=lambda row: (row[0], row[1]))
    return [event for _, _, event in keyed]


@st.composite
def histories(draw: st.DrawFn, actions: bool = False) -> list[Touchpoint]:
    customers = draw(st.integers(1, 4))
    per_customer = draw(st.integers(2, 40))

    def choose(items: Sequence[Any]) -> Any:
        return draw(st.sampled_from(items))

    return dense_history(choose, customers, per_customer, actions=actions)


HYPOTHESIS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(histories())
def test_replay_gives_the_same_alerts_at_every_lateness(events: list[Touchpoint]) -> None:
    expected = replayed(events)
    for lateness in LATENESS[1:]:
        assert replayed(events, lateness) == expected, f"lateness {lateness}"


@HYPOTHESIS
@given(histories(), st.data())
def test_a_watermark_held_back_arbitrarily_changes_no_alert(
    events: list[Touchpoint], data: st.DataObject
) -> None:
    lags = data.draw(
        st.lists(st.sampled_from((0, *GAPS, 400 * DAY)), min_size=len(events), max_size=len(events))
    )
    holds = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))

    def watermark_after(position: int, watermark: int, reachable: int) -> int:
        return watermark if holds[position] else reachable - lags[position]

    assert held_back(events, watermark_after) == replayed(events)


@HYPOTHESIS
@given(histories(), st.data())
def test_customers_interleaved_within_the_lateness_change_no_alert(
    events: list[Touchpoint], data: st.DataObject
) -> None:
    delays = data.draw(st.lists(st.integers(0, 5 * MINUTE), min_size=len(events), max_size=len(events)))
    assert replayed(interleaved(events, delays)) == replayed(events)


@HYPOTHESIS
@given(histories(actions=True))
def test_snoozes_segments_business_hours_and_holdouts_keep_the_alerts_independent_of_the_lag(
    events: list[Touchpoint],
) -> None:
    """actions.md: the lag invariance holds for commands that arrive in event-time order."""
    expected = replayed(events, config=ACTIONS)
    for lateness in LATENESS[1:]:
        assert replayed(events, lateness, ACTIONS) == expected, f"lateness {lateness}"


def _without_erased(alerts: list[bytes], events: Sequence[Touchpoint]) -> list[bytes]:
    erased = {event.subject for event in events if event.type == "customer.erased"}
    return [alert for alert in alerts if codec.loads(alert)["subject"] not in erased]


@pytest.mark.parametrize("lateness", LATENESS[1:])
def test_a_backfill_of_whole_lifecycles_replays_alike_at_any_lateness(lateness: str) -> None:
    """400 customers' lifecycles over 60 days: at 400 days' lateness, four alerts used to vanish."""
    events = lifecycle_history(400, seed=31, start=parse_instant("2024-01-01T00:00:00Z"), span_days=60)
    expected = _without_erased(replayed(events), events)
    assert len(expected) > 2000
    assert _without_erased(replayed(events, lateness), events) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_dense_histories_of_many_customers_replay_alike_at_any_lateness(seed: int) -> None:
    events = dense_history(random.Random(seed).choice, customers=150, events_per_customer=30)
    expected = replayed(events)
    assert len(expected) > 1000
    for lateness in LATENESS[1:]:
        assert replayed(events, lateness) == expected, f"lateness {lateness}"
