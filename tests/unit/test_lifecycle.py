"""Shared rules: phases, lost/churned, erasure, duplicates, rejected lines, the
watermark and the alert envelope."""

from tests.unit.history import History, check, episode, fired, resolved, run

HIDDEN_FEE = [{"name": "handling", "amount": 5, "disclosed": False}]


def probe(h: History, when: str) -> str:
    """An invoice with an undisclosed fee: a hidden_costs notice at once, showing the phase."""
    return h.at(when).invoice(amount=10, fees=HIDDEN_FEE)


def phases(r) -> list[tuple[str, str]]:
    return [(a["time"], a["data"]["phase"]) for a in fired(r, "hidden_costs")]


# --- phases ------------------------------------------------------------------


def test_prospect_negotiating_new_customer_established():
    h = History()
    probe(h, "+0s")
    h.at("+1d").offer()
    probe(h, "+1d")
    h.at("+2d").order()
    probe(h, "+2d")
    probe(h, "+91d")
    probe(h, "+93d")
    assert phases(run(h, until="+100d")) == [
        (h.t("+0s"), "prospect"),
        (h.t("+1d"), "negotiating"),
        (h.t("+2d"), "new_customer"),
        (h.t("+91d"), "new_customer"),
        (h.t("+93d"), "established"),
    ]


def test_open_offer_after_an_order_keeps_the_phase():
    h = History()
    h.order()
    h.at("+1d").offer()
    probe(h, "+2d")
    h.at("+3d").deal_lost()  # after an order: closes the offer, not lost
    probe(h, "+4d")
    assert phases(run(h, until="+5d")) == [(h.t("+2d"), "new_customer"), (h.t("+4d"), "new_customer")]


def test_deal_lost_before_any_order_is_lost_and_lead_or_offer_bring_back():
    h = History()
    h.offer()
    h.at("+1d").deal_lost()
    probe(h, "+1d1h")  # lost: nothing fires
    h.at("+2d").lead(owner="R-1")
    probe(h, "+2d1h")
    h.at("+3d").deal_lost()
    h.at("+4d").offer()
    probe(h, "+4d1h")
    assert phases(run(h, until="+5d")) == [(h.t("+2d1h"), "prospect"), (h.t("+4d1h"), "negotiating")]


def test_order_brings_a_lost_prospect_back_as_established():
    h = History()
    h.offer()
    h.at("+1d").deal_lost()
    h.at("+2d").order()
    probe(h, "+3d")
    assert phases(run(h, until="+5d")) == [(h.t("+3d"), "established")]


def test_contract_cancelled_churns_in_any_phase_and_only_an_order_brings_back():
    h = History()
    h.lead(owner="R-1")
    h.at("+1h").cancelled()
    probe(h, "+2h")
    h.at("+1d").lead(owner="R-1")
    h.at("+2d").offer()
    probe(h, "+2d1h")
    h.at("+3d").order()
    probe(h, "+3d1h")
    assert phases(run(h, until="+5d")) == [(h.t("+3d1h"), "established")]


def test_churned_customer_returning_is_established_and_clocks_restart():
    h = History()
    h.order()
    h.at("+1d").contact(direction="outbound")
    h.at("+10d").cancelled()
    h.at("+100d").order()
    probe(h, "+101d")
    r = run(h, until="+200d")
    assert phases(r) == [(h.t("+101d"), "established")]
    [a] = fired(r, "missing_appreciation")
    check(a, time=h.t("+190d"), phase="established")
    assert fired(r, "post_sale_abandonment") == []


def test_new_customer_period_is_configurable():
    h = History()
    h.order()
    probe(h, "+29d")
    probe(h, "+31d")
    r = run(h, until="+32d", config={"engine": {"new_customer_period": "30d"}})
    assert phases(r) == [(h.t("+29d"), "new_customer"), (h.t("+31d"), "established")]


# --- lost and churned ----------------------------------------------------------


def test_churn_resolves_every_open_episode():
    h = History()
    h.order()
    h.at("+1h").contact(direction="outbound")
    h.at("+2h").feedback(2)
    h.at("+3h").case_opened("K1", kind="complaint", severity="high")
    h.clock("+2d")
    h.at("+3d").cancelled()
    r = run(h, until="+400d")
    for pattern, severity in (("detractor_feedback", "critical"), ("complaint_unanswered", "critical")):
        _f, res = episode(r, pattern)
        check(res, time=h.t("+3d"), resolution="churned", phase="churned", severity=severity)
    assert len(fired(r)) == 2  # deadlines after the churn are dropped


def test_lost_resolves_every_open_episode():
    h = History()
    h.offer()
    h.at("+1h").competitor()
    h.at("+2h").feedback(5)
    h.at("+1d").deal_lost()
    r = run(h, until="+400d")
    for pattern in ("competitor_in_negotiation", "detractor_feedback"):
        _f, res = episode(r, pattern)
        check(res, time=h.t("+1d"), resolution="lost", phase="lost")
    assert len(fired(r)) == 2


