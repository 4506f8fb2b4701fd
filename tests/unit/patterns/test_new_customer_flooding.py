"""new_customer_flooding (dp 9), notice once per customer: the 4th marketing.sent
within 30 days after the first order ever; window [first order, first order + 30d]."""

from tests.unit.history import History, check, fired, resolved, run

P = "new_customer_flooding"


def sends(h: History, *offsets: str) -> list[str]:
    return [h.at(when).marketing(kind="promotion") for when in offsets]


def test_fourth_send_within_30_days_fires_a_notice():
    h = History()
    h.order()
    ids = sends(h, "+1d", "+2d", "+3d", "+4d")
    r = run(h, until="+60d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+4d"),
        pattern=P,
        danger_point=9,
        severity="warning",
        status="firing",
        phase="new_customer",
        trigger=ids[3],
    )
    assert resolved(r, P) == []


def test_three_sends_are_fine():
    h = History()
    h.order()
    sends(h, "+1d", "+2d", "+3d")
    assert fired(run(h, until="+60d"), P) == []


def test_window_includes_its_end():
    h = History()
    h.order()
    sends(h, "+0s", "+2d", "+3d", "+30d")
    [a] = fired(run(h, until="+31d"), P)
    check(a, time=h.t("+30d"))


def test_send_after_the_window_does_not_count():
    h = History()
    h.order()
    sends(h, "+1d", "+2d", "+3d", "+30d1s")
    assert fired(run(h, until="+60d"), P) == []


def test_sends_before_the_first_order_do_not_count():
    h = History()
    sends(h, "-3d", "-2d", "-1d")
    h.at("+0s").order()
    sends(h, "+1d")
    assert fired(run(h, until="+60d"), P) == []


def test_outbound_contacts_do_not_count():
    h = History()
    h.order()
    sends(h, "+1d", "+2d", "+3d")
    h.at("+4d").contact(direction="outbound", channel="email")
    assert fired(run(h, until="+60d"), P) == []


def test_only_once_per_customer():
    h = History()
    h.order()
    sends(h, "+1d", "+2d", "+3d", "+4d", "+5d", "+6d", "+7d", "+8d")
    r = run(h, until="+60d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_returning_customer_window_belongs_to_the_first_order():
    h = History()
    h.order()
    h.at("+40d").cancelled()
    h.at("+50d").order()
    sends(h, "+51d", "+52d", "+53d", "+54d")
    assert fired(run(h, until="+60d"), P) == []


def test_silent_while_churned():
    h = History()
    h.order()
    h.at("+1d").cancelled()
    sends(h, "+2d", "+3d", "+4d", "+5d")
    assert fired(run(h, until="+60d"), P) == []


def test_erasure_forgets_sends_and_first_order():
    h = History()
    h.order()
    sends(h, "+1d", "+2d", "+3d")
    h.at("+4d").erased()
    sends(h, "+5d")
    assert fired(run(h, until="+60d"), P) == []
    h.at("+6d").order()
    ids = sends(h, "+7d", "+8d", "+9d", "+10d")
    [a] = fired(run(h, until="+60d"), P)
    check(a, time=h.t("+10d"), trigger=ids[3])


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"sends": 2, "window": "10d"}}}
    h = History()
    h.order()
    sends(h, "+1d", "+10d1s")
    assert fired(run(h, until="+60d", config=cfg), P) == []
    h2 = History()
    h2.order()
    sends(h2, "+1d", "+10d")
    [a] = fired(run(h2, until="+60d", config=cfg), P)
    check(a, time=h2.t("+10d"))


def test_switched_off():
    h = History()
    h.order()
    sends(h, "+1d", "+2d", "+3d", "+4d")
    assert fired(run(h, until="+60d", config={"patterns": {P: {"enabled": False}}}), P) == []
