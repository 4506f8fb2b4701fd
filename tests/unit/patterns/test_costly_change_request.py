"""costly_change_request (dp 13), warning notice: the customer's first
change_request.quoted has amount >= 20 % of the contract value (contract_value
if > 0, else the sum of the customer's orders; no alert when neither is > 0)."""

from tests.unit.history import History, check, fired, resolved, run

P = "costly_change_request"


def test_first_quote_at_20_percent_of_contract_value_fires():
    h = History()
    h.order(amount=10000, kind="contract")
    quote = h.at("+10d").change_request(amount=2000, contract_value=10000)
    r = run(h, until="+11d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+10d"),
        pattern=P,
        danger_point=13,
        severity="warning",
        status="firing",
        phase="new_customer",
        trigger=quote,
    )
    assert resolved(r, P) == []


def test_quote_just_below_20_percent_is_fine():
    h = History()
    h.change_request(amount=1999.99, contract_value=10000)
    assert fired(run(h, until="+1d"), P) == []


def test_only_the_very_first_quote_is_judged():
    h = History()
    h.change_request(amount=1000, contract_value=10000)
    h.at("+1d").change_request(amount=9000, contract_value=10000)
    assert fired(run(h, until="+2d"), P) == []


def test_only_one_notice_ever():
    h = History()
    h.change_request(amount=5000, contract_value=10000)
    h.at("+1d").change_request(amount=9000, contract_value=10000)
    r = run(h, until="+2d")
    [a] = fired(r, P)
    check(a, time=h.t("+0s"))
    assert resolved(r, P) == []


def test_falls_back_to_the_sum_of_orders():
    h = History()
    h.order(amount=6000)
    h.at("+1d").order(amount=4000)
    quote = h.at("+2d").change_request(amount=2000)
    [a] = fired(run(h, until="+3d"), P)
    check(a, time=h.t("+2d"), trigger=quote)
    below = History()
    below.order(amount=6000)
    below.at("+1d").order(amount=4000)
    below.at("+2d").change_request(amount=1999)
    assert fired(run(below, until="+3d"), P) == []


def test_contract_value_wins_over_the_order_total():
    h = History()
    h.order(amount=100000)
    quote = h.at("+1d").change_request(amount=2000, contract_value=10000)
    [a] = fired(run(h, until="+2d"), P)
    check(a, trigger=quote)


def test_zero_contract_value_falls_back_to_orders():
    h = History()
    h.order(amount=10000)
    h.at("+1d").change_request(amount=2000, contract_value=0)
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+1d"))


def test_no_alert_when_no_value_is_known():
    h = History()
    h.change_request(amount=2000)
    assert fired(run(h, until="+1d"), P) == []


def test_silent_while_churned():
    h = History()
    h.order(amount=10000)
    h.at("+1d").cancelled()
    h.at("+2d").change_request(amount=5000, contract_value=10000)
    assert fired(run(h, until="+3d"), P) == []


def test_erasure_forgets_orders_and_the_first_quote():
    h = History()
    h.order(amount=10000)
    h.at("+1d").change_request(amount=100, contract_value=10000)
    h.at("+2d").erased()
    h.at("+3d").change_request(amount=5000)  # orders forgotten: no value, no alert
    assert fired(run(h, until="+4d"), P) == []
    again = History()
    again.change_request(amount=100, contract_value=10000)
    again.at("+1d").erased()
    quote = again.at("+2d").change_request(amount=5000, contract_value=10000)
    [a] = fired(run(again, until="+3d"), P)
    check(a, time=again.t("+2d"), trigger=quote)


def test_share_is_configurable():
    h = History()
    h.change_request(amount=4000, contract_value=10000)
    assert fired(run(h, until="+1d", config={"patterns": {P: {"share": 0.5}}}), P) == []
    h2 = History()
    h2.change_request(amount=5000, contract_value=10000)
    [a] = fired(run(h2, until="+1d", config={"patterns": {P: {"share": 0.5}}}), P)
    check(a, severity="warning")


def test_switched_off():
    h = History()
    h.change_request(amount=5000, contract_value=10000)
    assert fired(run(h, until="+1d", config={"patterns": {P: {"enabled": False}}}), P) == []
