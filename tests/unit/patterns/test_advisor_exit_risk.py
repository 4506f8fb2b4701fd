"""advisor_exit_risk (seed 001, no danger point), critical notice: rep.assigned with
reason departed, where >= 80 % (and at least 3) of the customer's outbound
contacts in the last 365 days came from the previous rep (at least 3 contacts
from that rep)."""

from tests.unit.history import History, check, fired, resolved, run

P = "advisor_exit_risk"


def contacts(h: History, *reps: str | None, start_day: int = 1) -> None:
    for i, rep in enumerate(reps):
        h.at(f"+{start_day + i}d").contact(direction="outbound", rep=rep)


def test_departed_rep_who_held_the_contact_fires_critical_notice():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    change = h.at("+10d").rep_assigned("R-2", reason="departed")
    r = run(h, until="+400d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+10d"),
        pattern=P,
        danger_point=None,
        severity="critical",
        status="firing",
        phase="prospect",
        trigger=change,
    )
    assert resolved(r, P) == []


def test_fewer_than_three_contacts_is_fine():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_exactly_80_percent_fires():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-3", "R-1", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    [a] = fired(run(h, until="+11d"), P)
    check(a, time=h.t("+10d"))


def test_75_percent_is_fine():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-3", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_contacts_without_rep_count_as_not_from_the_previous_rep():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", None, "R-1", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert len(fired(run(h, until="+11d"), P)) == 1
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", None, "R-1", None, "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_other_reasons_are_fine():
    for reason in ("reassigned", "initial", None):
        h = History()
        h.lead(owner="R-1")
        contacts(h, "R-1", "R-1", "R-1")
        h.at("+10d").rep_assigned("R-2", reason=reason)
        assert fired(run(h, until="+11d"), P) == []


def test_no_previous_rep_no_notice():
    h = History()
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_previous_rep_is_the_current_rep_not_the_one_on_contacts():
    h = History()
    h.lead(owner="R-1")
    h.at("+12h").rep_assigned("R-3")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_only_contacts_of_the_last_365_days_count():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+400d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+401d"), P) == []
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1", start_day=40)
    h.at("+400d").rep_assigned("R-2", reason="departed")
    [a] = fired(run(h, until="+401d"), P)
    check(a, time=h.t("+400d"))


def test_inbound_contacts_do_not_count():
    h = History()
    h.lead(owner="R-1")
    for day in (1, 2, 3):
        h.at(f"+{day}d").contact(direction="inbound", rep="R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_departure_is_also_a_contact_person_change():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    r = run(h, until="+11d")
    [_a] = fired(r, P)
    [c] = fired(r, "contact_person_changed")
    check(c, time=h.t("+10d"), severity="warning")


def test_established_customer():
    h = History()
    h.order()
    h.at("+1h").rep_assigned("R-1", reason="initial")
    contacts(h, "R-1", "R-1", "R-1", start_day=100)
    h.at("+200d").rep_assigned("R-2", reason="departed")
    [a] = fired(run(h, until="+201d"), P)
    check(a, time=h.t("+200d"), phase="established", severity="critical")


def test_silent_while_churned():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+5d").cancelled()
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_erasure_forgets_contacts_and_rep():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+5d").erased()
    h.at("+6d").lead(owner="R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d"), P) == []


def test_at_least_three_contacts_must_come_from_the_previous_rep():
    # "80 % (and at least 3) of the customer's outbound contacts ... came from the previous rep"
    cfg = {"patterns": {P: {"share": 0.5}}}
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-3", "R-3")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d", config=cfg), P) == []


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"share": 0.5, "min_contacts": 2, "window": "30d"}}}
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-3", "R-1", "R-3")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    [a] = fired(run(h, until="+11d", config=cfg), P)
    check(a, time=h.t("+10d"))
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-3")  # 50 %, but only one contact from the previous rep
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d", config=cfg), P) == []
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+40d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+41d", config=cfg), P) == []


def test_switched_off():
    h = History()
    h.lead(owner="R-1")
    contacts(h, "R-1", "R-1", "R-1")
    h.at("+10d").rep_assigned("R-2", reason="departed")
    assert fired(run(h, until="+11d", config={"patterns": {P: {"enabled": False}}}), P) == []
