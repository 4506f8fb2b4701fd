"""post_sale_abandonment (dp 7): no outbound contact within 14 days after the
first order ever; window [first order, first order + 14d]."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "post_sale_abandonment"


def test_no_contact_after_first_order_fires_at_14_days():
    h = History()
    order = h.order(amount=800)
    r = run(h, until="+15d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+14d"),
        pattern=P,
        danger_point=7,
        severity="warning",
        status="firing",
        phase="new_customer",
        resolution=None,
        trigger=order,
    )
    assert resolved(r, P) == []


def test_contact_at_exactly_14_days_is_in_time():
    h = History()
    h.order()
    h.at("+14d").contact(direction="outbound")
    assert fired(run(h, until="+60d"), P) == []


def test_contact_at_the_order_time_counts():
    h = History()
    h.order()
    h.contact(direction="outbound")
    assert fired(run(h, until="+60d"), P) == []


def test_contact_before_the_first_order_does_not_count():
    h = History()
    h.at("-1d").contact(direction="outbound")
    h.at("+0s").order()
    [a] = fired(run(h, until="+15d"), P)
    check(a, time=h.t("+14d"))


def test_inbound_contact_and_marketing_do_not_count():
    h = History()
    h.order()
    h.at("+1d").contact(direction="inbound")
    h.at("+2d").marketing()
    [a] = fired(run(h, until="+15d"), P)
    check(a, time=h.t("+14d"))


def test_contact_one_second_late_fires_at_d_and_resolves_at_once():
    h = History()
    h.order()
    h.at("+14d1s").contact(direction="outbound")
    r = run(h)
    f, res = episode(r, P)
    check(f, time=h.t("+14d"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+14d1s"),
        status="resolved",
        severity="warning",
        resolution="contact",
        phase="new_customer",
        pattern=P,
    )


def test_next_outbound_contact_resolves():
    h = History()
    h.order()
    h.at("+20d").contact(direction="outbound", channel="visit")
    _f, res = episode(run(h, until="+30d"), P)
    check(res, time=h.t("+20d"), resolution="contact")


def test_belongs_to_the_first_order_only():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+10d").order()
    assert fired(run(h, until="+60d"), P) == []


def test_returning_customer_gets_no_new_episode():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+2d").cancelled()
    h.at("+10d").order()
    assert fired(run(h, until="+60d"), P) == []


def test_churn_before_the_deadline_drops_it():
    h = History()
    h.order()
    h.at("+5d").cancelled()
    assert fired(run(h, until="+60d"), P) == []


def test_churn_resolves_the_open_episode():
    h = History()
    h.order()
    h.clock("+15d")
    h.at("+16d").cancelled()
    _f, res = episode(run(h, until="+20d"), P)
    check(res, time=h.t("+16d"), resolution="churned", phase="churned")


def test_erasure_drops_the_deadline():
    h = History()
    h.order()
    h.at("+1d").erased()
    assert fired(run(h, until="+60d"), P) == []


def test_after_erasure_the_next_order_is_a_first_order():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+2d").erased()
    order = h.at("+3d").order()
    [a] = fired(run(h, until="+30d"), P)
    check(a, time=h.t("+17d"), trigger=order)


def test_period_is_configurable():
    h = History()
    h.order()
    [a] = fired(run(h, until="+8d", config={"patterns": {P: {"within": "7d"}}}), P)
    check(a, time=h.t("+7d"))


def test_switched_off():
    h = History()
    h.order()
    assert fired(run(h, until="+60d", config={"patterns": {P: {"enabled": False}}}), P) == []
