"""`sentinel deliver alertmanager` between a real worker and Debian's Alertmanager.

Alertmanager resolves an alert once its endsAt has passed, or, without one,
`resolve_timeout` after its last post (10 s here). So after the history has been
delivered and that long again has passed, what /api/v2/alerts lists is exactly
what the deliverer keeps re-posting: it must be the episodes `sentinel replay`
leaves open, through a deliverer killed with SIGKILL in the middle.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from agents.replay import replay
from schemas import codec
from schemas.alerts import notice_patterns, parse_alert
from schemas.timestamps import MINUTE, SECOND, parse_instant
from streams.broker import create_topics, free_port
from streams.clients import produce_lines
from streams.delivery.alertmanager import AlertmanagerClient
from streams.delivery.loop import Retry
from streams.verify import closing_events, comparable, expected_alerts
from streams.worker import WorkerProcess

from .conftest import UniqueName
from .delivery import (
    Alertmanager,
    DeliverProcess,
    alert_end_offsets,
    committed_offsets,
    open_episodes,
    produce_alerts,
    wait_for,
)
from .pipeline import history_lines, produce_closing, read_topic, worker_settings

RESOLVE_TIMEOUT = 10.0
RESEND_INTERVAL = 2 * SECOND
VIEW = "http://sentinel.test:9108/customers/"


def alertmanager_config() -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": f"{RESOLVE_TIMEOUT:.0f}s"},
        "route": {"receiver": "crm-teams", "group_wait": "1s", "group_interval": "1s"},
        "receivers": [{"name": "crm-teams"}],
    }


def test_alertmanager_holds_exactly_the_open_episodes_through_a_killed_deliverer(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path / "worker")
    delivering = settings.replace(
        deliver_metrics_port=free_port(),
        resend_interval=RESEND_INTERVAL,
        alerts_dead_letter_topic=unique_name("alerts-dead-letter"),
        customer_view_url=VIEW,
    )
    lines, last_time = history_lines(120, seed=24)
    assert not any(b'"customer.erased"' in line for line in lines), "erasure would make replay differ"
    closing = closing_events(last_time + 5 * MINUTE, settings.partitions)
    expected = expected_alerts([*lines, *(value for _, value in closing)], last_time)
    expected_open = open_episodes(expected)
    resolutions = sum(1 for alert in expected if b'"alert.resolved"' in alert)
    assert len(expected_open) > 50 and resolutions > 50

    with (
        Alertmanager(tmp_path / "alertmanager", alertmanager_config()) as alertmanager,
        WorkerProcess(settings, tmp_path / "worker.log"),
    ):
        # What a one-shot bridge posts (no endsAt): Alertmanager resolves it after resolve_timeout.
        alertmanager.post([{"labels": {"alertname": "one_shot", "alert_id": "one-shot"}}])
        first = DeliverProcess(delivering, "alertmanager", alertmanager.url, tmp_path / "deliver-1.log")
        second = DeliverProcess(delivering, "alertmanager", alertmanager.url, tmp_path / "deliver-2.log")
        try:
            first.start()
            asyncio.run(produce_lines(settings, lines[: len(lines) // 2]))

            def committed_some() -> bool:
                committed = asyncio.run(committed_offsets(delivering, "alertmanager"))
                return sum(committed.values()) > 0 and first.sample("sentinel_deliver_open_episodes") > 0

            wait_for(committed_some, 60, "the first deliverer to commit rounds with open episodes")
            first.kill()
            at_kill = asyncio.run(committed_offsets(delivering, "alertmanager"))

            asyncio.run(produce_lines(settings, lines[len(lines) // 2 :]))
            asyncio.run(produce_closing(settings, closing))
            records = asyncio.run(read_topic(settings, settings.alerts_topic, at_least=len(expected)))
            assert comparable((record.value for record in records), lines, last_time) == expected
            assert len(records) == len(expected), "nothing after the last event time"
            # Episodes the restart can only know from the state topic: fired below the committed offsets.
            restored = {
                alert.alert_id
                for record in records
                if record.offset < at_kill.get(record.partition, 0)
                and (alert := parse_alert(record.value)).fired
                and alert.alert_id in expected_open
            }
            assert restored, "the kill came before any open episode was committed"

            second.start()
            ends = asyncio.run(alert_end_offsets(settings))
            wait_for(
                lambda: asyncio.run(committed_offsets(delivering, "alertmanager")) == ends,
                60,
                lambda: f"offsets {ends} committed",
            )
            delivered_at = time.monotonic()
            time.sleep(max(0.0, delivered_at + RESOLVE_TIMEOUT + 2 - time.monotonic()))

            active = alertmanager.alerts()
            ids = {alert["labels"]["alert_id"] for alert in active}
            assert "one-shot" not in ids, "resolve_timeout has passed"
            assert ids == expected_open
            assert len(active) == len(expected_open)
            assert alertmanager.received("resolved") >= resolutions
            assert second.sample("sentinel_deliver_reposted_total") > 0
            assert second.sample("sentinel_deliver_open_episodes") == len(expected_open)
            assert second.sample("sentinel_deliver_failed_total") == 0

            fired = {
                (alert := parse_alert(value)).alert_id: alert
                for value in expected
                if b'"alert.fired"' in value
            }
            for shown in active:
                alert = fired[shown["labels"]["alert_id"]]
                assert shown["labels"] == {
                    "alertname": alert.pattern,
                    "severity": alert.severity,
                    "phase": alert.phase,
                    "customer": alert.customer,
                    "alert_id": alert.alert_id,
                    **({"danger_point": str(alert.danger_point)} if alert.danger_point else {}),
                }
                assert shown["annotations"]["summary"] == alert.summary
                assert shown["annotations"]["recommendation"] == alert.recommendation
                assert codec.loads(shown["annotations"]["evidence"]) == alert.evidence
                assert parse_instant(shown["startsAt"]) == alert.time_ms
                assert shown["generatorURL"] == VIEW + alert.customer
                assert shown["status"]["state"] == "active"

            assert second.terminate() == 0
            assert asyncio.run(committed_offsets(delivering, "alertmanager")) == ends
        finally:
            first.stop()
            second.stop()


def test_two_deliverers_split_the_partitions_and_one_takes_over_the_others_episodes(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path / "worker")
    alerts = replay(history_lines(80, seed=29)[0]).alerts
    expected_open = open_episodes(alerts)
    assert len(expected_open) > 30
    asyncio.run(create_topics(settings, {settings.alerts_topic: settings.partitions}))

    with Alertmanager(tmp_path / "alertmanager", alertmanager_config()) as alertmanager:
        processes = [
            DeliverProcess(
                settings.replace(deliver_metrics_port=free_port(), resend_interval=RESEND_INTERVAL),
                "alertmanager",
                alertmanager.url,
                tmp_path / f"deliver-{number}.log",
            )
            for number in (1, 2)
        ]
        try:
            for process in processes:
                process.start()
            asyncio.run(produce_alerts(settings, alerts))
            ends = asyncio.run(alert_end_offsets(settings))

            def split_and_delivered() -> bool:
                shares = [process.sample("sentinel_deliver_open_episodes") for process in processes]
                committed = asyncio.run(committed_offsets(settings, "alertmanager"))
                return committed == ends and all(shares) and sum(shares) == len(expected_open)

            wait_for(split_and_delivered, 60, "both deliverers to hold open episodes, all offsets committed")

            processes[0].kill()
            wait_for(
                lambda: processes[1].sample("sentinel_deliver_open_episodes") == len(expected_open),
                60,
                "the survivor to read the other partitions' open episodes",
            )
            time.sleep(RESOLVE_TIMEOUT + 2)
            assert {alert["labels"]["alert_id"] for alert in alertmanager.alerts()} == expected_open
        finally:
            for process in processes:
                process.stop()


def test_alertmanager_down_holds_the_alerts_uncommitted_and_loses_none(
    bootstrap_servers: str, unique_name: UniqueName, tmp_path: Path
) -> None:
    settings = worker_settings(bootstrap_servers, unique_name, tmp_path / "worker")
    delivering = settings.replace(deliver_metrics_port=free_port(), resend_interval=RESEND_INTERVAL)
    alerts = replay(history_lines(30, seed=31)[0]).alerts
    expected_open = open_episodes(alerts)
    assert len(expected_open) > 10
    asyncio.run(create_topics(settings, {settings.alerts_topic: settings.partitions}))
    nothing = dict.fromkeys(range(settings.partitions), 0)
    alertmanager = Alertmanager(tmp_path / "alertmanager", alertmanager_config())  # not started: down

    first = DeliverProcess(delivering, "alertmanager", alertmanager.url, tmp_path / "deliver-1.log")
    second = DeliverProcess(delivering, "alertmanager", alertmanager.url, tmp_path / "deliver-2.log")
    try:
        first.start()
        asyncio.run(produce_alerts(settings, alerts))
        wait_for(lambda: first.sample("sentinel_deliver_retried_total") >= 2, 30, "posts tried again")
        assert asyncio.run(committed_offsets(delivering, "alertmanager")) == nothing
        stopping_at = time.monotonic()
        assert first.terminate() == 0
        assert time.monotonic() - stopping_at < 10, "a stop does not wait for Alertmanager"
        assert asyncio.run(committed_offsets(delivering, "alertmanager")) == nothing

        second.start()
        wait_for(lambda: second.sample("sentinel_deliver_retried_total") >= 1, 30, "posts tried again")
        alertmanager.start()
        ends = asyncio.run(alert_end_offsets(settings))
        wait_for(
            lambda: asyncio.run(committed_offsets(delivering, "alertmanager")) == ends,
            60,
            lambda: f"offsets {ends} committed",
        )
        episodes = {
            alert["labels"]["alert_id"]
            for alert in alertmanager.alerts()
            if alert["labels"]["alertname"] not in notice_patterns()
        }
        assert episodes == expected_open
        assert second.sample("sentinel_deliver_delivered_total") == len(alerts)
        assert second.sample("sentinel_deliver_failed_total") == 0
        assert second.terminate() == 0
    finally:
        first.stop()
        second.stop()
        alertmanager.stop()


async def test_alerts_alertmanager_refuses_are_told_apart_from_those_it_kept(tmp_path: Path) -> None:
    """Alertmanager answers 400 to a post with one invalid alert but keeps the valid ones: the client
    finds the refused one by posting them one by one, and leaves the others be."""
    with Alertmanager(tmp_path / "alertmanager", alertmanager_config()) as alertmanager:
        stopping = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            client = AlertmanagerClient(
                alertmanager.url, session, 5 * SECOND, lambda what: Retry(what, stopping, 0.1, 1.0)
            )
            good = [
                {"labels": {"alertname": "lead_not_followed_up", "alert_id": f"a-{number}"}, "endsAt": AHEAD}
                for number in range(3)
            ]
            bad = {
                "labels": {"alertname": "lead_not_followed_up", "alert_id": "backwards"},
                "startsAt": "2024-01-02T00:00:00Z",
                "endsAt": "2024-01-01T00:00:00Z",
            }
            refused = await client.post([good[0], bad, *good[1:]])
        assert list(refused) == [1]
        assert refused[1].startswith("HTTP 400: ") and "start time must be before end time" in refused[1]
        assert {alert["labels"]["alert_id"] for alert in alertmanager.alerts()} == {"a-0", "a-1", "a-2"}


AHEAD = "2099-01-01T00:00:00Z"
