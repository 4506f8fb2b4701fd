"""What `sentinel deliver alertmanager` posts for a round of alerts, and what it keeps open (no I/O)."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord

from schemas import codec
from schemas.alerts import Alert, ParsedAlert, parse_alert, render
from schemas.timestamps import MINUTE, SECOND, format_instant, parse_instant
from streams.delivery.alertmanager import HORIZON_INTERVALS, Mapper, Round, api_url, plan
from streams.settings import Settings

NOW = parse_instant("2026-11-30T12:00:00Z")
FIRED_AT = parse_instant("2024-03-01T09:00:00.250Z")
RESOLVED_AT = parse_instant("2024-03-04T10:00:00Z")
MAPPER = Mapper(4 * MINUTE, "http://sentinel.example:9108/customers/")


def alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "subject": "C-1001",
        "pattern": "post_sale_abandonment",
        "danger_point": 7,
        "time": FIRED_AT,
        "firing": True,
        "alert_id": "episode-1",
        "phase": "new_customer",
        "severity": "warning",
        "summary": "Nobody called after the sale.",
        "recommendation": "Call now.",
        "evidence": {"days_silent": 30},
        "trigger_event_ids": ["evt-1"],
        "resolution": None,
    }
    return Alert(**(values | changes))


def resolution(**changes: Any) -> Alert:
    return alert(
        **{"firing": False, "time": RESOLVED_AT, "resolution": "contact", "phase": "established"} | changes
    )


def record(value: Alert | bytes, offset: int = 0, partition: int = 2) -> ConsumerRecord:
    raw = render(value) if isinstance(value, Alert) else value
    return ConsumerRecord("alerts", partition, offset, NOW - SECOND, 0, b"C-1001", raw, None, 6, len(raw), ())


def nothing_held(partition: int, alert_id: str) -> ParsedAlert | None:
    return None


def planned(*records: ConsumerRecord, held: dict[str, Alert] | None = None, **options: bool) -> Round:
    def lookup(partition: int, alert_id: str) -> ParsedAlert | None:
        found = (held or {}).get(alert_id)
        return parse_alert(render(found)) if found is not None and partition == 2 else None

    return plan(records, lookup, MAPPER, NOW, **options)


def test_a_firing_is_posted_ending_a_horizon_ahead_and_kept_open() -> None:
    fired = alert()
    result = planned(record(fired))
    (post,) = result.posts
    assert post.kind == "fired"
    assert post.alert == {
        "labels": {
            "alertname": "post_sale_abandonment",
            "severity": "warning",
            "phase": "new_customer",
            "customer": "C-1001",
            "alert_id": "episode-1",
            "danger_point": "7",
        },
        "annotations": {
            "summary": "Nobody called after the sale.",
            "recommendation": "Call now.",
            "evidence": '{"days_silent":30}',
            "fired_at": "2024-03-01T09:00:00.250Z",
        },
        "startsAt": "2024-03-01T09:00:00.250Z",
        "endsAt": format_instant(NOW + 4 * MINUTE),
        "generatorURL": "http://sentinel.example:9108/customers/C-1001",
    }
    (change,) = result.changes()
    assert (change.partition, change.alert_id, change.value) == (2, "episode-1", render(fired))
    assert change.fired == parse_alert(render(fired))
    assert result.skipped == [] and result.invalid == []


def test_a_resolution_keeps_its_firings_labels_and_ends_at_its_event_time() -> None:
    result = planned(record(resolution()), held={"episode-1": alert()})
    (post,) = result.posts
    assert post.kind == "resolved"
    assert post.alert["labels"]["phase"] == "new_customer", "the firing's phase: the same Alertmanager alert"
    assert post.alert["startsAt"] == "2024-03-01T09:00:00.250Z"
    assert post.alert["endsAt"] == "2024-03-04T10:00:00Z"
    assert post.alert["annotations"] | {"evidence": ""} == {
        "summary": "Nobody called after the sale.",
        "recommendation": "Call now.",
        "evidence": "",
        "fired_at": "2024-03-01T09:00:00.250Z",
        "resolution": "contact",
        "resolved_at": "2024-03-04T10:00:00Z",
    }
    (change,) = result.changes()
    assert (change.alert_id, change.fired, change.value) == ("episode-1", None, None), "a tombstone"


def test_a_firing_and_its_resolution_in_one_round_are_posted_in_order_and_leave_nothing_open() -> None:
    result = planned(record(alert(), 0), record(resolution(), 1))
    assert [post.kind for post in result.posts] == ["fired", "resolved"]
    assert result.posts[0].alert["labels"] == result.posts[1].alert["labels"]
    assert [change.fired is None for change in result.changes()] == [False, True]


def test_a_resolution_of_an_episode_not_held_is_skipped() -> None:
    result = planned(record(resolution()))
    assert result.posts == [] and result.changes() == []
    assert result.skipped == ["unknown_episode"]
    other_partition = planned(record(resolution(), partition=1), held={"episode-1": alert()})
    assert other_partition.skipped == ["unknown_episode"], "episodes are held per partition"


def test_a_notice_is_posted_once_and_never_kept() -> None:
    notice = alert(pattern="wrong_channel", danger_point=2, alert_id="notice-1")
    result = planned(record(notice))
    (post,) = result.posts
    assert post.kind == "notice"
    assert post.alert["endsAt"] == format_instant(NOW + 4 * MINUTE)
    assert result.changes() == []


def test_a_pattern_without_danger_point_has_no_such_label() -> None:
    (post,) = planned(record(alert(pattern="silent_lane_change", danger_point=None))).posts
    assert "danger_point" not in post.alert["labels"]


def test_event_times_ahead_of_the_wall_clock_start_and_end_now_at_the_earliest() -> None:
    ahead = NOW + 3 * 24 * 60 * MINUTE
    fired, resolved = alert(time=ahead), resolution(time=ahead + MINUTE)
    result = planned(record(fired, 0), record(resolved, 1))
    firing, ending = (post.alert for post in result.posts)
    assert firing["startsAt"] == format_instant(NOW)
    assert firing["endsAt"] == format_instant(NOW + 4 * MINUTE)
    assert ending["startsAt"] == ending["endsAt"] == format_instant(NOW), "Alertmanager refuses ends < starts"


def test_held_out_customers_are_skipped_unless_included() -> None:
    event = codec.loads(render(alert()))
    event["data"]["holdout"] = True
    held_out = record(codec.dumps(event))
    skipped = planned(held_out)
    assert (skipped.posts, skipped.changes(), skipped.skipped) == ([], [], ["holdout"])
    included = planned(held_out, include_holdouts=True)
    assert [post.kind for post in included.posts] == ["fired"] and len(included.changes()) == 1


def test_bytes_that_are_no_alert_are_set_aside_with_the_reason() -> None:
    result = planned(record(b"{}"), record(alert(), 1))
    ((bad, error),) = result.invalid
    assert bad.offset == 0 and str(error) == "specversion: missing"
    assert [post.kind for post in result.posts] == ["fired"]


def test_the_customer_view_link_quotes_the_id_and_can_be_left_out() -> None:
    odd = alert(subject="C 1/ü")
    (post,) = planned(record(odd)).posts
    assert post.alert["generatorURL"] == "http://sentinel.example:9108/customers/C%201%2F%C3%BC"
    (unlinked,) = plan([record(odd)], nothing_held, Mapper(MINUTE, ""), NOW).posts
    assert "generatorURL" not in unlinked.alert


def test_the_horizon_is_four_resend_intervals_and_the_api_path_is_v2() -> None:
    mapper = Mapper.from_settings(Settings(resend_interval=90 * SECOND, customer_view_url=""))
    assert HORIZON_INTERVALS == 4 and mapper.horizon_ms == 360 * SECOND
    assert api_url("http://alertmanager:9093") == "http://alertmanager:9093/api/v2/alerts"
    assert api_url("https://ops.example/alertmanager/") == "https://ops.example/alertmanager/api/v2/alerts"


def test_a_refused_firing_opens_nothing_and_a_refused_resolution_still_closes() -> None:
    result = planned(record(alert(), 0), record(alert(alert_id="episode-2"), 1), record(resolution(), 2))
    assert [post.kind for post in result.posts] == ["fired", "fired", "resolved"]
    kept = result.changes(refused={0, 2})
    assert [(change.alert_id, change.fired is None) for change in kept] == [
        ("episode-2", False),
        ("episode-1", True),
    ]


def test_a_segment_and_a_holdout_become_labels_when_there() -> None:
    included = planned(record(alert(segment="key_account", holdout=True)), include_holdouts=True)
    (post,) = included.posts
    assert (post.alert["labels"]["segment"], post.alert["labels"]["holdout"]) == ("key_account", "true")
    (plain,) = planned(record(alert())).posts
    assert "segment" not in plain.alert["labels"] and "holdout" not in plain.alert["labels"]
