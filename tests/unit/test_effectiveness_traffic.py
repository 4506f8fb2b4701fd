"""The report on generated histories finds an effect of outreach that is there, and none where there is none.

The generator's outreach option (streams.traffic.Outreach): a new customer
nobody calls within 14 days of the first order (post_sale_abandonment fires)
churns with probability 0.3; unless held out, a rep calls and the probability
becomes 0.3 * (1 + effect). 2,000 customers, a holdout of 20 %, seed 1: about
630 alerted and 155 held-out customers with a post_sale_abandonment alert.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import replace
from typing import Any

import pytest

from agents.config import Config
from agents.effectiveness import HELPS, HURTS, NO_EVIDENCE, PatternEffect, measure
from agents.holdout import Holdout
from schemas.events import Touchpoint, encode_event
from schemas.timestamps import DAY, parse_instant
from streams.traffic import NEGLECT, lifecycle_history

HOLDOUT = Holdout(0.2, "2026-q4")
START = parse_instant("2025-01-01T00:00:00Z")


def history(effect: float | None, customers: int = 2_000, seed: int = 1) -> list[Touchpoint]:
    return lifecycle_history(
        customers, seed=seed, start=START, span_days=180, outreach_effect=effect, holdout=HOLDOUT
    )


def post_sale(effect: float) -> PatternEffect:
    lines = [encode_event(event) for event in history(effect)]
    report = measure(lines, config=replace(Config.default(), holdout=HOLDOUT), horizon=90 * DAY)
    return next(row for row in report.patterns if row.pattern == "post_sale_abandonment")


@pytest.fixture(scope="module")
def outreach_halves_churn() -> PatternEffect:
    return post_sale(-0.5)


@pytest.fixture(scope="module")
def outreach_does_nothing() -> PatternEffect:
    return post_sale(0.0)


def test_an_effect_that_lowers_churn_is_found(outreach_halves_churn: PatternEffect) -> None:
    effect = outreach_halves_churn
    assert effect.interval is not None and effect.difference is not None
    assert effect.interval.high < 0
    assert effect.verdict == HELPS
    assert effect.alerted.customers > 500 and effect.held_out.customers > 100
    assert effect.alerted.rate is not None and effect.held_out.rate is not None
    assert effect.alerted.rate < effect.held_out.rate


def test_no_effect_gives_no_evidence(outreach_does_nothing: PatternEffect) -> None:
    effect = outreach_does_nothing
    assert effect.interval is not None
    assert effect.interval.low < 0 < effect.interval.high
    assert effect.verdict == NO_EVIDENCE
    assert effect.alerted.customers > 500 and effect.held_out.customers > 100


def test_the_held_out_group_is_the_same_whatever_the_effect(
    outreach_halves_churn: PatternEffect, outreach_does_nothing: PatternEffect
) -> None:
    """Nobody acts on held-out customers, so the effect of outreach cannot reach them."""
    assert outreach_halves_churn.held_out == outreach_does_nothing.held_out


def test_outreach_that_backfires_is_found() -> None:
    effect = post_sale(1.0)
    assert effect.interval is not None and effect.interval.low > 0
    assert effect.verdict == HURTS


def test_without_the_option_the_history_is_byte_for_byte_the_plain_one() -> None:
    """The digest of this history before the option existed; seeded tests elsewhere pin its alerts."""
    events = lifecycle_history(500, seed=11, start=START, span_days=120)
    digest = hashlib.sha256(b"".join(encode_event(event) + b"\n" for event in events))
    assert (len(events), digest.hexdigest()) == (
        7909,
        "2c1b4ba636908b8d0e3f32350ade3ec07cf120e4d647b1ef47989002da508320",
    )
    again = lifecycle_history(500, seed=11, start=START, span_days=120, outreach_effect=None, holdout=HOLDOUT)
    assert [encode_event(event) for event in again] == [encode_event(event) for event in events]


def by_customer(events: list[Touchpoint]) -> dict[str, list[tuple[int, str, dict[str, Any]]]]:
    customers: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    for event in events:
        customers[event.subject].append((event.time, event.type, event.data))
    return customers


def neglected_after_first_order(script: list[tuple[int, str, dict[str, Any]]]) -> int | None:
    """When the neglect shows (first order + 14 days) for a customer nobody contacted by then, else None."""
    orders = [at for at, kind, _ in script if kind == "order.placed"]
    if not orders:
        return None
    first = min(orders)
    contacted = any(
        kind == "contact.made" and data["direction"] == "outbound" and first <= at <= first + NEGLECT
        for at, kind, data in script
    )
    return None if contacted else first + NEGLECT


def test_outreach_touches_only_neglected_customers_and_calls_only_those_not_held_out() -> None:
    plain = by_customer(history(None, customers=600))
    with_outreach = by_customer(history(-0.5, customers=600))
    neglected = calls = churned = 0
    for subject, script in plain.items():
        noticed = neglected_after_first_order(script)
        changed = with_outreach[subject]
        if noticed is None:
            assert changed == script, subject
            continue
        neglected += 1
        added = [row for row in changed if row not in script]
        calls_made = [row[0] for row in added if row[1] == "contact.made"]
        if HOLDOUT.is_held_out(subject):
            assert calls_made == []
        else:
            assert len(calls_made) == 1 and noticed < calls_made[0] <= noticed + 2 * DAY
            calls += 1
        cancelled = [row[0] for row in added if row[1] == "contract.cancelled"]
        if cancelled:
            assert noticed + 3 * DAY <= cancelled[0] <= noticed + 30 * DAY
            assert [row for row in changed if row not in added] == [r for r in script if r[0] <= cancelled[0]]
            churned += 1
        else:
            assert [row for row in changed if row not in added] == script
    assert neglected > 150 and calls > 100 and churned > 20
