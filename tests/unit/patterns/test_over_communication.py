"""over_communication (dp 4): more than 5 communications in any rolling 7 days,
fires at the 6th; clears at the first moment T at which (T-7d, T] holds <= 5."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "over_communication"


def communicate(h: History, *offsets: str) -> list[str]:
    """Alternate marketing sends and outbound contacts: both are communications."""
    ids = []
    for i, when in enumerate(offsets):
        h.at(when)
        ids.append(h.marketing() if i % 2 == 0 else h.contact(direction="outbound"))
    return ids


HOURLY = ("+0s", "+1h", "+2h", "+3h", "+4h", "+5h")


def test_sixth_communication_within_7_days_fires():
    h = History()
    ids = communicate(h, "+0s", "+1d", "+2d", "+3d", "+4d", "+5d")
    r = run(h, until="+6d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+5d"),
        pattern=P,
        danger_point=4,
        severity="warning",
        status="firing",
        phase="prospect",
        resolution=None,
        trigger=ids[5],
    )


def test_five_communications_in_7_days_are_fine():
    h = History()
    communicate(h, "+0s", "+1h", "+2h", "+3h", "+4h")
    assert fired(run(h, until="+30d"), P) == []


def test_window_excludes_its_start():
    # (t6 - 7d, t6] does not contain a communication exactly 7 days earlier
    h = History()
    communicate(h, "+0s", "+1d", "+2d", "+3d", "+4d", "+7d")
    assert fired(run(h, until="+30d"), P) == []


def test_six_within_7_days_less_one_second_fires():
    h = History()
    communicate(h, "+0s", "+1d", "+2d", "+3d", "+4d", "+6d23h59m59s")
    [a] = fired(run(h, until="+7d"), P)
    check(a, time=h.t("+6d23h59m59s"))


def test_inbound_contacts_are_not_communications():
    h = History()
    communicate(h, "+0s", "+1h", "+2h", "+3h", "+4h")
    h.at("+5h").contact(direction="inbound")
    h.at("+6h").contact(direction="inbound")
    assert fired(run(h, until="+1d"), P) == []


def test_resolves_when_the_window_holds_five_again():
    h = History()
    communicate(h, *HOURLY)
    r = run(h, until="+8d")
    f, res = episode(r, P)
    check(f, time=h.t("+5h"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+7d"),
        status="resolved",
        severity="warning",
        resolution="window_cleared",
        pattern=P,
    )


def test_resolution_waits_for_the_window_to_drain():
    h = History()
    communicate(h, *HOURLY, "+6h")
    assert resolved(run(h, until="+7d59m59s"), P) == []
    r = run(h, until="+8d")
    f, res = episode(r, P)
    check(f, time=h.t("+5h"))
    check(res, time=h.t("+7d1h"), resolution="window_cleared")


def test_later_communication_postpones_the_resolution():
    h = History()
    communicate(h, *HOURLY)
    h.at("+6d").marketing()
    r = run(h, until="+9d")
    _f, res = episode(r, P)
    check(res, time=h.t("+7d1h"))


def test_no_resolution_before_the_clock_gets_there():
    h = History()
    communicate(h, *HOURLY)
    r = run(h)
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_one_episode_while_over_then_a_new_one():
    h = History()
    communicate(h, *HOURLY, "+6h", "+7h", "+8h")
    communicate(h, "+10d", "+10d1h", "+10d2h", "+10d3h", "+10d4h", "+10d5h")
    r = run(h, until="+12d")
    first, second = fired(r, P)
    check(first, time=h.t("+5h"))
    check(second, time=h.t("+10d5h"))
    [res] = resolved(r, P)
    check(res, alert_id=first["data"]["alert_id"], time=h.t("+7d3h"))
    assert first["data"]["alert_id"] != second["data"]["alert_id"]


def test_churn_resolves_the_open_episode():
    h = History()
    communicate(h, *HOURLY)
    h.at("+1d").cancelled()
    r = run(h, until="+30d")
    _f, res = episode(r, P)
    check(res, time=h.t("+1d"), resolution="churned", phase="churned")


def test_silent_while_lost():
    h = History()
    h.deal_lost()
    communicate(h, "+1h", "+2h", "+3h", "+4h", "+5h", "+6h")
    assert fired(run(h, until="+30d"), P) == []


def test_communications_while_churned_still_count_after_the_return():
    h = History()
    h.order()
    h.at("+1m").cancelled()
    communicate(h, "+1h", "+2h", "+3h", "+4h", "+5h")
    h.at("+6h").order()  # back, established
    last = h.at("+7h").marketing()
    [a] = fired(run(h, until="+1d"), P)
    check(a, time=h.t("+7h"), phase="established", trigger=last)


def test_erasure_forgets_the_communications():
    h = History()
    communicate(h, "+0s", "+1h", "+2h", "+3h", "+4h")
    h.at("+5h").erased()
    communicate(h, "+6h")
    assert fired(run(h, until="+30d"), P) == []


def test_erasure_of_an_open_episode_emits_no_resolution():
    h = History()
    communicate(h, *HOURLY)
    h.at("+1d").erased()
    r = run(h, until="+30d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_thresholds_are_configurable():
    cfg = {"patterns": {P: {"max_communications": 2, "window": "1d"}}}
    h = History()
    ids = communicate(h, "+0s", "+1h", "+2h")
    [a] = fired(run(h, until="+1h", config=cfg), P)
    check(a, time=h.t("+2h"), trigger=ids[2])
    spread = History()
    communicate(spread, "+0s", "+1d", "+2d", "+3d")
    assert fired(run(spread, until="+5d", config=cfg), P) == []


def test_switched_off():
    h = History()
    communicate(h, *HOURLY)
    r = run(h, until="+30d", config={"patterns": {P: {"enabled": False}}})
    assert fired(r, P) == []
    assert resolved(r, P) == []
