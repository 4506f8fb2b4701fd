"""The customer view says what the engine knows: its open episodes are the alerts still unresolved."""

from __future__ import annotations

from collections import defaultdict

import pytest

from agents.config import Config
from agents.customer_view import customer_view
from agents.engine import Engine
from schemas import codec
from schemas.alerts import render
from schemas.timestamps import parse_instant
from streams.metrics import AlertLabels
from streams.traffic import lifecycle_history

HISTORY = lifecycle_history(300, seed=21, start=parse_instant("2025-06-01T00:00:00Z"), span_days=90)


@pytest.fixture(scope="module")
def run() -> tuple[Engine, list[dict[str, object]]]:
    engine = Engine(Config.default())
    alerts = []
    for event in HISTORY:
        engine.process(event)
        alerts += [codec.loads(render(alert)) for alert in engine.drain()]
    return engine, alerts


def test_open_episodes_are_the_alerts_fired_and_not_yet_resolved(run: tuple[Engine, list[dict]]) -> None:
    engine, alerts = run
    open_by_customer: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        ids = open_by_customer[alert["subject"]]
        if alert["type"] == "alert.resolved":
            ids.discard(alert["data"]["alert_id"])
        elif alert["data"]["alert_id"] not in ids and not _notice(alert):
            ids.add(alert["data"]["alert_id"])
    assert sum(len(ids) for ids in open_by_customer.values()) > 50
    for subject, state in engine.customers():
        view = customer_view(subject, state, at=engine.watermark, config=engine.config)
        open_ids = {episode["alert_id"] for episode in view["open_episodes"]}
        assert open_ids == open_by_customer[subject], subject


EPISODES = {pattern for pattern, _ in AlertLabels.published().resolved}
"""Patterns whose alerts open episodes; the others fire notices, which never resolve."""


def _notice(alert: dict) -> bool:
    return alert["data"]["pattern"] not in EPISODES


def test_the_view_names_phase_deadlines_cases_and_what_patterns_know(run: tuple[Engine, list[dict]]) -> None:
    engine, _ = run
    views = [
        customer_view(subject, state, at=engine.watermark, config=engine.config)
        for subject, state in engine.customers()
    ]
    with_deadline = next(view for view in views if view["pending_deadlines"])
    deadline = with_deadline["pending_deadlines"][0]
    assert set(deadline) >= {"pattern", "due", "since"}
    assert parse_instant(deadline["due"]) > engine.watermark
    dues = [parse_instant(d["due"]) for d in with_deadline["pending_deadlines"]]
    assert dues == sorted(dues)
    assert {view["phase"] for view in views} == {"established", "lost", "churned"}  # as of the end
    assert any(view["open_cases"] for view in views)
    assert any("over_communication" in view["facts"] for view in views)
    assert all(codec.loads(codec.dumps(view)) == view for view in views)
