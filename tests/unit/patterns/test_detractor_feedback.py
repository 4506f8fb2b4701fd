"""detractor_feedback (seed 003, no danger point): a score <= 6 (critical if <= 3),
or a drop of >= 3 points from the previous (last received) score; clears on a
later score >= 7 that is not such a drop."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "detractor_feedback"


def scores(*values: int) -> tuple[History, list[str]]:
    h = History()
    ids = [h.at(f"+{i}d").feedback(v) for i, v in enumerate(values)]
    return h, ids


def test_score_of_6_is_a_warning():
    h, ids = scores(6)
    r = run(h, until="+1d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+0s"),
        pattern=P,
        danger_point=None,
        severity="warning",
        status="firing",
        phase="prospect",
        resolution=None,
        trigger=ids[0],
    )
    assert resolved(r, P) == []


def test_score_of_7_is_fine():
    h, _ = scores(7, 9, 10)
    assert fired(run(h, until="+5d"), P) == []


def test_severity_by_score():
    for score, expected in ((4, "warning"), (3, "critical"), (0, "critical")):
        h, _ = scores(score)
        [a] = fired(run(h, until="+1d"), P)
        check(a, severity=expected)


def test_drop_of_3_points_is_a_warning():
    h, ids = scores(10, 7)
    [a] = fired(run(h, until="+2d"), P)
    check(a, time=h.t("+1d"), severity="warning", trigger=ids[1])


def test_drop_of_2_points_is_fine():
    h, _ = scores(10, 8)
    assert fired(run(h, until="+2d"), P) == []


def test_drop_to_3_or_less_is_critical():
    h, _ = scores(9, 3)
    [a] = fired(run(h, until="+2d"), P)
    check(a, severity="critical", time=h.t("+1d"))


def test_previous_is_the_last_score_received():
    h, _ = scores(10, 8, 7)
    assert fired(run(h, until="+3d"), P) == []


def test_recovery_resolves_with_the_fired_severity():
    h, _ids = scores(5, 8)
    f, res = episode(run(h, until="+2d"), P)
    check(f, severity="warning", time=h.t("+0s"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+1d"),
        status="resolved",
        severity="warning",
        resolution="feedback_improved",
        phase="prospect",
        pattern=P,
    )
    h, _ = scores(2, 9)
    f, res = episode(run(h, until="+2d"), P)
    check(res, severity="critical", resolution="feedback_improved")


def test_a_score_of_6_does_not_resolve_nor_open_a_second_episode():
    h, _ = scores(2, 6, 1)
    r = run(h, until="+3d")
    [a] = fired(r, P)
    check(a, severity="critical", time=h.t("+0s"))
    assert resolved(r, P) == []


def test_new_episode_after_recovery():
    h, _ = scores(5, 9, 4)
    r = run(h, until="+3d")
    first, second = fired(r, P)
    check(first, time=h.t("+0s"))
    check(second, time=h.t("+2d"))
    assert first["data"]["alert_id"] != second["data"]["alert_id"]
    [res] = resolved(r, P)
    check(res, alert_id=first["data"]["alert_id"], time=h.t("+1d"))


def test_churn_resolves_the_open_episode():
    h, _ = scores(2)
    h.at("+1d").cancelled()
    _f, res = episode(run(h, until="+2d"), P)
    check(res, time=h.t("+1d"), resolution="churned", phase="churned", severity="critical")


def test_silent_while_lost_or_churned():
    h = History()
    h.deal_lost()
    h.at("+1d").feedback(1)
    assert fired(run(h, until="+2d"), P) == []
    h = History()
    h.order()
    h.at("+1d").cancelled()
    h.at("+2d").feedback(0)
    assert fired(run(h, until="+3d"), P) == []


def test_erasure_forgets_the_previous_score_and_emits_nothing():
    h, _ = scores(10)
    h.at("+1d").erased()
    h.at("+2d").feedback(7)
    assert run(h, until="+3d").alerts == []
    h, _ = scores(2)
    h.at("+1d").erased()
    h.at("+2d").feedback(9)
    r = run(h, until="+3d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"detractor_max": 4, "critical_max": 1, "drop": 2, "recovered_min": 9}}}
    h, _ = scores(5)
    assert fired(run(h, until="+1d", config=cfg), P) == []
    h, _ = scores(10, 8)
    [a] = fired(run(h, until="+2d", config=cfg), P)
    check(a, severity="warning", time=h.t("+1d"))
    h, _ = scores(1)
    [a] = fired(run(h, until="+1d", config=cfg), P)
    check(a, severity="critical")
    h, _ = scores(4, 8, 9)
    r = run(h, until="+3d", config=cfg)
    _f, res = episode(r, P)
    check(res, time=h.t("+2d"))


def test_switched_off():
    h, _ = scores(0)
    assert fired(run(h, until="+1d", config={"patterns": {P: {"enabled": False}}}), P) == []
