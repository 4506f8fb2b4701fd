"""Integration tier: one embedded broker for the whole run, fresh names per test.

The broker starts lazily, the first time a test asks for it, so a run that
collects no integration tests never spawns it. Every test gets its own topics
and consumer groups, so tests never see each other's messages and need no
cleanup (the broker keeps everything in memory and dies with the session).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker

_HERE = Path(__file__).parent
_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]+")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def bootstrap_servers(embedded_broker: EmbeddedBroker) -> str:
    return embedded_broker.bootstrap_servers


UniqueName = Callable[[str], str]


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> UniqueName:
    """Factory of names no other test uses: ``unique_name("events")``.

    Names carry the test's name, so broker-side leftovers are easy to trace,
    and stay within Kafka's topic alphabet and length limit.
    """
    test = _UNSAFE.sub("-", request.node.name).strip("-")[:80]

    def make(prefix: str) -> str:
        return f"{prefix}.{test}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def unique_topic(unique_name: UniqueName) -> str:
    return unique_name("topic")


@pytest.fixture
def unique_group(unique_name: UniqueName) -> str:
    return unique_name("group")
