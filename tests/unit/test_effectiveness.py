"""actions.md §5, the effectiveness report: each rule of its wording, and the interval it rests on."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from agents.config import Config, load_config
from agents.effectiveness import (
    HELPS,
    HURTS,
    NO_EVIDENCE,
    Z_95,
    Interval,
    Tally,
    measure,
    newcombe_interval,
    render_table,
    verdict,
    wilson_interval,
)
from agents.holdout import NO_HOLDOUT, Holdout
from schemas import codec
from schemas.errors import ConfigError, SentinelError
from schemas.events import Touchpoint
from schemas.timestamps import DAY, format_instant, parse_instant

T0 = parse_instant("2026-01-01T00:00:00Z")
HOLDOUT = Holdout(0.5, "test")
HELD_OUT = [f"C-{n}" for n in range(400) if HOLDOUT.is_held_out(f"C-{n}")]
ALERTED = [f"C-{n}" for n in range(400) if not HOLDOUT.is_held_out(f"C-{n}")]


# --- The interval -----------------------------------------------------------------------------


def test_wilson_interval_matches_newcombe_1998_table_i() -> None:
    """Newcombe (1998), "Two-sided confidence intervals for the single proportion", 81/263."""
    interval = wilson_interval(81, 263)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)


def test_wilson_interval_at_zero_and_all_is_its_closed_form() -> None:
    z2 = Z_95**2
    assert wilson_interval(0, 20) == Interval(0.0, pytest.approx(z2 / (20 + z2)))
    assert wilson_interval(10, 10) == Interval(pytest.approx(10 / (10 + z2)), 1.0)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),  # difference 0.2000
        (9, 10, 3, 10, 0.1705, 0.8090),  # difference 0.6000
    ],
)
def test_newcombe_interval_matches_the_published_examples(
    x1: int, n1: int, x2: int, n2: int, low: float, high: float
) -> None:
    """Newcombe (1998), "Interval estimation for the difference between independent proportions:
    comparison of eleven methods", Statistics in Medicine 17:873-890, Table II, method 10."""
    interval = newcombe_interval(x1, n1, x2, n2)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_newcombe_interval_with_empty_cells_is_built_from_the_wilson_limits() -> None:
    """0/10 against 0/20: the difference is 0, the limits the two Wilson upper limits (closed form)."""
    z2 = Z_95**2
    interval = newcombe_interval(0, 10, 0, 20)
    assert interval.low == pytest.approx(-z2 / (20 + z2))
    assert interval.high == pytest.approx(z2 / (10 + z2))
    mirrored = newcombe_interval(0, 20, 0, 10)
    assert (mirrored.low, mirrored.high) == pytest.approx((-interval.high, -interval.low))


def test_newcombe_interval_is_the_square_and_add_of_the_two_wilson_intervals() -> None:
    for x1, n1, x2, n2 in [(3, 17, 11, 19), (40, 41, 2, 90), (0, 5, 5, 5), (123, 1000, 150, 1000)]:
        p1, p2 = x1 / n1, x2 / n2
        one, two = wilson_interval(x1, n1), wilson_interval(x2, n2)
        interval = newcombe_interval(x1, n1, x2, n2)
        assert interval.low == pytest.approx(p1 - p2 - math.sqrt((p1 - one.low) ** 2 + (two.high - p2) ** 2))
        assert interval.high == pytest.approx(p1 - p2 + math.sqrt((one.high - p1) ** 2 + (p2 - two.low) ** 2))
        assert -1 <= interval.low <= p1 - p2 <= interval.high <= 1


def test_a_verdict_only_when_the_interval_excludes_zero() -> None:
    assert verdict(Interval(-0.30, -0.01)) == HELPS
    assert verdict(Interval(0.01, 0.30)) == HURTS
    assert verdict(Interval(-0.10, 0.10)) == NO_EVIDENCE
    assert verdict(Interval(-0.20, 0.0)) == NO_EVIDENCE
    assert verdict(Interval(0.0, 0.20)) == NO_EVIDENCE
    assert verdict(None) == NO_EVIDENCE


# --- The counting rules, on hand-made events and alerts -----------------------------------------


def event(kind: str, subject: str, day: float) -> Touchpoint:
    return Touchpoint(f"e-{kind}-{subject}-{day}", "test", kind, subject, T0 + int(day * DAY), {})


def fired(subject: str, pattern: str, day: float, **data: Any) -> dict[str, Any]:
    return {
        "id": f"a-{subject}-{pattern}-{day}",
        "type": "alert.fired",
        "subject": subject,
        "time": format_instant(T0 + int(day * DAY)),
        "data": {"pattern": pattern, **data},
    }


def tally(*patterns: str, horizon_days: int = 30, end_day: float = 400, holdout: Holdout = HOLDOUT) -> Tally:
    counts = Tally(patterns or ("lead_not_followed_up",), holdout, horizon_days * DAY)
    counts.event(event("contact.made", "C-end", end_day))
    return counts


