"""silent_lane_change (seed 000, no danger point): after >= 5 activities (orders,
inbound contacts), no activity for max(1 day, 3 x median of the last up to 10
gaps); clears on the next activity."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "silent_lane_change"


def act(h: History, *offsets: str) -> list[str]:
    """Alternate orders and inbound contacts: both are the customer's activity."""
    ids = []
    for i, when in enumerate(offsets):
        h.at(when)
        ids.append(h.order(amount=100) if i % 2 == 0 else h.contact(direction="inbound"))
    return ids


DAILY = ("+0s", "+1d", "+2d", "+3d", "+4d")


def test_fires_after_three_times_the_median_gap():
    h = History()
    act(h, *DAILY)
    r = run(h, until="+8d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+7d"),
        pattern=P,
        danger_point=None,
        severity="warning",
        status="firing",
        phase="new_customer",
        resolution=None,
    )
    assert resolved(r, P) == []


def test_four_activities_are_not_enough():
    h = History()
    act(h, "+0s", "+1d", "+2d", "+3d")
    assert fired(run(h, until="+100d"), P) == []


def test_outbound_contacts_marketing_and_feedback_are_not_activity():
    h = History()
    act(h, "+0s", "+1d", "+2d", "+3d")
    h.at("+4d").contact(direction="outbound")
    h.at("+5d").marketing()
    h.at("+6d").feedback(9)
    assert fired(run(h, until="+100d"), P) == []


def test_activity_exactly_at_the_deadline_is_in_time():
    h = History()
    act(h, *DAILY)
    h.at("+7d").contact(direction="inbound")
    # gaps now 1,1,1,1,3: median 1 day, next deadline 3 days later
    assert fired(run(h, until="+9d23h"), P) == []
    [a] = fired(run(h, until="+11d"), P)
    check(a, time=h.t("+10d"))


def test_activity_one_second_late_fires_at_d_and_resolves_at_once():
    h = History()
    act(h, *DAILY)
    h.at("+7d1s").order(amount=50)
    f, res = episode(run(h), P)
    check(f, time=h.t("+7d"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+7d1s"),
        status="resolved",
        severity="warning",
        resolution="activity",
        pattern=P,
    )


def test_next_activity_resolves():
    h = History()
    act(h, *DAILY)
    h.at("+20d").contact(direction="inbound")
    f, res = episode(run(h, until="+21d"), P)
    check(f, time=h.t("+7d"))
    check(res, time=h.t("+20d"), resolution="activity")


def test_median_of_an_even_count_is_the_mean_of_the_middle_gaps():
    h = History()
    act(h, "+0s", "+1d", "+2d", "+5d", "+8d")  # gaps 1,1,3,3: median 2 days, silence 6 days
    assert fired(run(h, until="+13d23h59m59s"), P) == []
    [a] = fired(run(h, until="+15d"), P)
    check(a, time=h.t("+14d"))


def test_silence_is_at_least_one_day():
    h = History()
    act(h, "+0s", "+1h", "+2h", "+3h", "+4h")
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+1d4h"))


def test_only_the_last_ten_gaps_count():
    # gaps 100d, 5 x 2d, 5 x 1d: last ten -> median 1.5d -> silence 4.5d
    h = History()
    act(
        h,
        "+0s",
        "+100d",
        "+102d",
        "+104d",
        "+106d",
        "+108d",
        "+110d",
        "+111d",
        "+112d",
        "+113d",
        "+114d",
        "+115d",
    )
    [a] = fired(run(h, until="+120d"), P)
    check(a, time=h.t("+119d12h"))


def test_churn_resolves_the_open_episode():
    h = History()
    act(h, *DAILY)
    h.clock("+8d")
    h.at("+9d").cancelled()
    _f, res = episode(run(h, until="+20d"), P)
    check(res, time=h.t("+9d"), resolution="churned", phase="churned")


def test_lost_drops_the_deadline():
    h = History()
    for when in DAILY:
        h.at(when).contact(direction="inbound")
    h.at("+5d").deal_lost()
    assert fired(run(h, until="+30d"), P) == []


def test_erasure_forgets_the_activities():
    h = History()
    act(h, *DAILY)
    h.at("+5d").erased()
    act(h, "+6d", "+7d", "+8d", "+9d")
    assert fired(run(h, until="+60d"), P) == []


def test_thresholds_are_configurable():
    h = History()
    act(h, "+0s", "+1d", "+2d")
    cfg = {"patterns": {P: {"min_activities": 3, "factor": 2}}}
    [a] = fired(run(h, until="+5d", config=cfg), P)
    check(a, time=h.t("+4d"))

    h = History()
    act(h, *DAILY)
    [a] = fired(run(h, until="+10d", config={"patterns": {P: {"min_silence": "5d"}}}), P)
    check(a, time=h.t("+9d"))

    h = History()
    act(h, "+0s", "+10d", "+20d", "+21d", "+22d")  # last 2 gaps 1,1 -> silence 3 days
    [a] = fired(run(h, until="+26d", config={"patterns": {P: {"gaps": 2}}}), P)
    check(a, time=h.t("+25d"))


def test_switched_off():
    h = History()
    act(h, *DAILY)
    assert fired(run(h, until="+30d", config={"patterns": {P: {"enabled": False}}}), P) == []
