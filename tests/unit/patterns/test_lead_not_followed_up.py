"""lead_not_followed_up (dp 1): a lead.created, or an inbound contact of a
prospect/negotiating customer, gets no outbound contact within 48 h."""

from tests.unit.history import History, check, episode, fired, resolved, run

P = "lead_not_followed_up"


def test_lead_without_outbound_contact_fires_at_the_deadline():
    h = History()
    lead = h.lead(owner="R-1")
    r = run(h, until="+3d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        source="touchpoint-sentinel",
        time=h.t("+48h"),
        pattern=P,
        danger_point=1,
        severity="warning",
        status="firing",
        phase="prospect",
        resolution=None,
        trigger=lead,
    )
    assert resolved(r, P) == []


def test_outbound_contact_at_exactly_48h_is_in_time():
    h = History()
    h.lead(owner="R-1")
    h.at("+48h").contact(direction="outbound", rep="R-1")
    r = run(h, until="+10d")
    assert fired(r, P) == []
    assert resolved(r, P) == []


def test_outbound_contact_one_second_late_fires_at_d_and_resolves_at_once():
    h = History()
    h.lead(owner="R-1")
    h.at("+48h1s").contact(direction="outbound", rep="R-1")
    r = run(h)
    f, res = episode(r, P)
    check(f, time=h.t("+48h"), status="firing", severity="warning")
    check(
        res,
        type="alert.resolved",
        time=h.t("+48h1s"),
        status="resolved",
        severity="warning",
        resolution="contact",
        phase="prospect",
        danger_point=1,
        pattern=P,
    )


def test_open_episode_resolved_by_next_outbound_contact():
    h = History()
    h.lead()
    h.at("+3d").contact(direction="inbound")
    h.at("+5d").marketing()
    h.at("+6d").contact(direction="outbound")
    r = run(h, until="+10d")
    f, res = episode(r, P)
    check(f, time=h.t("+48h"))
    check(res, time=h.t("+6d"), resolution="contact")


def test_inbound_contact_of_prospect_triggers():
    h = History()
    inbound = h.contact(direction="inbound", channel="email")
    r = run(h, until="+3d")
    [a] = fired(r, P)
    check(a, time=h.t("+48h"), phase="prospect", severity="warning", trigger=inbound)


def test_inbound_contact_of_negotiating_customer_triggers():
    h = History()
    h.offer()
    h.at("+1h").lead(owner="R-1")
    h.at("+1h").contact(direction="outbound")  # answers the lead
    inbound = h.at("+1d").contact(direction="inbound")
    r = run(h, until="+4d")
    [a] = fired(r, P)
    check(a, time=h.t("+3d"), phase="negotiating", trigger=inbound)


def test_inbound_contact_of_a_customer_with_orders_does_not_trigger():
    h = History()
    h.order(amount=500)
    h.at("+1h").contact(direction="outbound")
    h.at("+1d").contact(direction="inbound")
    r = run(h, until="+5d")
    assert fired(r, P) == []


def test_phase_of_an_inbound_contact_is_checked_at_the_trigger():
    h = History()
    inbound = h.contact(direction="inbound")
    h.at("+1d").order()  # not an answer
    [a] = fired(run(h, until="+3d"), P)
    check(a, time=h.t("+48h"), phase="new_customer", trigger=inbound)


def test_lead_created_triggers_in_any_phase_outside_lost_and_churned():
    h = History()
    h.order(amount=500)
    h.at("+1h").contact(direction="outbound")
    lead = h.at("+1d").lead(owner="R-2")
    r = run(h, until="+4d")
    [a] = fired(r, P)
    check(a, time=h.t("+3d"), phase="new_customer", trigger=lead)


def test_deadline_runs_from_the_earliest_unanswered_trigger():
    h = History()
    lead = h.lead()
    h.at("+1d").contact(direction="inbound")
    r = run(h, until="+5d")
    [a] = fired(r, P)
    check(a, time=h.t("+48h"), trigger=lead)


def test_inbound_contacts_and_marketing_do_not_answer():
    h = History()
    h.lead()
    h.at("+1h").contact(direction="inbound")
    h.at("+2h").marketing(channel="email")
    r = run(h, until="+3d")
    [a] = fired(r, P)
    check(a, time=h.t("+48h"))


def test_answered_trigger_then_new_trigger_opens_a_new_deadline():
    h = History()
    h.lead()
    h.at("+1d").contact(direction="outbound")
    inbound = h.at("+2d").contact(direction="inbound")
    r = run(h, until="+5d")
    [a] = fired(r, P)
    check(a, time=h.t("+4d"), trigger=inbound)


def test_one_episode_then_a_new_one_after_resolution():
    h = History()
    h.lead()
    h.at("+1d").contact(direction="inbound")  # same episode, earliest trigger rules
    h.at("+3d").contact(direction="outbound")  # resolves
    h.at("+4d").contact(direction="inbound")  # new trigger
    r = run(h, until="+7d")
    first, second = fired(r, P)
    check(first, time=h.t("+48h"))
    check(second, time=h.t("+6d"))
    [res] = resolved(r, P)
    check(res, time=h.t("+3d"), resolution="contact", alert_id=first["data"]["alert_id"])
    assert first["data"]["alert_id"] != second["data"]["alert_id"]


# --- watermark and until -------------------------------------------------


