"""The fault suite of `make chaos`, reduced to a seeded few minutes' worth for `make test`.

On a 20,345-event history: three SIGKILLs of the worker (mid-round, mid-flush,
mid-recovery, each restarted at once), a second worker joining under load, and the
broker stalled for 10 s. After each, the alert topic read as ids with their bytes must
equal `sentinel replay`: nothing lost, nothing replay does not give, no id with other
bytes, and re-sent alerts (same id, same bytes) from at most one round per disruption.
Each scenario starts its own broker, since one of them pauses it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chaos.report import details
from chaos.run import Context, Outcome
from chaos.scenarios import kill_scenario, rebalance_scenario, stall_scenario

SEED = 1
CUSTOMERS = 1_250
"""20,345 events with seed 1."""


def context(tmp_path: Path) -> Context:
    return Context(SEED, tmp_path, lambda message: print(message, file=sys.stderr))


def assert_alerts_equal_replay(outcome: Outcome) -> None:
    comparison = outcome.comparison
    report = details(outcome)
    assert comparison is not None, report
    assert outcome.events > 20_000
    assert comparison.lost == 0, report
    assert comparison.unexpected == 0, report
    assert comparison.conflicting == 0, report
    assert [d.rounds_resent for d in outcome.disruptions if d.rounds_resent > 1] == [], report
    assert comparison.unattributed_duplicates == 0, report


def test_a_worker_killed_three_times_neither_loses_nor_invents_alerts(tmp_path: Path) -> None:
    outcome = kill_scenario(
        context(tmp_path), name="kill", store="memory://", customers=CUSTOMERS, kills=3, rate=700
    )
    assert len(outcome.disruptions) == 3
    assert_alerts_equal_replay(outcome)
    assert outcome.passed, details(outcome)


def test_a_second_worker_joining_under_load_takes_partitions_and_changes_no_alert(tmp_path: Path) -> None:
    outcome = rebalance_scenario(
        context(tmp_path),
        name="join",
        customers=CUSTOMERS,
        partitions=4,
        initial=1,
        kill_window=None,
        add_window=(0.3, 0.4),
        rate=1000,
    )
    owned = outcome.facts["ownership"]["after join"]
    assert all(owned.get(name) for name in ("worker-1", "worker-2")), owned
    assert_alerts_equal_replay(outcome)
    assert outcome.passed, details(outcome)


def test_a_broker_stalled_for_10_s_under_load_is_waited_out(tmp_path: Path) -> None:
    outcome = stall_scenario(context(tmp_path), name="stall", customers=CUSTOMERS, seconds=10, rate=2000)
    assert outcome.facts["worker_exit_during_stall_s"] is None, details(outcome)
    assert_alerts_equal_replay(outcome)
    assert outcome.passed, details(outcome)
