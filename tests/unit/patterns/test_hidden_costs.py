"""hidden_costs (dp 12), critical notice per invoice: amount > agreed_amount x 1.05,
or any fee with disclosed: false; at most one per invoice_id, without one, one
per event."""

from tests.unit.history import History, check, fired, resolved, run

P = "hidden_costs"
HIDDEN_FEE = [{"name": "handling", "amount": 25, "disclosed": False}]
OPEN_FEE = [{"name": "shipping", "amount": 25, "disclosed": True}]


def test_invoice_above_tolerance_is_a_critical_notice():
    h = History()
    h.order(amount=1000)
    bill = h.at("+1d").invoice(amount=1051, agreed_amount=1000, invoice_id="I-1")
    r = run(h, until="+2d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+1d"),
        pattern=P,
        danger_point=12,
        severity="critical",
        status="firing",
        phase="new_customer",
        trigger=bill,
    )
    assert resolved(r, P) == []


def test_invoice_at_the_tolerance_is_fine():
    h = History()
    h.invoice(amount=1050, agreed_amount=1000, invoice_id="I-1")
    assert fired(run(h, until="+1d"), P) == []


def test_invoice_just_above_the_tolerance_fires():
    h = History()
    h.invoice(amount=1050.01, agreed_amount=1000, invoice_id="I-1")
    [a] = fired(run(h, until="+1d"), P)
    check(a, time=h.t("+0s"), severity="critical")


def test_undisclosed_fee_fires():
    h = History()
    bill = h.invoice(amount=1000, agreed_amount=1000, invoice_id="I-1", fees=HIDDEN_FEE)
    [a] = fired(run(h, until="+1d"), P)
    check(a, severity="critical", trigger=bill)


def test_disclosed_fee_and_no_agreed_amount_are_fine():
    h = History()
    h.invoice(amount=1000, agreed_amount=1000, invoice_id="I-1", fees=OPEN_FEE)
    h.at("+1h").invoice(amount=99999, invoice_id="I-2")
    assert fired(run(h, until="+1d"), P) == []


def test_one_notice_per_invoice_id():
    h = History()
    h.invoice(amount=2000, agreed_amount=1000, invoice_id="I-1")
    h.at("+1d").invoice(amount=1000, agreed_amount=1000, invoice_id="I-1", fees=HIDDEN_FEE)
    h.at("+2d").invoice(amount=2000, agreed_amount=1000, invoice_id="I-2")
    r = run(h, until="+3d")
    first, second = fired(r, P)
    check(first, time=h.t("+0s"))
    check(second, time=h.t("+2d"))
    assert first["data"]["alert_id"] != second["data"]["alert_id"]


def test_without_invoice_id_one_notice_per_event():
    h = History()
    h.invoice(amount=2000, agreed_amount=1000)
    h.at("+1d").invoice(amount=2000, agreed_amount=1000)
    first, second = fired(run(h, until="+3d"), P)
    assert first["data"]["alert_id"] != second["data"]["alert_id"]
    assert [first["time"], second["time"]] == [h.t("+0s"), h.t("+1d")]


def test_two_invoices_at_the_same_time_give_two_notices():
    h = History()
    h.invoice(amount=2000, agreed_amount=1000)
    h.invoice(amount=10, fees=HIDDEN_FEE)
    first, second = fired(run(h, until="+1d"), P)
    assert first["time"] == second["time"] == h.t("+0s")
    assert first["data"]["alert_id"] != second["data"]["alert_id"]


def test_notices_never_resolve():
    h = History()
    h.order()
    h.at("+1d").invoice(amount=2000, agreed_amount=1000, invoice_id="I-1")
    h.at("+2d").invoice(amount=1000, agreed_amount=1000, invoice_id="I-1")
    h.at("+3d").cancelled()
    r = run(h, until="+30d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_silent_while_churned_or_lost():
    churned = History()
    churned.order()
    churned.at("+1d").cancelled()
    churned.at("+2d").invoice(amount=2000, agreed_amount=1000, fees=HIDDEN_FEE)
    assert fired(run(churned, until="+3d"), P) == []
    lost = History()
    lost.deal_lost()
    lost.at("+1d").invoice(amount=2000, agreed_amount=1000, fees=HIDDEN_FEE)
    assert fired(run(lost, until="+3d"), P) == []


def test_erasure_forgets_notified_invoices():
    h = History()
    h.invoice(amount=2000, agreed_amount=1000, invoice_id="I-1")
    h.at("+1d").erased()
    h.at("+2d").invoice(amount=2000, agreed_amount=1000, invoice_id="I-1")
    r = run(h, until="+3d")
    assert [a["time"] for a in fired(r, P)] == [h.t("+0s"), h.t("+2d")]


def test_tolerance_is_configurable():
    cfg = {"patterns": {P: {"tolerance": 0.1}}}
    h = History()
    h.invoice(amount=1051, agreed_amount=1000, invoice_id="I-1")
    h.at("+1h").invoice(amount=1101, agreed_amount=1000, invoice_id="I-2")
    [a] = fired(run(h, until="+1d", config=cfg), P)
    check(a, time=h.t("+1h"))


def test_switched_off():
    h = History()
    h.invoice(amount=2000, agreed_amount=1000, fees=HIDDEN_FEE)
    assert fired(run(h, until="+1d", config={"patterns": {P: {"enabled": False}}}), P) == []
