"""Same input, same alerts: across runs and across the states' round trip through their encoding;
and no input crashes the parser or the engine. (Independence of the watermark's lag has its own
module, test_watermark_lag.py.)
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.config import Config
from agents.engine import Engine
from agents.replay import replay
from schemas import codec
from schemas.alerts import render
from schemas.events import Touchpoint, encode_event
from schemas.timestamps import parse_instant
from streams.traffic import lifecycle_history

HISTORY = lifecycle_history(250, seed=3, start=parse_instant("2025-01-01T00:00:00Z"), span_days=90)
ERASED = {event.subject for event in HISTORY if event.type == "customer.erased"}


def _alerts_flushing_every(events: list[Touchpoint], flush_every: int) -> list[bytes]:
    """Drive the engine with its states encoded back to bytes every `flush_every` events."""
    engine = Engine(Config.default())
    alerts: list[bytes] = []
    for position, event in enumerate(events, start=1):
        engine.process(event)
        alerts.extend(render(alert) for alert in engine.drain())
        if position % flush_every == 0:
            engine.flush()
            assert not engine.active
    engine.finish()
    alerts.extend(render(alert) for alert in engine.drain())
    return alerts


@pytest.mark.parametrize("flush_every", [1, 13, 400])
def test_states_at_rest_are_exactly_the_states_in_memory(flush_every: int) -> None:
    """Every customer round-trips through its encoding without changing a single alert byte."""
    expected = replay([encode_event(event) for event in HISTORY]).alerts
    assert _alerts_flushing_every(HISTORY, flush_every) == expected


def test_replay_is_deterministic() -> None:
    lines = [encode_event(event) for event in HISTORY]
    first, second = replay(lines).alerts, replay(lines).alerts
    assert len(first) > 1000
    assert first == second


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_arbitrary_bytes_never_crash_a_replay(lines: list[bytes]) -> None:
    outcome = replay(line.replace(b"\n", b" ") for line in lines)
    assert outcome.alerts == []
    assert len(outcome.rejected) <= sum(1 for line in lines if line.strip())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
event_types = st.sampled_from(
    [
        "contact.made",
        "order.placed",
        "case.opened",
        "case.updated",
        "feedback.received",
        "rep.assigned",
        "marketing.sent",
        "invoice.issued",
        "preference.updated",
        "customer.erased",
        "no.such.type",
    ]
)


@st.composite
def almost_valid_events(draw: st.DrawFn) -> dict[str, object]:
    """Envelopes that are mostly right, with data drawn from anything JSON can hold."""
    event: dict[str, object] = {
        "specversion": "1.0",
        "id": draw(st.text(min_size=1, max_size=5)),
        "source": "fuzz",
        "type": draw(event_types),
        "subject": draw(st.sampled_from(["C-1", "C-2"])),
        "time": draw(
            st.sampled_from(["2026-03-01T09:00:00Z", "2026-03-03T10:00:00Z", "2026-13-01T00:00:00Z"])
        ),
        "data": draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "channel",
                        "direction",
                        "amount",
                        "case_id",
                        "kind",
                        "severity",
                        "score",
                        "rep",
                        "fees",
                        "preferred_channels",
                        "interests",
                        "topic",
                        "agreed_amount",
                    ]
                ),
                json_values,
                max_size=6,
            )
        ),
    }
    if draw(st.booleans()):
        del event[draw(st.sampled_from(sorted(event)))]
    return event


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(almost_valid_events(), max_size=15))
def test_arbitrary_json_never_crashes_parser_or_engine(events: list[dict[str, object]]) -> None:
    outcome = replay([codec.dumps(event) for event in events], until="2027-01-01T00:00:00Z")
    assert len(outcome.rejected) + outcome.duplicates <= len(events)
    for alert in outcome.alerts:
        assert codec.loads(alert)["source"] == "touchpoint-sentinel"


def test_engine_counts_customers_waiting_for_a_deadline_exactly() -> None:
    engine = Engine(Config.default())
    for event in HISTORY:
        engine.process(event)
        if event.subject == HISTORY[0].subject or len(engine) % 97 == 0:
            waiting = sum(1 for _, state in engine.customers() if state.next_due())
            assert engine.customers_waiting == waiting
    engine.finish()
    assert engine.customers_waiting == sum(1 for _, state in engine.customers() if state.next_due())
