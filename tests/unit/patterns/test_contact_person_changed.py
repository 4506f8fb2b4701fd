"""contact_person_changed (dp 5), notice: rep.assigned names a rep other than the
current one while prospect, negotiating or new_customer; critical if it is the
2nd change within 180 days (every change, in any phase, counts)."""

from tests.unit.history import History, check, fired, resolved, run

P = "contact_person_changed"


def severities(r):
    return [a["data"]["severity"] for a in fired(r, P)]


def test_change_of_rep_of_a_prospect_is_a_warning_notice():
    h = History()
    h.lead(owner="R-1")
    change = h.at("+10d").rep_assigned("R-2", reason="reassigned")
    r = run(h, until="+400d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+10d"),
        pattern=P,
        danger_point=5,
        severity="warning",
        status="firing",
        phase="prospect",
        trigger=change,
    )
    assert resolved(r, P) == []


def test_same_rep_is_no_change():
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").rep_assigned("R-1")
    assert fired(run(h, until="+2d"), P) == []


def test_a_new_lead_owner_sets_the_current_rep_without_a_notice():
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").lead(owner="R-2")
    h.at("+2d").rep_assigned("R-2")
    assert fired(run(h, until="+3d"), P) == []
    h.at("+3d").rep_assigned("R-1")
    [a] = fired(run(h, until="+4d"), P)
    check(a, time=h.t("+3d"), severity="warning")


def test_a_change_needs_a_current_rep():
    h = History()
    h.rep_assigned("R-1", reason="initial")
    assert fired(run(h, until="+1d"), P) == []
    h.at("+1d").rep_assigned("R-2")
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+1d"), severity="warning")


def test_rep_on_a_contact_does_not_change_the_current_rep():
    h = History()
    h.lead(owner="R-1")
    h.at("+1h").contact(direction="outbound", rep="R-2")
    h.at("+2h").rep_assigned("R-1")
    assert fired(run(h, until="+1d"), P) == []
    h.at("+3h").rep_assigned("R-2")
    [a] = fired(run(h, until="+1d"), P)
    check(a, time=h.t("+3h"))


def test_second_change_within_180_days_is_critical_and_so_are_later_ones():
    h = History()
    h.lead(owner="R-1")
    h.at("+10d").rep_assigned("R-2")
    second = h.at("+100d").rep_assigned("R-3")
    h.at("+120d").rep_assigned("R-4")
    r = run(h, until="+130d")
    assert severities(r) == ["warning", "critical", "critical"]
    check(fired(r, P)[1], time=h.t("+100d"), trigger=second)


def test_second_change_after_180_days_is_a_warning():
    h = History()
    h.lead(owner="R-1")
    h.at("+10d").rep_assigned("R-2")
    h.at("+200d").rep_assigned("R-3")
    assert severities(run(h, until="+201d")) == ["warning", "warning"]


def test_negotiating_phase():
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").offer()
    h.at("+2d").rep_assigned("R-2")
    [a] = fired(run(h, until="+3d"), P)
    check(a, phase="negotiating", time=h.t("+2d"))


def test_new_customer_phase():
    h = History()
    h.order()
    h.at("+1d").rep_assigned("R-1", reason="initial")
    h.at("+30d").rep_assigned("R-2")
    [a] = fired(run(h, until="+31d"), P)
    check(a, phase="new_customer", severity="warning", time=h.t("+30d"))


def test_no_notice_for_established_customers():
    h = History()
    h.order()
    h.at("+1d").rep_assigned("R-1", reason="initial")
    h.at("+100d").rep_assigned("R-2")
    assert fired(run(h, until="+101d"), P) == []


def test_changes_while_lost_count_toward_the_180_days():
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").deal_lost()
    h.at("+2d").rep_assigned("R-2")  # counted, no notice while lost
    h.at("+3d").offer()  # back: negotiating
    h.at("+4d").rep_assigned("R-3")
    [a] = fired(run(h, until="+5d"), P)
    check(a, time=h.t("+4d"), severity="critical", phase="negotiating")


def test_departed_reassignment_is_a_change():
    h = History()
    h.lead(owner="R-1")
    change = h.at("+1d").rep_assigned("R-2", reason="departed")
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+1d"), severity="warning", trigger=change)


def test_silent_while_churned():
    h = History()
    h.lead(owner="R-1")
    h.at("+1h").cancelled()
    h.at("+1d").rep_assigned("R-2")
    assert fired(run(h, until="+2d"), P) == []


def test_erasure_forgets_the_current_rep():
    h = History()
    h.lead(owner="R-1")
    h.at("+1h").erased()
    h.at("+1d").rep_assigned("R-2")
    assert run(h, until="+2d").alerts == []


def test_erasure_forgets_earlier_changes():
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").rep_assigned("R-2")
    h.at("+2d").erased()
    h.at("+3d").lead(owner="R-1")
    h.at("+3d").contact(direction="outbound")
    h.at("+4d").rep_assigned("R-3")
    assert severities(run(h, until="+5d")) == ["warning", "warning"]


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"window": "30d", "critical_changes": 3}}}
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").rep_assigned("R-2")
    h.at("+10d").rep_assigned("R-3")
    h.at("+20d").rep_assigned("R-4")
    h.at("+60d").rep_assigned("R-5")
    r = run(h, until="+61d", config=cfg)
    assert severities(r) == ["warning", "warning", "critical", "warning"]


def test_switched_off():
    h = History()
    h.lead(owner="R-1")
    h.at("+1d").rep_assigned("R-2")
    assert fired(run(h, until="+2d", config={"patterns": {P: {"enabled": False}}}), P) == []
