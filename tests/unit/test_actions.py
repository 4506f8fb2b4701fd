"""What teams do with alerts (shared/spec/actions.md), each rule from the spec's wording.

Snooze, business-hours deadlines, segments, transactional sends and holdouts.
With none of them configured or sent, every alert is what patterns.md gives,
plus `segment` (null) and `holdout` (false).
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

import pytest

from agents.config import Config
from agents.engine import Engine
from agents.holdout import Holdout
from agents.replay import replay
from schemas import codec
from schemas.errors import ConfigError
from schemas.events import decode_message
from tests.unit.history import History, check, episode, fired, resolved, run

BUSINESS = {
    "calendar": {
        "timezone": "Europe/Berlin",
        "hours": {day: "08:00-18:00" for day in ("mon", "tue", "wed", "thu")} | {"fri": "08:00-16:00"},
        "holidays": ["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"],
    }
}


# --- with nothing configured -----------------------------------------------------------------


def test_every_alert_carries_segment_null_and_holdout_false() -> None:
    h = History()
    h.lead()
    h.at("+3d").contact(direction="outbound")
    f, res = episode(run(h), "lead_not_followed_up")
    for alert in (f, res):
        check(alert, segment=None, holdout=False)
        assert list(alert["data"])[-2:] == ["segment", "holdout"]


# --- 1. snooze ---------------------------------------------------------------------------------


def test_a_snoozed_episode_does_not_open_and_its_trigger_is_settled() -> None:
    h = History()
    h.lead()
    h.at("+1h").snoozed("lead_not_followed_up", until="+3d")
    later = h.at("+5d").lead()
    r = run(h, until="+10d")
    [alert] = fired(r, "lead_not_followed_up")
    check(alert, time=h.t("+7d"), trigger=later)
    assert resolved(r, "lead_not_followed_up") == []


def test_no_resolution_is_emitted_for_an_episode_that_was_not_fired() -> None:
    h = History()
    h.lead()
    h.snoozed("*", until="+3d")
    h.at("+2d1h").contact(direction="outbound")
    r = run(h, until="+10d")
    assert fired(r, "lead_not_followed_up") == resolved(r, "lead_not_followed_up") == []


def test_an_episode_open_when_a_snooze_starts_stays_open_and_resolves_as_usual() -> None:
    h = History()
    h.feedback(2)
    h.at("+1d").snoozed("detractor_feedback", until="+30d")
    h.at("+2d").feedback(9)
    fired_alert, res = episode(run(h, until="+40d"), "detractor_feedback")
    check(fired_alert, time=h.t("+0s"))
    check(res, time=h.t("+2d"), resolution="feedback_improved")


def test_a_held_notice_counts_as_emitted_for_the_patterns_limits() -> None:
    # wrong_channel: at most one notice per channel per 7 days, held ones included.
    h = History()
    h.preference(opted_out=["sms"])
    h.snoozed("wrong_channel", until="+1d")
    h.at("+1h").marketing(channel="sms")
    h.at("+3d").marketing(channel="sms")
    h.at("+8d").marketing(channel="sms")
    [notice] = fired(run(h, until="+10d"), "wrong_channel")
    check(notice, time=h.t("+8d"))


def test_a_held_restartable_clock_re_arms_from_when_it_would_have_fired() -> None:
    h = History()
    h.order(amount=500)
    h.at("+89d").snoozed("missing_appreciation", until="+91d")
    r = run(h, until="+200d")
    [alert] = fired(r, "missing_appreciation")
    check(alert, time=h.t("+180d"))


def test_a_snooze_that_starts_is_replaced_and_is_ended_early() -> None:
    h = History()
    h.snoozed("detractor_feedback", until="+10d")
    h.at("+1d").feedback(2)  # held by the first snooze
    h.at("+2d").snoozed("detractor_feedback", until="+4d")  # replaces it from +2d on
    h.at("+3d").feedback(1)  # held by the second
    h.at("+5d").feedback(2)  # the first would have held it: it was replaced
    h.at("+6d").feedback(9)
    h.at("+7d").snoozed("detractor_feedback", until="+20d")
    h.at("+8d").unsnoozed("detractor_feedback")  # ended early
    h.at("+9d").feedback(3)
    r = run(h, until="+30d")
    assert [a["time"] for a in fired(r, "detractor_feedback")] == [h.t("+5d"), h.t("+9d")]


def test_an_until_equal_to_the_event_time_holds_nothing_and_star_ends_only_star() -> None:
    h = History()
    h.snoozed("detractor_feedback", until="+0s")
    h.feedback(2)
    h.at("+1d").snoozed("*", until="+10d")
    h.at("+1d").snoozed("detractor_feedback", until="+10d")
    h.at("+2d").unsnoozed("*")
    h.at("+3d").feedback(9)
    h.at("+4d").feedback(2)  # still held by the pattern's own key
    h.at("+11d").feedback(9)
    h.at("+12d").feedback(2)
    r = run(h, until="+20d")
    assert [a["time"] for a in fired(r, "detractor_feedback")] == [h.t("+0s"), h.t("+12d")]


def test_erasure_forgets_the_snoozes() -> None:
    h = History()
    h.snoozed("*", until="+100d")
    h.at("+1d").erased()
    h.at("+2d").feedback(2)
    assert len(fired(run(h, until="+3d"), "detractor_feedback")) == 1


def test_the_engine_counts_the_alerts_a_snooze_held_back_by_pattern() -> None:
    h = History()
    h.snoozed("*", until="+30d")
    h.feedback(2)
    h.at("+1d").preference(opted_out=["sms"])
    h.at("+1d").marketing(channel="sms")
    engine = Engine(Config.default())
    for line in h.lines:
        for event in decode_message(line)[0]:
            engine.process(event)
    assert sorted(engine.drain_held()) == ["detractor_feedback", "wrong_channel"]
    assert engine.drain() == []


# --- 2. business hours ------------------------------------------------------------------------


def _business(pattern: str, within: str) -> dict[str, Any]:
    return {**BUSINESS, "patterns": {pattern: {"within": within, "clock": "business"}}}


def test_a_complaint_deadline_counts_business_hours_across_a_weekend_and_a_holiday() -> None:
    # Wednesday 23 Dec 2026 17:00 Berlin (16:00Z): 1 business hour, then 24-26 Dec are holidays,
    # 27 Dec a Sunday; 23 more from Monday 28 Dec 08:00: Monday 10, Tuesday 10, Wednesday 3.
    h = History(start="2026-12-23T16:00:00Z")
    h.case_opened("K-1", kind="complaint")
    [alert] = fired(
        run(h, until="+20d", config=_business("complaint_unanswered", "24h")), "complaint_unanswered"
    )
    check(alert, time="2026-12-30T10:00:00Z")  # 11:00 Berlin
    assert alert["data"]["evidence"]["clock"] == "business"
    assert alert["data"]["evidence"]["deadline"] == "2026-12-30T10:00:00Z"


def test_business_lead_deadlines_are_exact_across_both_daylight_saving_changes() -> None:
    spring = History(start="2026-03-27T15:00:00Z")  # Friday 16:00 CET, after closing
    spring.lead()
    config = _business("lead_not_followed_up", "2h")
    [alert] = fired(run(spring, until="+10d", config=config), "lead_not_followed_up")
    check(alert, time="2026-03-30T08:00:00Z")  # Monday 10:00 CEST
    autumn = History(start="2026-10-23T13:00:00Z")  # Friday 15:00 CEST
    autumn.lead()
    [alert] = fired(run(autumn, until="+10d", config=config), "lead_not_followed_up")
    check(alert, time="2026-10-26T08:00:00Z")  # 1 h on Friday, 1 h on Monday: 09:00 CET


def test_an_answer_within_the_business_deadline_clears_it() -> None:
    h = History(start="2026-11-27T15:00:00Z")  # Friday 16:00 Berlin: closed
    h.lead()
    h.at("+2d18h").contact(direction="outbound")  # Monday 10:00, within 2 business hours of 08:00
    assert (
        fired(run(h, until="+10d", config=_business("lead_not_followed_up", "2h")), "lead_not_followed_up")
        == []
    )


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {**BUSINESS, "patterns": {"wrong_channel": {"clock": "business"}}},
            "unknown key patterns.wrong_channel.clock",
        ),
        ({"patterns": {"lead_not_followed_up": {"clock": "business"}}}, r"needs a \[calendar\] table"),
        ({**BUSINESS, "patterns": {"lead_not_followed_up": {"clock": "office"}}}, "clock must be"),
        ({"calendar": {"timezone": "Europe/Nowhere", "hours": {"mon": "08:00-18:00"}}}, "calendar.timezone"),
        ({"calendar": {"timezone": "UTC", "hours": {}}}, "calendar.hours: the calendar has no business time"),
    ],
)
def test_calendar_mistakes_are_config_errors_naming_the_key(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_mapping(mapping)


# --- 3. segments ------------------------------------------------------------------------------

KEY_ACCOUNTS = {
    "segments": {
        "key_account": {
            "patterns": {
                "post_sale_abandonment": {"within": "7d"},
                "wrong_channel": {"enabled": False},
            }
        }
    }
}


def test_the_thresholds_of_the_segment_at_the_trigger_apply_and_alerts_name_it() -> None:
    h = History()
    h.segmented("key_account")
    h.order()
    [alert] = fired(run(h, until="+30d", config=KEY_ACCOUNTS), "post_sale_abandonment")
    check(alert, time=h.t("+7d"), segment="key_account")


def test_a_deadline_keeps_the_thresholds_it_was_armed_with_and_its_resolution_repeats_the_segment() -> None:
    h = History()
    h.segmented("key_account")
    h.order()
    h.at("+1d").segmented(None)
    h.at("+9d").contact(direction="outbound")
    f, res = episode(run(h, until="+30d", config=KEY_ACCOUNTS), "post_sale_abandonment")
    check(f, time=h.t("+7d"), segment="key_account")
    check(res, time=h.t("+9d"), segment="key_account")
    other = History()
    other.order()
    other.at("+1d").segmented("key_account")  # the segment changes after the trigger: 14 days hold
    [alert] = fired(run(other, until="+30d", config=KEY_ACCOUNTS), "post_sale_abandonment")
    check(alert, time=other.t("+14d"), segment=None)


def test_a_segment_may_switch_a_pattern_off() -> None:
    h = History()
    h.preference(opted_out=["sms"])
    h.segmented("key_account")
    h.at("+1h").marketing(channel="sms")
    h.at("+8d").segmented(None)
    h.at("+9d").marketing(channel="sms")
    [notice] = fired(run(h, until="+10d", config=KEY_ACCOUNTS), "wrong_channel")
    check(notice, time=h.t("+9d"), segment=None)


def test_a_segment_the_config_does_not_name_uses_the_pattern_tables() -> None:
    h = History()
    h.segmented("smb")
    h.order()
    [alert] = fired(run(h, until="+30d", config=KEY_ACCOUNTS), "post_sale_abandonment")
    check(alert, time=h.t("+14d"), segment="smb")


def test_a_segment_command_changes_no_shared_fact() -> None:
    h = History()
    h.lead()
    h.at("+1d").segmented("key_account")
    [alert] = fired(run(h, until="+3d", config=KEY_ACCOUNTS), "lead_not_followed_up")
    check(alert, time=h.t("+48h"), phase="prospect")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"segments": {"key account": {"patterns": {}}}}, "segments.key account: a segment name is"),
        (
            {"segments": {"ka": {"patterns": {"no_such_pattern": {}}}}},
            "unknown key segments.ka.patterns.no_such",
        ),
        (
            {"segments": {"ka": {"patterns": {"wrong_channel": {"quiet": "7d"}}}}},
            "segments.ka.patterns.wrong_channel.quiet",
        ),
        ({"segments": {"ka": {"thresholds": {}}}}, "unknown key segments.ka.thresholds"),
    ],
)
def test_segment_mistakes_are_config_errors_naming_the_key(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_mapping(mapping)


# --- 4. transactional sends -------------------------------------------------------------------


def test_a_transactional_send_at_the_cap_counts_for_no_communication_pattern() -> None:
    h = History()
    h.preference(preferred=["email"], opted_out=["sms"], interests=["solar"])
    h.order()
    for hour in range(5):
        h.at(f"+{hour + 1}h").marketing(channel="email", topic="solar", kind="newsletter")
    h.at("+6h").marketing(channel="sms", topic="pricing", kind="transactional")
    h.at("+7h").marketing(channel="letter", topic="pricing", kind="transactional")
    r = run(h, until="+1d")
    assert fired(r, "over_communication") == fired(r, "wrong_channel") == []
    assert len(fired(r, "new_customer_flooding")) == 1  # at the 4th newsletter
    assert len(fired(r, "irrelevant_content")) == 1  # the 3rd unengaged newsletter, not the sends after
    h.at("+8h").marketing(channel="email", topic="solar", kind="newsletter")
    assert len(fired(run(h, until="+1d"), "over_communication")) == 1


def test_a_transactional_send_does_not_break_a_run() -> None:
    h = History()
    h.marketing(kind="newsletter")
    h.at("+1h").marketing(kind="transactional")
    h.at("+2h").marketing(kind="newsletter")
    h.at("+3h").marketing(kind="transactional")
    h.at("+4h").marketing(kind="newsletter")
    [alert] = fired(run(h, until="+1d"), "irrelevant_content")
    check(alert, time=h.t("+4h"))


# --- 5. holdouts ------------------------------------------------------------------------------


def _held_out_by_hand(subject: str, share: float, salt: str) -> bool:
    digest = blake2b(f"{salt}\x1f{subject}".encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def test_alerts_of_held_out_customers_are_published_marked_holdout() -> None:
    holdout = {"holdout": {"share": 0.5, "salt": "2026-q4"}}
    h = History(subject="C-0")
    for number in range(40):
        h.customer(f"C-{number}").feedback(2)
    r = replay(h.lines, config=Config.from_mapping(holdout))
    alerts = [codec.loads(alert) for alert in r.alerts]
    assert len(alerts) == 40
    for alert in alerts:
        assert alert["data"]["holdout"] is _held_out_by_hand(alert["subject"], 0.5, "2026-q4")
    assert 5 < sum(alert["data"]["holdout"] for alert in alerts) < 35
    assert not Holdout(0.0, "x").is_held_out("C-0")


def test_a_holdout_share_over_half_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"holdout\.share must be a number from 0 to 0\.5"):
        Config.from_mapping({"holdout": {"share": 0.7, "salt": "x"}})
