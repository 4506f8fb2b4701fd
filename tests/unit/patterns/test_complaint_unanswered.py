"""complaint_unanswered (seed 003, no danger point): a complaint case gets no
outbound case.updated for it, no outbound contact and no case.resolved within
24 h; warning, critical if severity high; clears on that response or
case.resolved."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "complaint_unanswered"


def test_unanswered_complaint_fires_at_24h():
    h = History()
    opened = h.case_opened("K1", kind="complaint", severity="medium")
    r = run(h, until="+2d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+24h"),
        pattern=P,
        danger_point=None,
        severity="warning",
        status="firing",
        phase="prospect",
        resolution=None,
        trigger=opened,
    )
    assert resolved(r, P) == []


def test_severity_follows_the_case():
    for severity, expected in (("high", "critical"), ("low", "warning"), (None, "warning")):
        h = History()
        h.case_opened("K1", kind="complaint", severity=severity)
        [a] = fired(run(h, until="+2d"), P)
        check(a, time=h.t("+24h"), severity=expected)


def test_claims_and_support_cases_are_not_complaints():
    h = History()
    h.case_opened("K1", kind="claim", severity="high")
    h.case_opened("K2", kind="support", severity="high")
    assert fired(run(h, until="+5d"), P) == []


def test_outbound_case_update_at_exactly_24h_is_in_time():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+24h").case_updated("K1", direction="outbound")
    assert fired(run(h, until="+5d"), P) == []


def test_inbound_case_update_is_not_an_answer():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").case_updated("K1", direction="inbound")
    [a] = fired(run(h, until="+5d"), P)
    check(a, time=h.t("+24h"))


def test_an_outbound_contact_answers_every_open_complaint():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").case_opened("K2", kind="complaint", severity="high")
    h.at("+23h").contact(direction="outbound", channel="phone")
    assert fired(run(h, until="+5d"), P) == []


def test_case_resolved_in_time_is_fine():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").case_resolved("K1")
    assert fired(run(h, until="+5d"), P) == []


def test_late_outbound_update_fires_at_d_and_resolves_at_once():
    h = History()
    h.case_opened("K1", kind="complaint", severity="high")
    h.at("+25h").case_updated("K1", direction="outbound")
    f, res = episode(run(h), P)
    check(f, time=h.t("+24h"), severity="critical")
    check(
        res,
        type="alert.resolved",
        time=h.t("+25h"),
        status="resolved",
        severity="critical",
        resolution="case_answered",
        phase="prospect",
        pattern=P,
    )


def test_late_outbound_contact_resolves():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+30h").contact(direction="outbound")
    f, res = episode(run(h), P)
    check(f, time=h.t("+24h"))
    check(res, time=h.t("+30h"))
    # the spec says an outbound contact "answers" a complaint; it does not name the word
    assert res["data"]["resolution"] in ("case_answered", "contact")


def test_late_case_resolved_resolves():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+3d").case_resolved("K1")
    f, res = episode(run(h), P)
    check(f, time=h.t("+24h"))
    check(res, time=h.t("+3d"), resolution="case_resolved")


def test_one_episode_per_case():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").case_opened("K2", kind="complaint")
    h.at("+2d").case_updated("K1", direction="outbound")
    r = run(h, until="+3d")
    k1, k2 = fired(r, P)
    check(k1, time=h.t("+24h"))
    check(k2, time=h.t("+25h"))
    assert k1["data"]["alert_id"] != k2["data"]["alert_id"]
    [res] = resolved(r, P)
    check(res, alert_id=k1["data"]["alert_id"], time=h.t("+2d"), resolution="case_answered")


def test_contact_before_the_complaint_does_not_answer_it():
    h = History()
    h.at("-1h").contact(direction="outbound")
    h.at("+0s").case_opened("K1", kind="complaint")
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+24h"))


def test_updates_of_other_or_unknown_cases_do_not_answer():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").case_opened("K2", kind="support")
    h.at("+2h").case_updated("K2", direction="outbound")
    h.at("+3h").case_updated("K9", direction="outbound")
    h.at("+4h").case_resolved("K9")
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+24h"))


def test_case_id_opened_again_after_resolution_is_a_new_case():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").case_resolved("K1")
    opened = h.at("+2d").case_opened("K1", kind="complaint")
    [a] = fired(run(h, until="+4d"), P)
    check(a, time=h.t("+3d"), trigger=opened)


def test_churn_resolves_the_open_episode():
    h = History()
    h.order()
    h.at("+1h").case_opened("K1", kind="complaint")
    h.clock("+2d")
    h.at("+3d").cancelled()
    f, res = episode(run(h, until="+5d"), P)
    check(f, time=h.t("+25h"), phase="new_customer")
    check(res, time=h.t("+3d"), resolution="churned", phase="churned")


def test_silent_while_lost():
    h = History()
    h.deal_lost()
    h.at("+1h").case_opened("K1", kind="complaint", severity="high")
    assert fired(run(h, until="+5d"), P) == []


def test_erasure_drops_the_deadline_and_emits_nothing():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1h").erased()
    assert run(h, until="+30d").alerts == []


def test_period_is_configurable():
    h = History()
    h.case_opened("K1", kind="complaint")
    [a] = fired(run(h, until="+2h", config={"patterns": {P: {"within": "1h"}}}), P)
    check(a, time=h.t("+1h"))


def test_switched_off():
    h = History()
    h.case_opened("K1", kind="complaint")
    assert fired(run(h, until="+5d", config={"patterns": {P: {"enabled": False}}}), P) == []
