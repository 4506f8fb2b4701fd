"""The alert topic against `sentinel replay`: lost, unexpected, conflicting and repeated alerts.

An alert's `id` is unique per alert event, and a redelivery repeats it with the same bytes
(consumers deduplicate on the id). So the topic is read as a map id -> bytes:

- lost: in replay, not on the topic; unexpected: on the topic, not in replay;
- conflicting: an id on the topic with bytes other than replay's, or two copies that differ;
- duplicates: copies beyond the first of an id. Each is charged to the last disruption (a
  kill, a stall, a worker joining) before it was published (its `sentinel-processed-at`),
  and the copies a disruption caused are traced to the rounds the worker repeated: those of
  each copy's previous copy. A round is the alerts that share one `sentinel-processed-at`.
  A round after a restart can hold copies of an earlier round as well as new alerts, so if
  it is repeated too, the rounds of the first copies would count two rounds for one repeat.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from chaos.observe import Delivery
from chaos.workload import Workload

SAMPLE = 3


@dataclass
class Disruption:
    """Something done to the running system; re-sends after `at_ms` are charged to it."""

    kind: str
    at_ms: int
    """Wall ms after which a published alert counts as this disruption's doing."""
    moment: str = ""
    """What the worker was doing when it happened, as far as the suite could tell."""
    resumed_ms: int | None = None
    """When the system could work again (a replacement started, the broker woke); recovery counts from it."""
    duplicates: int = 0
    rounds_resent: int = 0
    recovery_s: float | None = None
    """From `resumed_ms` to the first alert published after it, if before the next disruption;
    for a group change, set by the scenario (until every partition is worked on again)."""
    details: dict[str, object] = field(default_factory=dict)


@dataclass
class Comparison:
    records: int
    distinct: int
    expected: int
    lost: int
    unexpected: int
    conflicting: int
    duplicates: int
    unattributed_duplicates: int
    """Copies published before any disruption: a redelivery nothing explains."""
    max_round: int
    """The most alerts one round published (alerts sharing a `sentinel-processed-at`)."""
    rounds: int
    missing_header: int
    lost_sample: list[str]
    unexpected_sample: list[str]
    conflicting_sample: list[str]

    @property
    def exact(self) -> bool:
        return self.lost == self.unexpected == self.conflicting == 0


def compare(deliveries: Iterable[Delivery], load: Workload, disruptions: list[Disruption]) -> Comparison:
    """Fills in each disruption's duplicates, rounds re-sent and recovery time as a side effect."""
    copies: dict[str, list[Delivery]] = defaultdict(list)
    records = 0
    for record in deliveries:
        copies[record.id].append(record)
        records += 1
    lost = [alert_id for alert_id in load.expected if alert_id not in copies]
    unexpected: list[str] = []
    conflicting: list[str] = []
    duplicates = unattributed = missing_header = 0
    rounds: Counter[int] = Counter()
    ordered = sorted(disruptions, key=lambda d: d.at_ms)
    resent_from: dict[int, set[int | None]] = defaultdict(set)
    for alert_id, found in copies.items():
        found.sort(key=lambda record: (record.processed_at or 0, record.partition, record.offset))
        first = found[0]
        missing_header += sum(record.processed_at is None for record in found)
        for record in found:
            if record.processed_at is not None:
                rounds[record.processed_at] += 1
        wanted = load.expected.get(alert_id)
        if any(record.value != first.value for record in found) or (
            wanted is not None and first.value != wanted
        ):
            conflicting.append(alert_id)
        elif wanted is None and load.comparable(first.value):
            unexpected.append(alert_id)
        for previous, copy in pairwise(found):
            duplicates += 1
            charged = _charged_to(ordered, copy.processed_at)
            if charged is None:
                unattributed += 1
            else:
                ordered[charged].duplicates += 1
                resent_from[charged].add(previous.processed_at)
    for index, disruption in enumerate(ordered):
        disruption.rounds_resent = len(resent_from.get(index, ()))
        if disruption.resumed_ms is not None:
            disruption.recovery_s = _recovery(disruption.resumed_ms, ordered[index + 1 :], rounds)
    return Comparison(
        records=records,
        distinct=len(copies),
        expected=len(load.expected),
        lost=len(lost),
        unexpected=len(unexpected),
        conflicting=len(conflicting),
        duplicates=duplicates,
        unattributed_duplicates=unattributed,
        max_round=max(rounds.values(), default=0),
        rounds=len(rounds),
        missing_header=missing_header,
        lost_sample=sorted(lost)[:SAMPLE],
        unexpected_sample=sorted(unexpected)[:SAMPLE],
        conflicting_sample=sorted(conflicting)[:SAMPLE],
    )


def _charged_to(ordered: list[Disruption], published_ms: int | None) -> int | None:
    if published_ms is None:
        return None
    charged = None
    for index, disruption in enumerate(ordered):
        if disruption.at_ms <= published_ms:
            charged = index
    return charged


def _recovery(start: int, later: list[Disruption], rounds: Counter[int]) -> float | None:
    end = later[0].at_ms if later else None
    after = [at for at in rounds if at >= start and (end is None or at < end)]
    return (min(after) - start) / 1000 if after else None


def mismatches(deliveries: Iterable[Delivery], load: Workload) -> Iterator[dict[str, object]]:
    """Every lost, unexpected and conflicting alert with its bytes on each side, for a post-mortem."""
    copies: dict[str, list[Delivery]] = defaultdict(list)
    for record in deliveries:
        copies[record.id].append(record)
    for alert_id, replayed in load.expected.items():
        if alert_id not in copies:
            yield {"kind": "lost", "id": alert_id, "replay": replayed.decode()}
    for alert_id, found in copies.items():
        wanted = load.expected.get(alert_id)
        values = sorted({record.value for record in found})
        topic = [value.decode() for value in values]
        if len(values) > 1 or (wanted is not None and values != [wanted]):
            yield {
                "kind": "conflicting",
                "id": alert_id,
                "replay": wanted and wanted.decode(),
                "topic": topic,
            }
        elif wanted is None and load.comparable(values[0]):
            yield {"kind": "unexpected", "id": alert_id, "topic": topic}
