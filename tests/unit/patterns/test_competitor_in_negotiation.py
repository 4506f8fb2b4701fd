"""competitor_in_negotiation (dp 6): competitor.mentioned while an offer is open;
critical; clears on order.placed (won) or deal.lost."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "competitor_in_negotiation"


def test_competitor_while_offer_open_fires_critical():
    h = History()
    h.offer()
    mention = h.at("+1d").competitor()
    r = run(h, until="+2d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+1d"),
        pattern=P,
        danger_point=6,
        severity="critical",
        status="firing",
        phase="negotiating",
        resolution=None,
        trigger=mention,
    )
    assert resolved(r, P) == []


def test_no_open_offer_no_alert():
    h = History()
    h.competitor()
    h.at("+1d").offer()
    h.at("+2d").order()  # closes the offer
    h.at("+3d").competitor()
    assert fired(run(h, until="+4d"), P) == []


def test_offer_closed_by_deal_lost_of_a_customer_with_orders():
    h = History()
    h.order()
    h.at("+1d").offer()
    h.at("+2d").deal_lost()
    h.at("+3d").competitor()
    assert fired(run(h, until="+4d"), P) == []


def test_order_resolves_as_won():
    h = History()
    h.offer()
    h.at("+1d").competitor()
    h.at("+2d").order(amount=5000)
    r = run(h, until="+3d")
    _f, res = episode(r, P)
    check(
        res,
        type="alert.resolved",
        time=h.t("+2d"),
        status="resolved",
        severity="critical",
        resolution="won",
        phase="new_customer",
        pattern=P,
    )


def test_deal_lost_resolves_as_lost():
    h = History()
    h.offer()
    h.at("+1d").competitor()
    h.at("+2d").deal_lost()
    r = run(h, until="+3d")
    _f, res = episode(r, P)
    check(res, time=h.t("+2d"), severity="critical", resolution="lost", phase="lost")


def test_open_offer_of_an_established_customer():
    h = History()
    h.order()
    h.at("+100d").contact(direction="outbound")
    h.at("+100d").offer()
    h.at("+101d").competitor()
    h.at("+102d").deal_lost()
    r = run(h, until="+103d")
    f, res = episode(r, P)
    check(f, time=h.t("+101d"), phase="established", severity="critical")
    check(res, time=h.t("+102d"), resolution="lost", phase="established")


def test_one_episode_then_a_new_one():
    h = History()
    h.offer()
    h.at("+1d").competitor()
    h.at("+2d").competitor(competitor="Other AG")
    h.at("+3d").order()
    h.at("+4d").offer(offer_id="O-2")
    h.at("+5d").competitor()
    r = run(h, until="+6d")
    first, second = fired(r, P)
    check(first, time=h.t("+1d"))
    check(second, time=h.t("+5d"), phase="new_customer")
    assert first["data"]["alert_id"] != second["data"]["alert_id"]
    [res] = resolved(r, P)
    check(res, alert_id=first["data"]["alert_id"], resolution="won")


def test_cancellation_resolves_as_churned():
    h = History()
    h.order()
    h.at("+1d").offer()
    h.at("+2d").competitor()
    h.at("+3d").cancelled()
    r = run(h, until="+4d")
    f, res = episode(r, P)
    check(f, phase="new_customer")
    check(res, time=h.t("+3d"), resolution="churned", phase="churned")


def test_cancellation_closes_open_offers():
    h = History()
    h.order()
    h.at("+1d").offer()
    h.at("+2d").cancelled()
    h.at("+3d").order()  # back, established
    h.at("+4d").competitor()
    assert fired(run(h, until="+5d"), P) == []


def test_silent_while_lost():
    h = History()
    h.offer()
    h.at("+1d").deal_lost()
    h.at("+2d").competitor()
    assert fired(run(h, until="+3d"), P) == []


def test_erasure_forgets_the_offer():
    h = History()
    h.offer()
    h.at("+1d").erased()
    h.at("+2d").competitor()
    assert run(h, until="+3d").alerts == []


def test_erasure_of_an_open_episode_emits_no_resolution():
    h = History()
    h.offer()
    h.at("+1d").competitor()
    h.at("+2d").erased()
    h.at("+3d").order()
    r = run(h, until="+4d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_switched_off():
    h = History()
    h.offer()
    h.at("+1d").competitor()
    assert fired(run(h, until="+2d", config={"patterns": {P: {"enabled": False}}}), P) == []
