"""The fault suite's comparison of the alert topic with replay (`chaos.verdict.compare`).

`make chaos` passes or fails on these counts, so they are checked here on made-up topics:
a lost, an unexpected and a conflicting alert, copies charged to the disruption before them,
and the rounds a disruption's copies came from.
"""

from __future__ import annotations

from chaos.observe import Delivery
from chaos.verdict import Disruption, compare
from chaos.workload import Workload
from schemas import codec
from schemas.timestamps import parse_instant

LAST = parse_instant("2024-03-01T00:00:00Z")


def alert(alert_id: str, subject: str = "c-1", time: str = "2024-02-01T00:00:00Z", body: str = "x") -> bytes:
    return codec.dumps({"id": alert_id, "subject": subject, "time": time, "data": body})


def load(*alerts: bytes, erased: frozenset[str] = frozenset()) -> Workload:
    expected = {str(codec.loads(value)["id"]): value for value in alerts}
    return Workload(1, 1, (), (), LAST, expected, erased, 0)


def on_topic(value: bytes, processed_at: int | None, offset: int) -> Delivery:
    return Delivery(str(codec.loads(value)["id"]), value, processed_at, 0, offset)


def test_the_topic_equal_to_replay_is_exact() -> None:
    a, b = alert("a"), alert("b")
    comparison = compare([on_topic(a, 10, 0), on_topic(b, 10, 1)], load(a, b), [])
    assert comparison.exact
    assert (comparison.duplicates, comparison.rounds, comparison.max_round) == (0, 1, 2)


def test_lost_unexpected_and_conflicting_alerts_are_counted() -> None:
    a, b, c = alert("a"), alert("b"), alert("c")
    topic = [
        on_topic(b, 10, 0),
        on_topic(alert("c", body="other"), 10, 1),
        on_topic(alert("d"), 10, 2),
        on_topic(alert("e", subject="gone"), 10, 3),  # an erased customer's: not comparable
        on_topic(alert("f", time="2024-04-01T00:00:00Z"), 10, 4),  # after the last event
    ]
    comparison = compare(topic, load(a, b, c, erased=frozenset({"gone"})), [])
    assert (comparison.lost, comparison.unexpected, comparison.conflicting) == (1, 1, 1)
    assert (comparison.lost_sample, comparison.unexpected_sample, comparison.conflicting_sample) == (
        ["a"],
        ["d"],
        ["c"],
    )


def test_two_copies_of_an_id_with_different_bytes_conflict() -> None:
    a = alert("a")
    comparison = compare([on_topic(a, 10, 0), on_topic(alert("a", body="y"), 20, 1)], load(a), [])
    assert comparison.conflicting == 1


def test_copies_are_charged_to_the_last_disruption_before_them_with_the_rounds_they_repeat() -> None:
    a, b, c, d = alert("a"), alert("b"), alert("c"), alert("d")
    first, second = Disruption("kill", 15, resumed_ms=16), Disruption("kill", 35, resumed_ms=36)
    topic = [
        on_topic(a, 10, 0),  # round 10
        on_topic(b, 12, 1),  # round 12
        on_topic(a, 20, 2),  # after the first kill: a copy of round 10
        on_topic(c, 30, 3),
        on_topic(b, 40, 4),  # after the second kill: copies of rounds 12 and 30
        on_topic(c, 40, 5),
        on_topic(d, 40, 6),
    ]
    comparison = compare(topic, load(a, b, c, d), [second, first])
    assert comparison.exact
    assert comparison.duplicates == 3
    assert comparison.unattributed_duplicates == 0
    assert (first.duplicates, first.rounds_resent, first.recovery_s) == (1, 1, 0.004)
    assert (second.duplicates, second.rounds_resent, second.recovery_s) == (2, 2, 0.004)


def test_a_repeated_round_that_held_copies_counts_as_the_one_round_it_is() -> None:
    a, b = alert("a"), alert("b")
    first, second = Disruption("kill", 15, resumed_ms=16), Disruption("kill", 25, resumed_ms=26)
    topic = [
        on_topic(a, 10, 0),  # round 10, cut short by the first kill
        on_topic(a, 20, 1),  # round 20 after the restart: a again, and b new
        on_topic(b, 20, 2),
        on_topic(a, 30, 3),  # the second kill cut round 20 short: it alone is repeated
        on_topic(b, 30, 4),
    ]
    comparison = compare(topic, load(a, b), [first, second])
    assert comparison.exact
    assert (first.duplicates, first.rounds_resent) == (1, 1)
    assert (second.duplicates, second.rounds_resent) == (2, 1)


def test_a_copy_before_any_disruption_is_unattributed() -> None:
    a = alert("a")
    later = Disruption("stall", 100)
    comparison = compare([on_topic(a, 10, 0), on_topic(a, 20, 1)], load(a), [later])
    assert comparison.unattributed_duplicates == 1
    assert later.duplicates == 0


def test_an_alert_without_the_processed_at_header_is_counted() -> None:
    a = alert("a")
    comparison = compare([on_topic(a, None, 0)], load(a), [])
    assert comparison.missing_header == 1
