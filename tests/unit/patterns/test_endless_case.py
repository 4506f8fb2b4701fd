"""endless_case (dp 11): a complaint or claim still open 21 days after case.opened,
or its 7th case.updated while open; one episode per case; warning, critical if
severity high; clears on case.resolved of that case."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "endless_case"


def test_complaint_open_for_21_days_fires():
    h = History()
    opened = h.case_opened("K1", kind="complaint", severity="medium")
    r = run(h, until="+22d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+21d"),
        pattern=P,
        danger_point=11,
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
        h.case_opened("K1", kind="claim", severity=severity)
        [a] = fired(run(h, until="+22d"), P)
        check(a, time=h.t("+21d"), severity=expected)


def test_support_cases_never_fire():
    h = History()
    h.case_opened("K1", kind="support", severity="high")
    for i in range(8):
        h.at(f"+{i + 1}h").case_updated("K1", direction="inbound")
    assert fired(run(h, until="+60d"), P) == []


def test_resolved_at_exactly_21_days_is_in_time():
    h = History()
    h.case_opened("K1", kind="claim")
    h.at("+21d").case_resolved("K1")
    assert fired(run(h, until="+60d"), P) == []


def test_resolved_one_second_late_fires_at_d_and_resolves_at_once():
    h = History()
    h.case_opened("K1", kind="claim", severity="high")
    h.at("+21d1s").case_resolved("K1")
    f, res = episode(run(h), P)
    check(f, time=h.t("+21d"), severity="critical")
    check(
        res,
        type="alert.resolved",
        time=h.t("+21d1s"),
        status="resolved",
        severity="critical",
        resolution="case_resolved",
        pattern=P,
    )


def test_seventh_update_while_open_fires():
    h = History()
    h.case_opened("K1", kind="complaint")
    ids = [h.at(f"+{i + 1}h").case_updated("K1", direction=("inbound", "outbound")[i % 2]) for i in range(7)]
    r = run(h, until="+30d")
    [a] = fired(r, P)  # one episode per case: no second alert at 21 days
    check(a, time=h.t("+7h"), severity="warning", trigger=ids[6])


def test_six_updates_are_fine():
    h = History()
    h.case_opened("K1", kind="complaint")
    for i in range(6):
        h.at(f"+{i + 1}h").case_updated("K1", direction="outbound")
    assert fired(run(h, until="+20d"), P) == []


def test_case_resolved_clears_the_update_episode():
    h = History()
    h.case_opened("K1", kind="complaint")
    for i in range(7):
        h.at(f"+{i + 1}h").case_updated("K1")
    h.at("+2d").case_resolved("K1", outcome="refund")
    f, res = episode(run(h, until="+30d"), P)
    check(f, time=h.t("+7h"))
    check(res, time=h.t("+2d"), resolution="case_resolved")


def test_one_episode_per_case():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1d").case_opened("K2", kind="claim", severity="high")
    h.at("+23d").case_resolved("K1")
    r = run(h, until="+30d")
    k1, k2 = fired(r, P)
    check(k1, time=h.t("+21d"), severity="warning")
    check(k2, time=h.t("+22d"), severity="critical")
    assert k1["data"]["alert_id"] != k2["data"]["alert_id"]
    [res] = resolved(r, P)
    check(res, alert_id=k1["data"]["alert_id"], time=h.t("+23d"))


def test_case_id_opened_again_after_resolution_is_a_new_case():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1d").case_resolved("K1")
    h.at("+2d").case_opened("K1", kind="complaint")
    [a] = fired(run(h, until="+30d"), P)
    check(a, time=h.t("+23d"))


def test_updates_for_unknown_or_closed_cases_are_ignored():
    h = History()
    for i in range(7):
        h.at(f"+{i + 1}h").case_updated("K9")
    h.at("+8h").case_resolved("K9")
    h.at("+1d").case_opened("K1", kind="complaint")
    h.at("+1d1h").case_resolved("K1")
    for i in range(7):
        h.at(f"+2d{i + 1}h").case_updated("K1")
    assert fired(run(h, until="+60d"), P) == []


def test_churn_resolves_the_open_episode():
    h = History()
    h.order()
    h.at("+1d").case_opened("K1", kind="complaint")
    h.clock("+23d")
    h.at("+24d").cancelled()
    f, res = episode(run(h, until="+30d"), P)
    check(f, time=h.t("+22d"), phase="new_customer")
    check(res, time=h.t("+24d"), resolution="churned", phase="churned")


def test_silent_while_churned():
    h = History()
    h.order()
    h.at("+1h").cancelled()
    h.at("+1d").case_opened("K1", kind="complaint", severity="high")
    for i in range(7):
        h.at(f"+1d{i + 1}h").case_updated("K1")
    assert fired(run(h, until="+60d"), P) == []


def test_erasure_forgets_open_cases():
    h = History()
    h.case_opened("K1", kind="complaint")
    h.at("+1d").erased()
    for i in range(7):
        h.at(f"+1d{i + 1}h").case_updated("K1")
    assert fired(run(h, until="+60d"), P) == []


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"open_for": "7d", "max_updates": 3}}}
    h = History()
    h.case_opened("K1", kind="complaint")
    [a] = fired(run(h, until="+8d", config=cfg), P)
    check(a, time=h.t("+7d"))
    h2 = History()
    h2.case_opened("K1", kind="complaint")
    ids = [h2.at(f"+{i + 1}h").case_updated("K1") for i in range(3)]
    [b] = fired(run(h2, until="+1d", config=cfg), P)
    check(b, time=h2.t("+3h"), trigger=ids[2])


def test_switched_off():
    h = History()
    h.case_opened("K1", kind="complaint", severity="high")
    assert fired(run(h, until="+60d", config={"patterns": {P: {"enabled": False}}}), P) == []
