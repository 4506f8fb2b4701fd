"""missing_appreciation (dp 10): a customer with an order gets no outbound contact
for 90 days, counted from the later of the first order and the last outbound
contact; clears on the next outbound contact, which restarts the clock."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "missing_appreciation"


def test_fires_90_days_after_the_last_outbound_contact():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    r = run(h, until="+100d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+91d"),
        pattern=P,
        danger_point=10,
        severity="warning",
        status="firing",
        phase="established",
        resolution=None,
    )
    assert resolved(r, P) == []


def test_fires_90_days_after_the_first_order_without_any_contact():
    h = History()
    h.order()
    [a] = fired(run(h, until="+100d"), P)
    check(a, time=h.t("+90d"), severity="warning")


def test_contact_at_exactly_90_days_is_in_time_and_restarts_the_clock():
    h = History()
    h.order()
    h.at("+90d").contact(direction="outbound")
    assert fired(run(h, until="+179d"), P) == []
    [a] = fired(run(h, until="+181d"), P)
    check(a, time=h.t("+180d"))


def test_contact_one_second_late_fires_at_d_resolves_at_once_and_restarts():
    h = History()
    h.order()
    h.at("+90d1s").contact(direction="outbound")
    r = run(h, until="+180d")
    f, res = episode(r, P)
    check(f, time=h.t("+90d"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+90d1s"),
        status="resolved",
        severity="warning",
        resolution="contact",
        pattern=P,
    )
    r = run(h, until="+181d")
    first, second = fired(r, P)
    check(second, time=h.t("+180d1s"))
    assert first["data"]["alert_id"] != second["data"]["alert_id"]


def test_next_outbound_contact_resolves():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+120d").contact(direction="outbound", channel="visit")
    f, res = episode(run(h, until="+150d"), P)
    check(f, time=h.t("+91d"))
    check(res, time=h.t("+120d"), resolution="contact", phase="established")


def test_contact_before_the_first_order_does_not_delay():
    h = History()
    h.at("-10d").contact(direction="outbound")
    h.at("+0s").order()
    [a] = fired(run(h, until="+100d"), P)
    check(a, time=h.t("+90d"))


def test_inbound_contacts_marketing_and_orders_do_not_reset():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+50d").contact(direction="inbound")
    h.at("+60d").marketing()
    h.at("+70d").order()
    [a] = fired(run(h, until="+100d"), P)
    check(a, time=h.t("+91d"))


def test_prospects_never_fire():
    h = History()
    h.lead()
    h.at("+1h").contact(direction="outbound")
    h.at("+1d").offer()
    assert fired(run(h, until="+400d"), P) == []


def test_returning_customer_clock_restarts_from_the_returning_order():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+10d").cancelled()
    h.at("+200d").order()
    [a] = fired(run(h, until="+300d"), P)
    check(a, time=h.t("+290d"), phase="established")


def test_churn_resolves_the_open_episode():
    h = History()
    h.order()
    h.clock("+100d")
    h.at("+101d").cancelled()
    _f, res = episode(run(h, until="+200d"), P)
    check(res, time=h.t("+101d"), resolution="churned", phase="churned")


def test_erasure_drops_the_deadline():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+2d").erased()
    assert run(h, until="+200d").alerts == []


def test_period_is_configurable():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    [a] = fired(run(h, until="+40d", config={"patterns": {P: {"within": "30d"}}}), P)
    check(a, time=h.t("+31d"))


def test_switched_off():
    h = History()
    h.order()
    assert fired(run(h, until="+200d", config={"patterns": {P: {"enabled": False}}}), P) == []
