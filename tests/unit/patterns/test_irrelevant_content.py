"""irrelevant_content (dp 3): a marketing.sent whose topic is not among the
declared interests, or the 3rd consecutive send with no engagement; clears on
the next marketing.engaged."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "irrelevant_content"


def test_send_outside_declared_interests_fires():
    h = History()
    h.preference(interests=["pricing", "security"])
    send = h.at("+1h").marketing(topic="sports")
    r = run(h, until="+1d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+1h"),
        pattern=P,
        danger_point=3,
        severity="warning",
        status="firing",
        phase="prospect",
        resolution=None,
        trigger=send,
    )


def test_send_on_a_declared_interest_or_without_topic_is_fine():
    h = History()
    h.preference(interests=["pricing"])
    h.at("+1h").marketing(topic="pricing")
    h.at("+2h").marketing(topic=None)
    assert fired(run(h, until="+1d"), P) == []


def test_topic_rule_needs_declared_interests():
    h = History()
    h.marketing(topic="sports")
    h.at("+1h").preference(interests=[])
    h.at("+2h").marketing(topic="gardening")
    assert fired(run(h, until="+1d"), P) == []


def test_third_unengaged_send_in_a_row_fires():
    h = History()
    h.marketing()
    h.at("+1d").marketing()
    third = h.at("+2d").marketing()
    r = run(h, until="+3d")
    [a] = fired(r, P)
    check(a, time=h.t("+2d"), severity="warning", status="firing", trigger=third)


def test_two_unengaged_sends_are_fine():
    h = History()
    h.marketing()
    h.at("+1d").marketing()
    assert fired(run(h, until="+30d"), P) == []


def test_engagement_restarts_the_count():
    h = History()
    h.marketing()
    h.at("+1d").marketing()
    h.at("+2d").engaged()
    h.at("+3d").marketing()
    h.at("+4d").marketing()
    assert fired(run(h, until="+5d"), P) == []
    third = h.at("+5d").marketing()
    [a] = fired(run(h, until="+6d"), P)
    check(a, time=h.t("+5d"), trigger=third)


def test_outbound_contacts_are_not_sends():
    h = History()
    h.marketing()
    h.at("+1d").contact(direction="outbound", channel="email")
    h.at("+2d").contact(direction="outbound", channel="email")
    h.at("+3d").marketing()
    assert fired(run(h, until="+5d"), P) == []


def test_next_engagement_resolves():
    h = History()
    h.marketing()
    h.at("+1d").marketing()
    h.at("+2d").marketing()
    h.at("+4d").engaged()
    r = run(h, until="+5d")
    f, res = episode(r, P)
    check(f, time=h.t("+2d"))
    check(
        res,
        type="alert.resolved",
        time=h.t("+4d"),
        status="resolved",
        severity="warning",
        resolution="engaged",
        phase="prospect",
        pattern=P,
    )


def test_one_episode_for_both_rules():
    h = History()
    h.preference(interests=["pricing"])
    h.at("+1h").marketing(topic="sports")
    h.at("+2h").marketing(topic="cars")
    h.at("+3h").marketing(topic="pricing")
    h.at("+4h").marketing()
    h.at("+5h").marketing(topic="sports")
    r = run(h, until="+1d")
    [a] = fired(r, P)
    check(a, time=h.t("+1h"))
    assert resolved(r, P) == []


def test_new_episode_after_resolution():
    h = History()
    for when in ("+0s", "+1d", "+2d"):
        h.at(when).marketing()
    h.at("+3d").engaged()
    for when in ("+4d", "+5d", "+6d"):
        h.at(when).marketing()
    r = run(h, until="+7d")
    first, second = fired(r, P)
    check(first, time=h.t("+2d"))
    check(second, time=h.t("+6d"))
    assert first["data"]["alert_id"] != second["data"]["alert_id"]
    [res] = resolved(r, P)
    check(res, alert_id=first["data"]["alert_id"], resolution="engaged", time=h.t("+3d"))


def test_churn_resolves_the_open_episode():
    h = History()
    h.order()
    for when in ("+1d", "+2d", "+3d"):
        h.at(when).marketing()
    h.at("+4d").cancelled()
    r = run(h, until="+5d")
    _f, res = episode(r, P)
    check(res, time=h.t("+4d"), resolution="churned", phase="churned")


def test_silent_while_churned_or_lost():
    churned = History()
    churned.order()
    churned.at("+1h").cancelled()
    for when in ("+1d", "+2d", "+3d"):
        churned.at(when).marketing()
    assert fired(run(churned, until="+5d"), P) == []
    lost = History()
    lost.preference(interests=["pricing"])
    lost.at("+1h").deal_lost()
    lost.at("+2h").marketing(topic="sports")
    assert fired(run(lost, until="+5d"), P) == []


def test_sends_while_churned_still_count_after_the_return():
    # "While lost or churned, state still updates but nothing triggers"
    h = History()
    h.order()
    h.at("+1h").cancelled()
    for when in ("+1d", "+2d", "+3d"):
        h.at(when).marketing()
    h.at("+4d").order()  # back, established
    send = h.at("+5d").marketing()
    [a] = fired(run(h, until="+6d"), P)
    check(a, time=h.t("+5d"), phase="established", trigger=send)


def test_erasure_forgets_the_count_and_emits_nothing():
    h = History()
    h.marketing()
    h.at("+1d").marketing()
    h.at("+2d").erased()
    h.at("+3d").marketing()
    assert run(h, until="+5d").alerts == []


def test_erasure_of_an_open_episode_emits_no_resolution():
    h = History()
    for when in ("+0s", "+1d", "+2d"):
        h.at(when).marketing()
    h.at("+3d").erased()
    h.at("+4d").engaged()
    r = run(h, until="+5d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_count_is_configurable():
    h = History()
    h.marketing()
    second = h.at("+1d").marketing()
    [a] = fired(run(h, until="+2d", config={"patterns": {P: {"unengaged_sends": 2}}}), P)
    check(a, time=h.t("+1d"), trigger=second)


def test_switched_off():
    h = History()
    h.preference(interests=["pricing"])
    for when in ("+1h", "+2h", "+3h"):
        h.at(when).marketing(topic="sports")
    r = run(h, until="+1d", config={"patterns": {P: {"enabled": False}}})
    assert fired(r, P) == []
