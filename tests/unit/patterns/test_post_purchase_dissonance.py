"""post_purchase_dissonance (dp 8): an order >= 10 000 gets no outbound contact
within 72 h; one episode per customer, deadline from the earliest such order
not yet followed by an outbound contact."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "post_purchase_dissonance"


def test_big_order_without_contact_fires_at_72h():
    h = History()
    order = h.order(amount=10000)
    r = run(h, until="+4d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+72h"),
        pattern=P,
        danger_point=8,
        severity="warning",
        status="firing",
        phase="new_customer",
        resolution=None,
        trigger=order,
    )
    assert resolved(r, P) == []


def test_order_just_below_the_minimum_is_fine():
    h = History()
    h.order(amount=9999.99)
    assert fired(run(h, until="+10d"), P) == []


def test_contact_at_exactly_72h_is_in_time():
    h = History()
    h.order(amount=25000)
    h.at("+72h").contact(direction="outbound")
    assert fired(run(h, until="+10d"), P) == []


def test_contact_one_second_late_fires_at_d_and_resolves_at_once():
    h = History()
    h.order(amount=25000)
    h.at("+72h1s").contact(direction="outbound")
    f, res = episode(run(h), P)
    check(f, time=h.t("+72h"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+72h1s"),
        status="resolved",
        severity="warning",
        resolution="contact",
        phase="new_customer",
        pattern=P,
    )


def test_inbound_contact_does_not_reassure():
    h = History()
    h.order(amount=25000)
    h.at("+1d").contact(direction="inbound")
    [a] = fired(run(h, until="+4d"), P)
    check(a, time=h.t("+72h"))


def test_one_episode_from_the_earliest_unanswered_big_order():
    h = History()
    first = h.order(amount=12000)
    h.at("+1d").order(amount=15000)
    h.at("+10d").contact(direction="outbound")
    r = run(h, until="+20d")
    f, res = episode(r, P)
    check(f, time=h.t("+72h"), trigger=first)
    check(res, time=h.t("+10d"), resolution="contact")


def test_small_orders_do_not_start_the_clock():
    h = History()
    h.order(amount=100)
    big = h.at("+1d").order(amount=10000)
    [a] = fired(run(h, until="+5d"), P)
    check(a, time=h.t("+4d"), trigger=big)


def test_answered_big_order_then_a_new_one():
    h = History()
    h.order(amount=12000)
    h.at("+1d").contact(direction="outbound")
    second = h.at("+10d").order(amount=20000)
    [a] = fired(run(h, until="+20d"), P)
    check(a, time=h.t("+13d"), trigger=second)


def test_established_customer_big_order():
    h = History()
    h.order(amount=100)
    h.at("+1d").contact(direction="outbound")
    h.at("+100d").order(amount=50000)
    [a] = fired(run(h, until="+104d"), P)
    check(a, time=h.t("+103d"), phase="established")


def test_churn_drops_the_deadline():
    h = History()
    h.order(amount=20000)
    h.at("+1d").cancelled()
    assert fired(run(h, until="+10d"), P) == []


def test_churn_resolves_the_open_episode():
    h = History()
    h.order(amount=20000)
    h.clock("+3d1h")
    h.at("+4d").cancelled()
    f, res = episode(run(h, until="+10d"), P)
    check(f, time=h.t("+72h"))
    check(res, time=h.t("+4d"), resolution="churned", phase="churned")


def test_erasure_drops_the_deadline():
    h = History()
    h.order(amount=20000)
    h.at("+1d").erased()
    assert run(h, until="+30d").alerts == []


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"min_amount": 500, "within": "24h"}}}
    h = History()
    h.order(amount=500)
    [a] = fired(run(h, until="+2d", config=cfg), P)
    check(a, time=h.t("+24h"))


def test_switched_off():
    h = History()
    h.order(amount=20000)
    assert fired(run(h, until="+10d", config={"patterns": {P: {"enabled": False}}}), P) == []