def test_each_customer_counts_once_from_their_first_alert_of_the_pattern() -> None:
    counts = tally("lead_not_followed_up", "wrong_channel")
    subject = ALERTED[0]
    counts.alert(fired(subject, "lead_not_followed_up", 0))
    counts.alert(fired(subject, "lead_not_followed_up", 40))
    counts.alert(fired(subject, "wrong_channel", 40))
    counts.event(event("contract.cancelled", subject, 45))
    lead, channel = counts.report().patterns
    assert (lead.alerted.customers, lead.alerted.lost) == (1, 0)
    assert (channel.alerted.customers, channel.alerted.lost) == (1, 1)


def test_the_outcome_is_a_cancellation_or_lost_deal_after_the_alert_up_to_the_horizon() -> None:
    """The first alert is at day 10, the horizon 30 days: a loss in (day 10, day 40] counts."""
    losses = {
        "at the alert": ("contract.cancelled", 10, False),
        "a moment after": ("contract.cancelled", 10.001, True),
        "at the horizon": ("deal.lost", 40, True),
        "past the horizon": ("deal.lost", 40.001, False),
        "before the alert": ("contract.cancelled", 9, False),
        "not a loss": ("feedback.received", 20, False),
    }
    together = tally(horizon_days=30)
    for (case, (kind, day, counted)), subject in zip(losses.items(), ALERTED, strict=False):
        alone = tally(horizon_days=30)
        for counts in (together, alone):
            counts.alert(fired(subject, "lead_not_followed_up", 10))
            counts.event(event(kind, subject, day))
        assert alone.report().patterns[0].alerted.lost == int(counted), case
    (effect,) = together.report().patterns
    assert (effect.alerted.customers, effect.alerted.lost) == (6, 2)


def test_a_customer_whose_horizon_runs_past_the_end_of_the_history_is_left_out() -> None:
    counts = tally(horizon_days=30, end_day=100)
    counts.alert(fired(ALERTED[0], "lead_not_followed_up", 70))  # horizon ends at the last event: kept
    counts.alert(fired(ALERTED[1], "lead_not_followed_up", 70.001))
    counts.alert(fired(HELD_OUT[0], "lead_not_followed_up", 90))
    (effect,) = counts.report().patterns
    assert (effect.alerted.customers, effect.held_out.customers, effect.left_out) == (1, 0, 2)
    assert counts.report().end == format_instant(T0 + 100 * DAY)


def test_held_out_customers_form_the_second_group_and_the_difference_is_alerted_minus_held_out() -> None:
    """56 of 70 alerted and 48 of 80 held-out customers lost: Newcombe's first example."""
    counts = tally()
    for number, subject in enumerate(ALERTED[:70]):
        counts.alert(fired(subject, "lead_not_followed_up", 1))
        if number < 56:
            counts.event(event("contract.cancelled", subject, 5))
    for number, subject in enumerate(HELD_OUT[:80]):
        counts.alert(fired(subject, "lead_not_followed_up", 1))
        if number < 48:
            counts.event(event("deal.lost", subject, 5))
    (effect,) = counts.report().patterns
    assert (effect.alerted.customers, effect.alerted.lost, effect.alerted.rate) == (70, 56, 0.8)
    assert (effect.held_out.customers, effect.held_out.lost, effect.held_out.rate) == (80, 48, 0.6)
    assert effect.difference == pytest.approx(0.2)
    assert effect.interval is not None
    assert (round(effect.interval.low, 4), round(effect.interval.high, 4)) == (0.0524, 0.3339)
    assert effect.alerted.interval == wilson_interval(56, 70)
    assert effect.held_out.interval == wilson_interval(48, 80)
    assert effect.verdict == HURTS


def test_fewer_losses_among_alerted_customers_is_helps() -> None:
    counts = tally()
    for number, subject in enumerate(ALERTED[:60]):
        counts.alert(fired(subject, "lead_not_followed_up", 1))
        if number < 6:
            counts.event(event("contract.cancelled", subject, 5))
    for number, subject in enumerate(HELD_OUT[:60]):
        counts.alert(fired(subject, "lead_not_followed_up", 1))
        if number < 24:
            counts.event(event("contract.cancelled", subject, 5))
    (effect,) = counts.report().patterns
    assert effect.difference == pytest.approx(0.1 - 0.4)
    assert effect.interval is not None and effect.interval.high < 0
    assert effect.verdict == HELPS


def test_a_pattern_without_customers_in_a_group_has_its_counts_and_no_interval() -> None:
    counts = tally("lead_not_followed_up", "wrong_channel")
    counts.alert(fired(ALERTED[0], "lead_not_followed_up", 1))
    counts.event(event("contract.cancelled", ALERTED[0], 2))
    lead, channel = counts.report().patterns
    assert (lead.alerted.customers, lead.alerted.lost, lead.alerted.rate) == (1, 1, 1.0)
    assert (lead.held_out.customers, lead.held_out.rate, lead.held_out.interval) == (0, None, None)
    assert (lead.difference, lead.interval, lead.verdict) == (None, None, NO_EVIDENCE)
    assert (channel.alerted.customers, channel.held_out.customers, channel.verdict) == (0, 0, NO_EVIDENCE)


