"""`sentinel replay`: the engine over a file of touchpoints, offline and deterministic."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agents.config import Config
from agents.engine import Engine, EngineCounts, Failure
from schemas.alerts import render
from schemas.events import INTERNAL_ERROR, Rejected, decode_message, encode_event
from schemas.timestamps import parse_instant

ACTIVE_CUSTOMERS_LIMIT = 200_000
"""Decoded states a replay keeps (about 1 GB) before flushing them back to their compact encoding;
below it a replay never decodes a customer twice."""


@dataclass(slots=True)
class ReplayOutcome:
    """Everything a replay produced, for tests and library callers."""

    alerts: list[bytes] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    duplicates: int = 0


def run_replay(
    lines: Iterable[bytes | str],
    *,
    config: Config,
    until: int | None,
    emit: Callable[[bytes], object],
    reject: Callable[[int, Rejected], object],
) -> EngineCounts:
    """Feed JSON lines (each a touchpoint or a batch array) in file order, emitting alert bytes."""
    engine = Engine(config)
    number = 0
    for number, line in enumerate(lines, start=1):
        raw = line.encode() if isinstance(line, str) else line
        if not raw.strip():
            continue
        events, rejected = decode_message(raw.rstrip(b"\r\n"))
        for bad in rejected:
            reject(number, bad)
        for event in events:
            engine.process(event)
            for alert in engine.drain():
                emit(render(alert))
        for failure in engine.drain_failures():
            reject(number, failure_as_rejected(failure))
        engine.drain_held()
        if len(engine.active) >= ACTIVE_CUSTOMERS_LIMIT:
            engine.flush()
    engine.finish(until)
    for alert in engine.drain():
        emit(render(alert))
    for failure in engine.drain_failures():
        reject(number, failure_as_rejected(failure))
    return engine.counts


def failure_as_rejected(failure: Failure) -> Rejected:
    """An event or deadline the engine failed on, told like a rejected line (reason internal_error)."""
    error = f"{type(failure.error).__name__}: {failure.error}"
    if failure.event is None:
        message = f"a deadline of {failure.subject} failed ({error}); {failure.detail}"
        return Rejected(None, INTERNAL_ERROR, message, b"")
    return Rejected(
        None, INTERNAL_ERROR, f"{failure.event.type} failed ({error})", encode_event(failure.event)
    )


def replay(
    lines: Iterable[bytes | str], *, config: Config | None = None, until: str | None = None
) -> ReplayOutcome:
    """Replay in memory; `until` (RFC 3339) runs the clock on past the last event."""
    outcome = ReplayOutcome()

    def reject(number: int, bad: Rejected) -> None:
        where = f" (batch element {bad.index})" if bad.index is not None else ""
        outcome.rejected.append((number, bad.reason, bad.message + where))

    counts = run_replay(
        lines,
        config=config or Config.default(),
        until=parse_instant(until) if until is not None else None,
        emit=outcome.alerts.append,
        reject=reject,
    )
    outcome.duplicates = counts.duplicates
    return outcome
