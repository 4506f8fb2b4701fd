"""Helpers for end-to-end tests: a worker per test, histories, and reading topics back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiokafka import ConsumerRecord

from schemas.events import encode_event
from schemas.timestamps import parse_instant
from streams import verify
from streams.settings import Settings
from streams.traffic import lifecycle_history

HISTORY_START = parse_instant("2024-01-01T00:00:00Z")


def worker_settings(bootstrap_servers: str, name: Callable[[str], str], data_dir: Path) -> Settings:
    """A worker of its own for one test: own topics, group, state directory and metrics port."""
    return verify.checked_worker_settings(bootstrap_servers, name, str(data_dir))


def history_lines(customers: int, seed: int = 11) -> tuple[list[bytes], int]:
    """A generated history as JSON lines, and its last event time."""
    events = lifecycle_history(customers, seed=seed, start=HISTORY_START, span_days=60)
    return [encode_event(event) for event in events], events[-1].time


async def read_topic(
    settings: Settings, topic: str, *, at_least: int, wait: float = 90.0, settle: float = 3.0
) -> list[ConsumerRecord]:
    return await verify.read_topic(settings, topic, at_least=at_least, wait=wait, settle=settle)


async def produce_closing(settings: Settings, closing: list[tuple[int, bytes]]) -> None:
    await verify.produce_closing(settings, settings.touchpoints_topic, closing)