def test_pending_deadlines_are_dropped_on_churn():
    h = History()
    h.order(amount=20000)
    h.at("+1h").case_opened("K1", kind="claim")
    h.at("+1d").cancelled()
    r = run(h, until="+800d")
    assert r.alerts == []


def test_closing_event_after_a_deadline_does_not_drop_it():
    # "A deadline D is cleared only by an event timed <= D": a deal.lost timed after D
    # finds the deadline due, so it fires at D and is resolved as lost.
    h = History()
    lead = h.lead()
    h.at("+3d").deal_lost()
    f, res = episode(run(h, until="+10d"), "lead_not_followed_up")
    check(f, time=h.t("+48h"), trigger=lead)
    check(res, time=h.t("+3d"), resolution="lost", phase="lost")


def test_cancellation_after_a_deadline_does_not_drop_it():
    h = History()
    order = h.order(amount=20000)
    h.at("+4d").cancelled()
    f, res = episode(run(h, until="+10d"), "post_purchase_dissonance")
    check(f, time=h.t("+72h"), trigger=order)
    check(res, time=h.t("+4d"), resolution="churned", phase="churned")


def test_triggers_seen_while_lost_never_fire_later():
    h = History()
    h.deal_lost()
    h.at("+1h").case_opened("K1", kind="complaint", severity="high")
    h.at("+2h").order(amount=20000)  # back, established; K1 was seen while lost
    r = run(h, until="+30d")
    assert fired(r, "complaint_unanswered") == []
    assert fired(r, "endless_case") == []


def test_state_still_updates_while_churned():
    h = History()
    h.order()
    h.at("+1h").cancelled()
    h.at("+2h").preference(opted_out=["sms"])
    h.at("+3h").order()  # back
    send = h.at("+4h").marketing(channel="sms")
    [a] = fired(run(h, until="+5h"), "wrong_channel")
    check(a, severity="critical", trigger=send, phase="established")


def test_late_events_still_update_state():
    h = History()
    h.clock("+10d")
    h.at("+1d").preference(opted_out=["sms"])  # older than the watermark
    send = h.at("+11d").marketing(channel="sms")
    [a] = fired(run(h, until="+12d"), "wrong_channel")
    check(a, time=h.t("+11d"), severity="critical", trigger=send)


# --- erasure -------------------------------------------------------------------------


def test_erasure_emits_nothing_not_even_resolutions():
    h = History()
    h.order(amount=20000)
    h.at("+1h").contact(direction="outbound")
    h.at("+2h").feedback(1)
    h.at("+3h").case_opened("K1", kind="complaint")
    h.at("+1d").erased()
    h.at("+2d").feedback(10)
    r = run(h, until="+800d")
    [a] = fired(r)
    check(a, pattern="detractor_feedback", time=h.t("+2h"))
    assert resolved(r) == []


def test_erasure_forgets_everything():
    h = History()
    h.order()
    h.at("+1d").offer()
    h.at("+2d").erased()
    probe(h, "+3d")
    h.at("+4d").competitor()
    r = run(h, until="+5d")
    assert phases(r) == [(h.t("+3d"), "prospect")]
    assert fired(r, "competitor_in_negotiation") == []


def test_same_event_ids_after_erasure_are_not_duplicates():
    h = History()
    h.feedback(2, id="F-1")
    h.at("+1h").erased(id="X-1")
    h.at("+2h").feedback(2, id="F-1")
    r = run(h, until="+1d")
    assert r.duplicates == 0
    first, second = fired(r, "detractor_feedback")
    check(first, time=h.t("+0s"))
    check(second, time=h.t("+2h"))


def test_erasure_of_one_customer_leaves_others_alone():
    h = History()
    h.feedback(2)
    h.customer("C-2").feedback(2)
    h.at("+1h").erased()
    h.customer("C-1").at("+2h").feedback(9)
    r = run(h, until="+1d")
    episode(r, "detractor_feedback", "C-1")
    assert len(fired(r, "detractor_feedback", "C-2")) == 1


# --- duplicates and rejected lines ---------------------------------------------------


def test_exact_duplicates_are_ignored_and_counted():
    h = History()
    h.invoice(amount=10, fees=HIDDEN_FEE, id="I-1")
    h.at("+1h").invoice(amount=10, fees=HIDDEN_FEE, id="I-1")
    h.at("+2h").invoice(amount=10, fees=HIDDEN_FEE, id="I-1", source="billing")
    r = run(h, until="+1d")
    assert r.duplicates == 1
    assert [a["time"] for a in fired(r, "hidden_costs")] == [h.t("+0s"), h.t("+2h")]


