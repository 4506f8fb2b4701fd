"""After a rebalance the worker loads its partitions from its local store: one pass for all of them."""

from __future__ import annotations

from collections.abc import ItemsView
from dataclasses import dataclass, field
from typing import Any

import pytest

from agents.config import Config
from agents.detect import Detection
from agents.engine import Engine
from schemas.batches import partition_for
from schemas.timestamps import parse_instant
from streams.traffic import lifecycle_history

PARTITIONS = 4


class CountingStore(dict[bytes, bytes]):
    """A memory store (Faust's is a dict of bytes) that counts the passes over it."""

    passes = 0

    def items(self) -> ItemsView[bytes, bytes]:
        self.passes += 1
        return super().items()

    def keys(self) -> Any:
        self.passes += 1
        return super().keys()


@dataclass
class LocalTable:
    """The two things the detectors use of a Faust table: its local store and `get`."""

    data: dict[bytes, bytes] = field(default_factory=dict)

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)


@pytest.fixture(scope="module")
def states_at_rest() -> dict[str, bytes]:
    engine = Engine(Config.default())
    for event in lifecycle_history(400, seed=3, start=parse_instant("2025-05-01T00:00:00Z"), span_days=30):
        engine.process(event)
        engine.drain()
    engine.flush()
    return dict(engine.stored)


def detectors_over(store: dict[bytes, bytes]) -> Detection:
    return Detection(
        config=Config.default(),
        customers=LocalTable(store),
        watermarks=LocalTable(),
        partitions=PARTITIONS,
        owned=lambda: set(range(PARTITIONS)),
    )


def test_loading_every_partition_reads_the_store_once(states_at_rest: dict[str, bytes]) -> None:
    store = CountingStore({subject.encode(): encoded for subject, encoded in states_at_rest.items()})
    detectors = detectors_over(store)
    engines = {partition: detectors.runtime_for(partition).engine for partition in range(PARTITIONS)}
    assert store.passes == 1

    for partition, engine in engines.items():
        own = {s: e for s, e in states_at_rest.items() if partition_for(s, PARTITIONS) == partition}
        alone = Engine(Config.default(), own)
        assert len(engine) == len(own) > 50
        assert engine.customers_waiting == alone.customers_waiting > 0
        assert list(engine.deadlines.pop_due(1 << 62)) == list(alone.deadlines.pop_due(1 << 62))


def test_a_rebalance_makes_the_next_load_read_the_store_again(states_at_rest: dict[str, bytes]) -> None:
    store = CountingStore({subject.encode(): encoded for subject, encoded in states_at_rest.items()})
    detectors = detectors_over(store)
    detectors.runtime_for(0)
    subject = next(s for s in states_at_rest if partition_for(s, PARTITIONS) == 1)
    del store[subject.encode()]  # partition 1 changed hands and back while revoked

    detectors.forget({0, 1})
    detectors.runtime_for(1)
    assert store.passes == 2
    left = sum(1 for s in states_at_rest if partition_for(s, PARTITIONS) == 1) - 1
    assert len(detectors.runtimes[1].engine) == left


def test_standby_copies_in_the_store_are_not_loaded_as_owned(states_at_rest: dict[str, bytes]) -> None:
    store = CountingStore({subject.encode(): encoded for subject, encoded in states_at_rest.items()})
    detectors = detectors_over(store)
    detectors.owned = lambda: {0}
    detectors.runtime_for(0)
    assert detectors.at_rest is not None
    assert set(detectors.at_rest) == set()


def test_a_partition_assigned_after_the_survey_is_loaded_with_its_deadlines(
    states_at_rest: dict[str, bytes],
) -> None:
    """Faust does not wait for the agent's buffered messages on revocation (stream_wait_empty is off),
    so a round can load a partition it kept between the revocation and the new assignment. The
    survey it takes does not know the partitions assigned next: they must not load empty."""
    store = CountingStore({subject.encode(): encoded for subject, encoded in states_at_rest.items()})
    detectors = detectors_over(store)
    owned = {0, 1}
    detectors.owned = lambda: set(owned)
    detectors.forget({0, 1})
    detectors.runtime_for(0)  # a buffered message of partition 0, before the assignment
    owned |= {2, 3}  # the assignment: partition 2 comes from a worker that died

    engine = detectors.runtime_for(2).engine
    own = {s: e for s, e in states_at_rest.items() if partition_for(s, PARTITIONS) == 2}
    alone = Engine(Config.default(), own)
    assert len(engine) == len(own) > 50
    assert engine.customers_waiting == alone.customers_waiting > 0
