"""innovation_gap (dp 14): 365 days after the first order, and then 365 days after
each innovation.offered, with none in between; warning, critical if lifetime
order amount >= 50 000 when it fires; clears on the next innovation.offered."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "innovation_gap"


def test_fires_365_days_after_the_first_order():
    h = History()
    h.order(amount=1000)
    r = run(h, until="+366d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+365d"),
        pattern=P,
        danger_point=14,
        severity="warning",
        status="firing",
        phase="established",
        resolution=None,
    )
    assert resolved(r, P) == []


def test_innovation_at_exactly_365_days_is_in_time_and_restarts():
    h = History()
    h.order()
    h.at("+365d").innovation()
    assert fired(run(h, until="+729d"), P) == []
    [a] = fired(run(h, until="+731d"), P)
    check(a, time=h.t("+730d"))


def test_each_innovation_restarts_the_clock():
    h = History()
    h.order()
    h.at("+100d").innovation()
    h.at("+200d").innovation(product="Service X")
    [a] = fired(run(h, until="+600d"), P)
    check(a, time=h.t("+565d"))


def test_innovations_before_the_first_order_do_not_count():
    h = History()
    h.at("-1d").innovation()
    h.at("+0s").order()
    [a] = fired(run(h, until="+400d"), P)
    check(a, time=h.t("+365d"))


def test_late_innovation_fires_at_d_resolves_and_restarts():
    h = History()
    h.order()
    h.at("+366d").innovation()
    r = run(h, until="+700d")
    f, res = episode(r, P)
    check(f, time=h.t("+365d"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+366d"),
        status="resolved",
        severity="warning",
        resolution="innovation",
        phase="established",
        pattern=P,
    )
    first, second = fired(run(h, until="+732d"), P)
    check(second, time=h.t("+731d"))
    assert first["data"]["alert_id"] != second["data"]["alert_id"]


def test_lifetime_amount_of_50000_makes_it_critical():
    h = History()
    h.order(amount=30000)
    h.at("+200d").order(amount=20000)
    [a] = fired(run(h, until="+366d"), P)
    check(a, time=h.t("+365d"), severity="critical")


def test_lifetime_just_below_50000_is_a_warning():
    h = History()
    h.order(amount=30000)
    h.at("+200d").order(amount=19999.99)
    [a] = fired(run(h, until="+366d"), P)
    check(a, severity="warning")


def test_lifetime_amount_is_taken_when_it_fires():
    h = History()
    h.order(amount=30000)
    h.clock("+366d")
    h.at("+367d").order(amount=30000)
    h.at("+400d").innovation()
    f, res = episode(run(h, until="+401d"), P)
    check(f, time=h.t("+365d"), severity="warning")
    check(res, severity="warning", resolution="innovation")


def test_prospects_never_fire():
    h = History()
    h.lead()
    h.at("+1d").innovation()
    assert fired(run(h, until="+800d"), P) == []


def test_returning_customer_clock_restarts_from_the_returning_order():
    h = History()
    h.order()
    h.at("+10d").cancelled()
    h.at("+100d").order()
    [a] = fired(run(h, until="+500d"), P)
    check(a, time=h.t("+465d"))


def test_churn_resolves_the_open_episode():
    h = History()
    h.order()
    h.clock("+366d")
    h.at("+367d").cancelled()
    _f, res = episode(run(h, until="+400d"), P)
    check(res, time=h.t("+367d"), resolution="churned", phase="churned")


def test_erasure_drops_the_deadline():
    h = History()
    h.order()
    h.at("+1d").erased()
    assert fired(run(h, until="+800d"), P) == []


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"within": "100d", "critical_lifetime_amount": 1000}}}
    h = History()
    h.order(amount=1000)
    [a] = fired(run(h, until="+101d", config=cfg), P)
    check(a, time=h.t("+100d"), severity="critical")


def test_switched_off():
    h = History()
    h.order()
    assert fired(run(h, until="+800d", config={"patterns": {P: {"enabled": False}}}), P) == []