def test_duplicate_among_the_last_32_events_is_recognised():
    h = History()
    h.marketing(id="M-1")
    for i in range(30):
        h.at(f"+{i + 1}m").engaged()
    h.at("+1h").marketing(id="M-1")
    r = run(h, until="+1d")
    assert r.duplicates == 1


def test_same_id_for_different_customers_is_not_a_duplicate():
    h = History()
    h.feedback(2, id="F-1")
    h.customer("C-2").feedback(2, id="F-1")
    r = run(h, until="+1d")
    assert r.duplicates == 0
    assert len(fired(r, "detractor_feedback", None)) == 2


def test_rejected_lines_are_reported_and_the_replay_goes_on():
    h = History()
    h.lead(owner="R-1")  # 1
    h.raw(b"{not json")  # 2
    h.at("+1h").feedback(2)  # 3
    h.event("loyalty.awarded", {"points": 5})  # 4
    h.event("contact.made", {"channel": "phone"})  # 5: no direction
    h.feedback(11)  # 6: score out of range
    h.raw(
        {
            "specversion": "1.0",
            "id": "x",
            "source": "t",
            "type": "feedback.received",
            "time": "2026-03-01T10:00:00Z",
            "data": {"score": 1},
        }
    )  # 7: no subject
    h.raw(
        {
            "specversion": "1.0",
            "id": "y",
            "source": "t",
            "type": "feedback.received",
            "subject": "C-1",
            "time": "2026-03-01T10:00:00",
            "data": {"score": 1},
        }
    )  # 8
    h.customer("C-2").at("+2h").feedback(0)  # 9
    h.raw(b"42")  # 10
    h.customer("X" * 129).feedback(1)  # 11: subject too long
    h.customer("C-1").contact(direction="sideways")  # 12
    h.order(amount=-5)  # 13
    h.feedback(5.5)  # 14
    h.case_opened("K1", kind="question")  # 15
    h.event("contact.made", {"channel": "x", "direction": "inbound", "note": "y" * 70000})  # 16
    h.raw(
        {
            "specversion": "0.3",
            "id": "v",
            "source": "t",
            "type": "feedback.received",
            "subject": "C-1",
            "time": "2026-03-01T10:00:00Z",
            "data": {"score": 1},
        }
    )  # 17
    h.raw(
        {
            "specversion": "1.0",
            "id": "w",
            "source": "t",
            "type": "feedback.received",
            "subject": "C-1",
            "time": "2026-03-01T10:00:00Z",
        }
    )  # 18: no data
    h.event("contact.made", {"channel": "phone", "direction": "inbound", "mood": "ok"})  # 19
    r = run(h, until="+3d", rejected_ok=True)
    assert [(line, reason) for line, reason, _ in r.rejected] == [
        (2, "invalid_json"),
        (4, "unknown_type"),
        (5, "missing_field"),
        (6, "invalid_field"),
        (7, "missing_attribute"),
        (8, "invalid_attribute"),
        (10, "not_an_object"),
        (11, "invalid_attribute"),
        (12, "invalid_field"),
        (13, "invalid_field"),
        (14, "invalid_field"),
        (15, "invalid_field"),
        (16, "too_large"),
        (17, "invalid_attribute"),
        (18, "missing_attribute"),
    ]
    assert all(message for _, _, message in r.rejected)
    check(fired(r, "detractor_feedback")[0], time=h.t("+1h"), severity="critical")
    check(fired(r, "detractor_feedback", "C-2")[0], time=h.t("+2h"), severity="critical")
    [a] = fired(r, "lead_not_followed_up")
    check(a, time=h.t("+48h"))


# --- watermark --------------------------------------------------------------------


def test_watermark_is_shared_by_all_customers_of_the_replay():
    h = History()
    h.lead()
    h.customer("C-2").at("+48h6m").feedback(9)
    h.customer("C-1").at("+48h").contact(direction="outbound")
    f, res = episode(run(h), "lead_not_followed_up")
    check(f, time=h.t("+48h"))
    check(res, time=h.t("+48h"), resolution="contact")


def test_lateness_is_configurable():
    h = History()
    h.lead()
    h.clock("+48h6m")  # with 10 minutes lateness the watermark is still before D
    h.at("+48h").contact(direction="outbound")
    r = run(h, config={"engine": {"lateness": "10m"}})
    assert fired(r, "lead_not_followed_up") == []


def test_arrival_order_within_the_lateness_does_not_change_the_alerts():
    a = History()
    a.lead()
    a.at("+48h1m").contact(direction="outbound")
    a.clock("+48h2m")
    b = History()
    b.lead()
    b.clock("+48h2m")
    b.at("+48h1m").contact(direction="outbound")
    ra, rb = run(a, until="+5d"), run(b, until="+5d")
    fa, resa = episode(ra, "lead_not_followed_up")
    fb, resb = episode(rb, "lead_not_followed_up")
    check(fa, time=a.t("+48h"))
    check(resa, time=a.t("+48h1m"))
    assert [x["data"]["alert_id"] for x in (fa, resa)] == [x["data"]["alert_id"] for x in (fb, resb)]
    assert resb["time"] == resa["time"]


