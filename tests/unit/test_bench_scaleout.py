"""The scale-out benchmark's arithmetic: speed-up bounds, the verdicts and the sizing guide.

The figures below are round numbers near a measured run (BENCHMARKS.md, scale-out); what is
checked is how the guide follows from them, not the figures themselves.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.scaleout import (
    HEADROOM,
    RECOVERY_TARGET_S,
    SIZING_CUSTOMERS,
    SIZING_RATES,
    WITH_STANDBY,
    judge,
    render_sizing,
    sizing,
    speedup_figures,
)

EVENTS = 500_000


def layout(
    seconds: float, cpu: list[tuple[str, float]], broker: float = 0.1, other: float = 0.0
) -> dict[str, Any]:
    workers = sum(seconds for _, seconds in cpu)
    return {
        "events": EVENTS,
        "seconds": seconds,
        "events_per_s": EVENTS / seconds,
        "roles": [role for role, _ in cpu],
        "processes": [{"role": role, "cpu_seconds": seconds} for role, seconds in cpu],
        "workers_cpu_seconds": workers,
        "workers_cores": workers / seconds,
        "workers_cpu_s_per_1000_events": 1000 * workers / EVENTS,
        "workers_idle_cores": 0.02 * len(cpu),
        "workers_cpu_s_per_1000_events_less_idle": 1000 * (workers - 0.02 * len(cpu) * seconds) / EVENTS,
        "broker_cores": broker,
        "bench_cores": 0.05,
        "other_cores": other,
        "check": {"equal": True},
    }


def report() -> dict[str, Any]:
    layouts = {
        "one worker": layout(50.0, [("all", 50.0)]),
        "two all workers": layout(50.0, [("all", 55.0), ("all", 55.0)]),
        "ingest + detect": layout(40.0, [("ingest", 13.0), ("detect", 47.0)]),
        WITH_STANDBY: layout(60.0, [("all", 80.0), ("all", 80.0)]),
    }
    return {
        "layouts": layouts,
        "speedup": speedup_figures(layouts, cores=2),
        "cost_model": {
            "ingest_cpu_us_per_event": 26.0,
            "detect_cpu_us_per_event": 94.0,
            "traffic": {"changelog_bytes_per_customer_at_rest": 420.0, "written_bytes_per_event": 750.0},
        },
        "recovery": {
            "rss_bytes_per_customer": 1_200.0,
            "settled_empty_worker_rss_bytes": 60 * 2**20,
            "records_per_s_recovering": 1_300.0,
            "changelog_records": 300_000,
            "seconds_to_all_customers": 240.0,
        },
    }


def test_speedup_is_judged_against_the_cores_left_and_the_busier_stage() -> None:
    figures = report()["speedup"]
    assert figures["one worker"]["speedup"] == pytest.approx(1.0)
    # Two workers: 2 cores less broker 0.1 and bench 0.05 = 1.85, at one worker's 1.0 core.
    assert figures["two all workers"]["ideal_speedup"] == pytest.approx(1.85)
    assert figures["two all workers"]["bounded_by"] == "cores left"
    assert figures["two all workers"]["cpu_per_event_ratio"] == pytest.approx(110 / 50)
    # Less each process's idle CPU over its window: two processes idle twice as much.
    assert figures["two all workers"]["cpu_per_event_less_idle_ratio"] == pytest.approx(
        (110 - 2.0) / (50 - 1.0)
    )
    # Ingest and detect apart: no faster than the busier process allows, 60 / 47.
    assert figures["ingest + detect"]["bounded_by"] == "busier stage"
    assert figures["ingest + detect"]["ideal_speedup"] == pytest.approx(60 / 47)
    assert figures["ingest + detect"]["speedup"] == pytest.approx(50 / 40)


def test_verdicts_say_no_when_cpu_per_event_grows_or_the_speedup_falls_short() -> None:
    built = report()
    verdicts = judge(built)
    # The standby layout is replication's price, shown but not judged.
    assert verdicts["cpu_per_event"] == {"two all workers": False, "ingest + detect": True}
    assert set(verdicts["speedup"]) == {"two all workers", "ingest + detect"}
    assert verdicts["speedup"]["two all workers"]["met"] is False
    assert verdicts["correct"] is True
    built["layouts"]["one worker"]["check"]["equal"] = False
    assert judge(built)["correct"] is False


def test_too_busy_a_machine_makes_the_speedup_impossible_not_missed() -> None:
    built = report()
    built["layouts"]["two all workers"]["other_cores"] = 0.5
    built["speedup"] = speedup_figures(built["layouts"], cores=2)
    assert judge(built)["speedup"]["two all workers"]["possible_here"] is False


def test_sizing_follows_from_the_costs() -> None:
    built = report()
    plan = sizing(built, lifecycle_state_bytes=None)
    rows = plan["rows"]
    assert [(row["events_per_s"], row["customers"]) for row in rows] == [
        (rate, customers) for rate in SIZING_RATES for customers in SIZING_CUSTOMERS
    ]
    # Standby copies (off by default): two workers with them less two without, per event.
    assert plan["standby_cpu_us_per_event"] == pytest.approx(1e6 * (160 - 110) / EVENTS)
    for row in rows:
        assert row["cores"] == pytest.approx(row["events_per_s"] * (26.0 + 94.0) * HEADROOM / 1e6)
        per_event = 26.0 + 94.0 + plan["standby_cpu_us_per_event"]
        assert row["cores_with_standby"] == pytest.approx(row["events_per_s"] * per_event * HEADROOM / 1e6)
        together = " ingest + " not in row["processes"]
        detect = int(row["processes"].split()[0 if together else 3])
        assert detect >= 2
        if together:  # ingest runs inside the detect processes only while their cores allow
            assert detect >= row["cores"]
        assert row["recovery_s"] == pytest.approx(row["customers"] / detect / 1_300.0)
        # Its own share of the customers once: no standby copy of another's by default.
        assert row["memory_per_detect_process_bytes"] == pytest.approx(
            60 * 2**20 + row["customers"] / detect * 1_200.0
        )
        assert row["recovery_s"] <= RECOVERY_TARGET_S
        partitions = row["partitions"]
        assert partitions & (partitions - 1) == 0 and partitions >= 2 * detect
        assert row["changelog_bytes"] == pytest.approx(row["customers"] * 420.0)
    # 10 M customers at 1,300 records/s and 10 minutes each need 13 processes whatever the rate.
    assert rows[1]["processes"] == "13 all"
    assert len(render_sizing(plan)) == 2 + 2 + len(rows)


def test_a_longer_history_grows_memory_and_changelog_per_customer() -> None:
    plan = sizing(report(), lifecycle_state_bytes=1_000.0)
    assert plan["changelog_bytes_per_customer"] == pytest.approx(1_000.0)
    assert plan["memory_bytes_per_customer"] == pytest.approx(1_200.0 + 580.0)
