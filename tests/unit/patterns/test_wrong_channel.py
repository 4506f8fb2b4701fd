"""wrong_channel (dp 2), notice: a communication on an opted-out channel (critical)
or outside non-empty preferred channels (warning); at most one per (customer,
channel) per 7 days, counted from the last notice for that channel."""

from tests.unit.history import History, check, fired, resolved, run

P = "wrong_channel"


def test_marketing_on_opted_out_channel_is_a_critical_notice():
    h = History()
    h.preference(opted_out=["email"])
    send = h.at("+1h").marketing(channel="email")
    r = run(h, until="+30d")
    [a] = fired(r, P)
    check(
        a,
        type="alert.fired",
        subject="C-1",
        time=h.t("+1h"),
        pattern=P,
        danger_point=2,
        severity="critical",
        status="firing",
        phase="prospect",
        trigger=send,
    )
    assert resolved(r, P) == []


def test_outbound_contact_outside_preferred_channels_is_a_warning():
    h = History()
    h.preference(preferred=["phone"])
    call = h.at("+1h").contact(direction="outbound", channel="email")
    r = run(h, until="+1d")
    [a] = fired(r, P)
    check(a, time=h.t("+1h"), severity="warning", status="firing", trigger=call)


def test_communication_on_a_preferred_channel_is_fine():
    h = History()
    h.preference(preferred=["phone", "email"], opted_out=["sms"])
    h.at("+1h").contact(direction="outbound", channel="phone")
    h.at("+2h").marketing(channel="email")
    assert fired(run(h, until="+1d"), P) == []


def test_no_preferences_or_empty_preferred_list_is_fine():
    h = History()
    h.marketing(channel="sms")
    h.at("+1h").preference(preferred=[])
    h.at("+2h").marketing(channel="letter")
    h.at("+3h").contact(direction="outbound", channel="social")
    assert fired(run(h, until="+1d"), P) == []


def test_inbound_contact_is_not_a_communication():
    h = History()
    h.preference(preferred=["phone"], opted_out=["email"])
    h.at("+1h").contact(direction="inbound", channel="email")
    assert fired(run(h, until="+1d"), P) == []


def test_at_most_one_notice_per_channel_per_7_days():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").marketing(channel="email")
    h.at("+1d").contact(direction="outbound", channel="email")
    h.at("+7d59m59s").marketing(channel="email")
    second = h.at("+7d1h").marketing(channel="email")
    r = run(h, until="+10d")
    first, again = fired(r, P)
    check(first, time=h.t("+1h"), severity="critical")
    check(again, time=h.t("+7d1h"), severity="critical", trigger=second)
    assert first["data"]["alert_id"] != again["data"]["alert_id"]
    assert resolved(r, P) == []


def test_quiet_period_runs_from_last_notice_whatever_its_severity():
    h = History()
    h.preference(preferred=["phone"])
    h.at("+1h").marketing(channel="sms")  # warning
    h.at("+2h").preference(opted_out=["sms"])
    h.at("+1d").marketing(channel="sms")  # would be critical, but within 7 days
    h.at("+7d1h").marketing(channel="sms")
    r = run(h, until="+10d")
    first, second = fired(r, P)
    check(first, time=h.t("+1h"), severity="warning")
    check(second, time=h.t("+7d1h"), severity="critical")


def test_channels_are_independent():
    h = History()
    h.preference(opted_out=["email", "sms"])
    h.at("+1h").marketing(channel="email")
    h.at("+2h").marketing(channel="sms")
    r = run(h, until="+1d")
    assert [a["time"] for a in fired(r, P)] == [h.t("+1h"), h.t("+2h")]


def test_a_list_replaces_only_when_present():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").preference(preferred=["phone"])  # opted_out kept
    h.at("+2h").marketing(channel="email")
    [a] = fired(run(h, until="+1d"), P)
    check(a, severity="critical")


def test_an_empty_opt_out_list_replaces_the_stored_one():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").preference(opted_out=[])
    h.at("+2h").marketing(channel="email")
    assert fired(run(h, until="+1d"), P) == []


def test_notices_never_resolve_not_even_on_churn():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").marketing(channel="email")
    h.at("+2h").preference(opted_out=[])
    h.at("+3h").cancelled()
    r = run(h, until="+30d")
    assert len(fired(r, P)) == 1
    assert resolved(r, P) == []


def test_silent_while_lost_and_churned():
    lost = History()
    lost.preference(opted_out=["email"])
    lost.at("+1h").deal_lost()
    lost.at("+2h").marketing(channel="email")
    assert fired(run(lost, until="+1d"), P) == []
    churned = History()
    churned.preference(opted_out=["email"])
    churned.at("+1h").order()
    churned.at("+2h").cancelled()
    churned.at("+3h").contact(direction="outbound", channel="email")
    assert fired(run(churned, until="+1d"), P) == []


def test_erasure_forgets_preferences():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").erased()
    h.at("+2h").marketing(channel="email")
    assert run(h, until="+1d").alerts == []


def test_erasure_forgets_the_quiet_period():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").marketing(channel="email")
    h.at("+2h").erased()
    h.at("+3h").preference(opted_out=["email"])
    h.at("+4h").marketing(channel="email")
    r = run(h, until="+1d")
    assert [a["time"] for a in fired(r, P)] == [h.t("+1h"), h.t("+4h")]


def test_quiet_period_is_configurable():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").marketing(channel="email")
    h.at("+1d59m").marketing(channel="email")
    h.at("+1d1h").marketing(channel="email")
    r = run(h, until="+2d", config={"patterns": {P: {"quiet_period": "1d"}}})
    assert [a["time"] for a in fired(r, P)] == [h.t("+1h"), h.t("+1d1h")]


def test_switched_off():
    h = History()
    h.preference(opted_out=["email"])
    h.at("+1h").marketing(channel="email")
    r = run(h, until="+1d", config={"patterns": {P: {"enabled": False}}})
    assert fired(r, P) == []
