"""A failure on one event or deadline stays with it: the customer is rolled back, the rest goes on.

The worker never dies on a bug in one pattern (brief, "Bad input and failure"):
the engine rolls the customer back to before the failing step, reports the
failure (the worker dead-letters the event as `internal_error`) and carries on.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from agents.config import Config, EngineSettings
from agents.engine import Engine
from agents.patterns import PATTERN_TYPES, Pattern
from agents.replay import replay
from agents.state import CustomerState, Origin, Watch
from agents.step import Step
from schemas import codec
from schemas.alerts import render
from schemas.events import Touchpoint, encode_event
from schemas.timestamps import DAY, HOUR

from .dense_history import dense_history


class Boom(RuntimeError):
    """What the deliberately failing patterns raise."""


class FailsOnScoreFive(Pattern):
    """Reacts to feedback: scribbles over the shared state and its memo, then fails on a score of 5."""

    name = "fails_on_score_five"
    danger_point = None
    phases = "all"
    summary = recommendation = "-"
    reacts_to = ("feedback.received",)

    def on_event(self, step: Step, event: Touchpoint) -> None:
        step.state.order_total += 1_000_000
        self.remember(step.state, event.id)
        step.fire(self, self.name, event.time, "critical", {"score": event.data["score"]})
        if event.data["score"] == 5:
            raise Boom("score five")


class FailsAtItsDeadline(Pattern):
    """Arms a deadline a day after each inbound contact and fails when it is due."""

    name = "fails_at_its_deadline"
    danger_point = None
    phases = "all"
    summary = recommendation = "-"
    reacts_to = ("contact.made",)

    def on_event(self, step: Step, event: Touchpoint) -> None:
        if event.data["direction"] == "inbound":
            step.arm(self.name, event.time + DAY, event.time, event.id)

    def on_due(self, step: Step, key: str, watch: Watch) -> None:
        step.state.order_total = -1
        raise Boom("deadline")


def _config(*extra: Pattern) -> Config:
    return Config(EngineSettings(), (*(pattern() for pattern in PATTERN_TYPES), *extra))


def _run(events: list[Touchpoint], config: Config, *, flush_every: int = 0) -> tuple[Engine, list[bytes]]:
    engine = Engine(config)
    alerts: list[bytes] = []
    for position, event in enumerate(events, start=1):
        engine.process(event)
        alerts += map(render, engine.drain())
        if flush_every and position % flush_every == 0:
            engine.flush()
    engine.finish(events[-1].time + 400 * DAY)
    alerts += map(render, engine.drain())
    return engine, sorted(alerts)


def _states(engine: Engine) -> dict[str, CustomerState]:
    return {subject: state for subject, state in engine.customers()}


def _history(seed: int) -> list[Touchpoint]:
    return dense_history(random.Random(seed).choice, customers=6, events_per_customer=60)


@pytest.mark.parametrize("flush_every", [0, 1, 7])
@pytest.mark.parametrize("seed", [3, 4])
def test_a_failing_event_changes_nothing_as_if_it_had_not_come(seed: int, flush_every: int) -> None:
    events = _history(seed)
    score_five = [event for event in events if event.type == "feedback.received" and event.data["score"] == 5]
    assert score_five, "the history has no event to fail on"
    failing = _config(FailsOnScoreFive())
    engine, alerts = _run(events, failing, flush_every=flush_every)

    without, expected = _run([event for event in events if event not in score_five], failing)
    assert alerts == expected
    assert [failure.event for failure in engine.failures] == score_five
    assert all(isinstance(failure.error, Boom) for failure in engine.failures)
    assert engine.counts.failed == len(score_five)
    assert {s: st.recent_ids for s, st in _states(engine).items()} != {}
    for subject, state in _states(without).items():
        assert _states(engine)[subject].order_total == state.order_total
        assert _states(engine)[subject].memo == state.memo


def test_a_customer_is_rolled_back_past_a_checkpoint() -> None:
    """More events than the rollback log keeps, then a failure: the checkpoint plus the rest."""
    base = 1_767_225_600_000
    events = [
        Touchpoint(f"f{n}", "t", "feedback.received", "C-1", base + n * HOUR, {"score": 9}) for n in range(80)
    ]
    events.append(Touchpoint("bad", "t", "feedback.received", "C-1", base + 81 * HOUR, {"score": 5}))
    events.append(Touchpoint("after", "t", "feedback.received", "C-1", base + 82 * HOUR, {"score": 9}))
    failing = _config(FailsOnScoreFive())
    engine, alerts = _run(events, failing)
    without, expected = _run([event for event in events if event.id != "bad"], failing)
    assert alerts == expected
    assert _states(engine)["C-1"].order_total == _states(without)["C-1"].order_total == 81_000_000


def test_a_failing_deadline_is_dropped_and_the_customer_rolled_back() -> None:
    base = 1_767_225_600_000
    events = [
        Touchpoint("in", "t", "contact.made", "C-1", base, {"channel": "phone", "direction": "inbound"}),
        Touchpoint("o", "t", "order.placed", "C-1", base + HOUR, {"amount": 700}),
        Touchpoint("other", "t", "lead.created", "C-2", base + HOUR, {}),
        Touchpoint("later", "t", "order.placed", "C-1", base + 3 * DAY, {"amount": 5}),
    ]
    engine, alerts = _run(events, _config(FailsAtItsDeadline()))
    [failure] = engine.failures
    assert failure.subject == "C-1" and failure.event is None and isinstance(failure.error, Boom)
    assert "fails_at_its_deadline" in failure.detail
    state = _states(engine)["C-1"]
    assert state.order_total == 705
    assert "fails_at_its_deadline" not in (state.watches or {})
    _, expected = _run(events, _config())
    assert alerts == expected


def test_an_order_total_that_overflows_is_a_failure_of_that_order_only() -> None:
    base = 1_767_225_600_000
    events = [
        Touchpoint(f"o{n}", "t", "order.placed", "C-1", base + n * HOUR, {"amount": 1e308}) for n in range(3)
    ]
    events.append(Touchpoint("small", "t", "order.placed", "C-1", base + 5 * HOUR, {"amount": 1.0}))
    engine, _ = _run(events, _config())
    assert [failure.event.id for failure in engine.failures if failure.event] == ["o1", "o2"]
    assert isinstance(engine.failures[0].error, OverflowError)
    state = _states(engine)["C-1"]
    assert state.order_total == 1e308 + 1.0
    assert CustomerState.decode(state.encode()).order_total == state.order_total


def test_a_state_that_cannot_be_decoded_fails_each_event_and_stays_as_stored() -> None:
    unreadable = b"\x03not a state of this version"
    stored: dict[str, Any] = {"C-1": unreadable}
    engine = Engine(Config.default(), stored)
    base = 1_767_225_600_000
    engine.process(Touchpoint("a", "t", "feedback.received", "C-1", base, {"score": 2}))
    engine.process(Touchpoint("b", "t", "feedback.received", "C-2", base, {"score": 2}))
    engine.flush()
    assert [failure.event.id for failure in engine.failures if failure.event] == ["a"]
    assert stored["C-1"] == unreadable
    assert "C-2" in stored


def test_events_read_again_are_applied_once_however_many_there_are() -> None:
    """A poll forwarded twice, or a round redelivered after a crash: more of a customer's events than
    the 32 ids it remembers, read again from the same input partition."""
    base = 1_767_225_600_000
    events = [
        Touchpoint(f"e{n}", "t", "marketing.sent", "C-1", base + n * HOUR, {"channel": "email"})
        for n in range(40)
    ]
    engine = Engine(Config.default())
    for offset, event in enumerate(events):
        engine.process(event, Origin(2, offset))
    first = engine.drain()
    engine.flush()
    for offset, event in enumerate(events):
        engine.process(event, Origin(2, offset))
    assert first, "forty sends should have fired over_communication"
    assert engine.drain() == []
    assert engine.counts.redelivered == len(events)
    engine.process(
        Touchpoint("new", "t", "marketing.sent", "C-1", base + 41 * HOUR, {"channel": "x"}), Origin(2, 40)
    )
    assert engine.counts.redelivered == len(events)
    assert _states(engine)["C-1"].origin == (2, 40)


def test_an_erased_customers_events_read_again_do_not_bring_them_back() -> None:
    base = 1_767_225_600_000
    events = [
        Touchpoint("f", "t", "feedback.received", "C-1", base, {"score": 1}),
        Touchpoint("x", "t", "customer.erased", "C-1", base + HOUR, {}),
    ]
    engine = Engine(Config.default())
    for offset, event in enumerate(events):
        engine.process(event, Origin(0, offset))
    engine.drain()
    engine.process(events[0], Origin(0, 0))
    assert engine.drain() == []
    assert _states(engine) == {}


def test_replay_reports_a_failing_event_as_a_rejected_line_and_goes_on() -> None:
    base = 1_767_225_600_000
    lines = [
        encode_event(Touchpoint(f"o{n}", "t", "order.placed", "C-1", base + n * HOUR, {"amount": 1e308}))
        for n in range(2)
    ]
    lines.append(
        encode_event(Touchpoint("fb", "t", "feedback.received", "C-1", base + 3 * HOUR, {"score": 1}))
    )
    outcome = replay(lines)
    assert outcome.rejected == [
        (
            2,
            "internal_error",
            "order.placed failed (OverflowError: the customer's order total overflows after adding 1e+308)",
        )
    ]
    assert [codec.loads(alert)["data"]["pattern"] for alert in outcome.alerts] == ["detractor_feedback"]