def test_arrival_order_within_the_lateness_does_not_change_a_closing_event():
    # deal.lost timed 1 minute after D, arriving before or after an event that moves the
    # watermark past D: once D has fired it cannot be undone, so both orders must give
    # "fired at D, resolved as lost at the deal.lost time".
    a = History()
    a.lead()
    a.at("+48h1m").deal_lost()
    a.clock("+48h6m")
    b = History()
    b.lead()
    b.clock("+48h6m")
    b.at("+48h1m").deal_lost()
    for h in (b, a):
        f, res = episode(run(h), "lead_not_followed_up")
        check(f, time=h.t("+48h"))
        check(res, time=h.t("+48h1m"), resolution="lost", phase="lost")


def test_a_trigger_after_the_deadline_survives_an_earlier_clearing_event_arriving_after_it():
    # The second lead (D + 1 min) arrives before the contact that answered the first one in
    # time (D - 1 min), both before the watermark reaches D: the contact cancels D, and the
    # second lead is a new trigger with its own deadline, as in event-time order.
    h = History()
    h.lead()
    second = h.at("+48h1m").lead()
    h.at("+47h59m").contact(direction="outbound")
    r = run(h, until="+10d")
    [alert] = fired(r, "lead_not_followed_up")
    check(alert, time=h.t("+96h1m"), trigger=second)
    assert resolved(r, "lead_not_followed_up") == []


def test_a_new_episode_after_a_deadline_fires_and_resolves_at_its_own_times_at_any_lag():
    # Between the deadline D and the watermark passing it: the contact answering D, a new lead,
    # 49 hours of silence and the contact answering that one. A lateness of 10 days keeps the
    # watermark behind all of it; the alerts are those of the default lateness.
    h = History()
    h.lead()
    h.at("+49h").contact(direction="outbound")
    second = h.at("+50h").lead()
    h.at("+5d").contact(direction="outbound")
    for config in (None, {"engine": {"lateness": "10d"}}):
        r = run(h, until="+20d", config=config)
        first_fired, second_fired = fired(r, "lead_not_followed_up")
        first_resolved, second_resolved = resolved(r, "lead_not_followed_up")
        check(first_fired, time=h.t("+48h"))
        check(first_resolved, time=h.t("+49h"), alert_id=first_fired["data"]["alert_id"])
        check(second_fired, time=h.t("+98h"), trigger=second)
        check(second_resolved, time=h.t("+5d"), alert_id=second_fired["data"]["alert_id"])


# --- times ---------------------------------------------------------------------------


def test_offsets_and_milliseconds_in_alert_times():
    h = History()
    h.raw(
        {
            "specversion": "1.0",
            "id": "z1",
            "source": "t",
            "type": "feedback.received",
            "subject": "C-1",
            "time": "2026-03-01T11:00:00+02:00",
            "data": {"score": 1},
        }
    )
    h.raw(
        {
            "specversion": "1.0",
            "id": "z2",
            "source": "t",
            "type": "case.opened",
            "subject": "C-1",
            "time": "2026-03-01T09:30:00.250Z",
            "data": {"case_id": "K1", "kind": "complaint"},
        }
    )
    r = run(h, until="+3d")
    [fb] = fired(r, "detractor_feedback")
    check(fb, time="2026-03-01T09:00:00Z")
    [cu] = fired(r, "complaint_unanswered")
    check(cu, time="2026-03-02T09:30:00.250Z")


# --- the alert envelope ------------------------------------------------------------


def test_alert_events_are_cloudevents_with_unique_ids():
    h = History()
    h.feedback(2)
    h.at("+1d").feedback(9)
    r = run(h, until="+2d")
    f, res = episode(r, "detractor_feedback")
    for alert in (f, res):
        assert alert["specversion"] == "1.0"
        assert alert["source"] == "touchpoint-sentinel"
        assert alert["subject"] == "C-1"
        assert alert.get("datacontenttype", "application/json") == "application/json"
        assert isinstance(alert["id"], str) and alert["id"]
    assert f["id"] != res["id"]
    check(f, status="firing", resolution=None)


def test_same_input_gives_the_same_alert_ids_and_they_differ_by_customer():
    h = History()
    h.lead()
    h.customer("C-2").lead()
    r1, r2 = run(h, until="+3d"), run(h, until="+3d")
    ids1 = [a["data"]["alert_id"] for a in r1.alerts]
    assert ids1 == [a["data"]["alert_id"] for a in r2.alerts]
    assert len(ids1) == 2
    assert ids1[0] != ids1[1]