def test_resolutions_do_not_count() -> None:
    counts = tally()
    counts.alert({**fired(ALERTED[0], "lead_not_followed_up", 1), "type": "alert.resolved"})
    assert counts.report().patterns[0].alerted.customers == 0


def test_erased_customers_are_left_out() -> None:
    counts = tally()
    counts.alert(fired(ALERTED[0], "lead_not_followed_up", 1))
    counts.alert(fired(ALERTED[1], "lead_not_followed_up", 1))
    counts.event(event("customer.erased", ALERTED[1], 3))
    report = counts.report()
    assert (report.erased, report.patterns[0].alerted.customers) == (1, 1)


def test_an_alert_whose_holdout_flag_disagrees_with_the_config_stops_the_report() -> None:
    counts = tally()
    counts.alert(fired(ALERTED[0], "lead_not_followed_up", 1, holdout=False))
    counts.alert(fired(HELD_OUT[0], "lead_not_followed_up", 1, holdout=True))
    with pytest.raises(SentinelError, match=f"{HELD_OUT[1]} says holdout=false.*has them held out"):
        counts.alert(fired(HELD_OUT[1], "lead_not_followed_up", 1, holdout=False))
    with pytest.raises(SentinelError, match=f"{ALERTED[1]} says holdout=true.*has them not held out"):
        counts.alert(fired(ALERTED[1], "lead_not_followed_up", 1, holdout=True))


def test_without_a_holdout_nobody_is_compared() -> None:
    counts = tally(holdout=NO_HOLDOUT)
    for subject in [*ALERTED[:5], *HELD_OUT[:5]]:
        counts.alert(fired(subject, "lead_not_followed_up", 1))
    (effect,) = counts.report().patterns
    assert (effect.alerted.customers, effect.held_out.customers, effect.verdict) == (10, 0, NO_EVIDENCE)
    assert "Nobody is held out" in render_table(counts.report())


# --- Through the engine ----------------------------------------------------------------------------


def touchpoint_line(number: int, kind: str, subject: str, day: float, **data: Any) -> bytes:
    return codec.dumps(
        {
            "specversion": "1.0",
            "id": f"e{number}",
            "source": "crm",
            "type": kind,
            "subject": subject,
            "time": format_instant(T0 + int(day * DAY)),
            "data": data,
        }
    )


def test_measure_replays_the_history_and_reports_every_enabled_pattern() -> None:
    """Leads nobody calls back fire lead_not_followed_up after 2 days; some are lost 10 days later."""
    lines = []
    for number, subject in enumerate([*ALERTED[:4], *HELD_OUT[:4]]):
        lines.append(touchpoint_line(2 * number, "lead.created", subject, 0, owner="R-1"))
        if number in (0, 4, 5, 6):
            lines.append(touchpoint_line(2 * number + 1, "deal.lost", subject, 12, reason="price"))
    lines.append(touchpoint_line(99, "lead.created", "C-late", 60, owner="R-1"))
    lines.append(b"{not json")
    rejected: list[int] = []
    report = measure(
        lines,
        config=replace(Config.default(), holdout=HOLDOUT),
        horizon=30 * DAY,
        reject=lambda number, bad: rejected.append(number),
    )
    assert rejected == [len(lines)]
    assert [effect.pattern for effect in report.patterns] == [p.name for p in Config.default().patterns]
    lead = report.patterns[0]
    assert lead.pattern == "lead_not_followed_up"
    assert (lead.alerted.customers, lead.alerted.lost) == (4, 1)
    assert (lead.held_out.customers, lead.held_out.lost) == (4, 3)
    assert lead.difference == pytest.approx(0.25 - 0.75)
    assert lead.verdict == NO_EVIDENCE  # 4 against 4 customers: the interval is wide
    assert report.end == "2026-03-02T00:00:00Z"
    assert report.horizon == "30d"


def test_thresholds_file_gives_the_config_and_the_holdout(tmp_path: Any) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_text(
        '[holdout]\nshare = 0.10\nsalt = "2026-q4"\n\n[patterns.lead_not_followed_up]\nenabled = false\n'
    )
    config = load_config(path)
    assert config.holdout == Holdout(0.1, "2026-q4")
    assert "lead_not_followed_up" not in [pattern.name for pattern in config.patterns]
    path.write_text('[holdout]\nshare = 0.6\nsalt = "x"\n')
    with pytest.raises(ConfigError, match=r"thresholds\.toml: holdout\.share must be a number from 0"):
        load_config(path)
    path.write_text("[holdout]\nshare = 0.1\n[patterns.nope]\n")
    with pytest.raises(ConfigError, match=r"unknown key patterns\.nope"):
        load_config(path)