def test_event_four_minutes_after_deadline_does_not_fire_it_yet():
    # watermark = D - 1 min: the contact timed exactly at D still clears in time
    h = History()
    h.lead()
    h.clock("+48h4m")
    h.at("+48h").contact(direction="outbound")
    r = run(h)
    assert fired(r, P) == []
    assert resolved(r, P) == []


def test_end_of_replay_moves_watermark_to_last_event_time():
    h = History()
    h.lead()
    h.clock("+48h4m")
    r = run(h)
    [a] = fired(r, P)
    check(a, time=h.t("+48h"))


def test_event_six_minutes_after_deadline_fires_it_and_late_contact_resolves():
    h = History()
    h.lead()
    h.clock("+48h6m")  # watermark D + 1 min: fires
    h.at("+48h").contact(direction="outbound")  # late: cannot undo, resolves at max(t, D)
    r = run(h)
    f, res = episode(r, P)
    check(f, time=h.t("+48h"))
    check(res, time=h.t("+48h"), resolution="contact")


def test_late_contact_before_deadline_resolves_at_fired_time():
    h = History()
    h.lead()
    h.clock("+3d")
    h.at("+1d").contact(direction="outbound")  # older than the watermark, D already fired
    r = run(h)
    f, res = episode(r, P)
    check(f, time=h.t("+48h"))
    check(res, time=h.t("+48h"), resolution="contact")


def test_late_trigger_whose_deadline_is_behind_the_watermark_fires_at_once():
    h = History()
    h.clock("+5d")
    lead = h.at("+0s").lead()
    h.clock("+5d1m")
    r = run(h)
    [a] = fired(r, P)
    check(a, time=h.t("+48h"), trigger=lead)


def test_without_until_replay_does_not_fire_future_deadlines():
    h = History()
    h.lead()
    assert fired(run(h), P) == []
    assert fired(run(h, until="+47h59m"), P) == []


def test_until_fires_deadlines_at_the_end():
    h = History()
    h.lead()
    [a] = fired(run(h, until="+48h"), P)
    check(a, time=h.t("+48h"))
    [b] = fired(run(h, until="+30d"), P)
    check(b, time=h.t("+48h"))
    assert a["data"]["alert_id"] == b["data"]["alert_id"]


def test_until_before_last_event_is_ignored():
    h = History()
    h.lead()
    h.clock("+3d")
    [a] = fired(run(h, until="+1d"), P)
    check(a, time=h.t("+48h"))


# --- lost, churned, erased -------------------------------------------------


def test_deal_lost_drops_the_pending_deadline():
    h = History()
    h.lead()
    h.at("+1d").deal_lost()
    r = run(h, until="+10d")
    assert fired(r, P) == []


def test_silent_while_lost_for_inbound_contacts():
    h = History()
    h.offer()
    h.at("+1h").contact(direction="outbound")
    h.at("+2h").deal_lost()
    h.at("+1d").contact(direction="inbound")
    r = run(h, until="+10d")
    assert fired(r, P) == []


def test_lead_created_brings_a_lost_prospect_back():
    h = History()
    h.offer()
    h.at("+1h").contact(direction="outbound")
    h.at("+2h").deal_lost()
    lead = h.at("+1d").lead()
    r = run(h, until="+10d")
    [a] = fired(r, P)
    check(a, time=h.t("+3d"), phase="prospect", trigger=lead)


def test_silent_while_churned_lead_does_not_bring_churned_back():
    h = History()
    h.cancelled()
    h.at("+1d").lead()
    h.at("+2d").contact(direction="inbound")
    r = run(h, until="+10d")
    assert fired(r, P) == []


def test_deal_lost_resolves_open_episode_with_lost():
    h = History()
    h.lead()
    h.clock("+3d")
    h.at("+4d").deal_lost()
    r = run(h, until="+10d")
    f, res = episode(r, P)
    check(f, time=h.t("+48h"))
    check(res, time=h.t("+4d"), resolution="lost", phase="lost", severity="warning")


def test_erasure_drops_the_deadline():
    h = History()
    h.lead()
    h.at("+1d").erased()
    r = run(h, until="+10d")
    assert r.alerts == []


def test_erasure_emits_no_resolution_and_later_contact_resolves_nothing():
    h = History()
    h.lead()
    h.clock("+3d")
    h.at("+4d").erased()
    h.at("+5d").contact(direction="outbound")
    r = run(h, until="+10d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_after_erasure_a_new_history_starts():
    h = History()
    h.lead()
    h.at("+1h").erased()
    lead = h.at("+2h").lead()
    r = run(h, until="+10d")
    [a] = fired(r, P)
    check(a, time=h.t("+50h"), trigger=lead)


# --- config ------------------------------------------------------------------


def test_threshold_is_configurable():
    cfg = {"patterns": {P: {"within": "24h"}}}
    h = History()
    h.lead()
    [a] = fired(run(h, until="+3d", config=cfg), P)
    check(a, time=h.t("+24h"))
    h.at("+24h").contact(direction="outbound")
    assert fired(run(h, until="+3d", config=cfg), P) == []


def test_switched_off():
    h = History()
    h.lead()
    h.at("+1d").contact(direction="inbound")
    r = run(h, until="+10d", config={"patterns": {P: {"enabled": False}}})
    assert fired(r, P) == []
    assert resolved(r, P) == []
