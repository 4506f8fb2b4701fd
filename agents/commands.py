"""The commands of shared/spec/actions.md: snoozes and segments.

A command is a touchpoint a person or a CRM sends about how to treat a
customer's alerts. It changes no shared fact (phase, contact, activity, rep)
and no pattern sees it; it decides which alerts are held back (`held`) and
which thresholds apply (`CustomerState.segment`).

Snoozes are kept per key, a pattern's name or "*": `alert.snoozed` holds its
key over [its time, until), replacing what that key held from its own time
on (what was held before stays held); `alert.unsnoozed` ends the key's hold
at its own time ("*" ends only "*"). A pattern is held at time t when its own
key or "*" covers t.
"""

from __future__ import annotations

from agents.state import CustomerState
from schemas.events import Touchpoint
from schemas.timestamps import parse_instant

SNOOZED, UNSNOOZED, SEGMENTED = "alert.snoozed", "alert.unsnoozed", "customer.segmented"
COMMANDS = frozenset({SNOOZED, UNSNOOZED, SEGMENTED})
MAX_RANGES_PER_KEY = 8
"""Snooze ranges remembered per key, the latest: older ones can only matter to very late events."""


def apply(state: CustomerState, event: Touchpoint) -> None:
    """Record a command in the customer's state."""
    data, at = event.data, event.time
    if event.type == SEGMENTED:
        state.segment = data["segment"]
        return
    snoozes = state.snoozes if state.snoozes is not None else {}
    key = data["pattern"]
    ranges = [[start, min(end, at)] for start, end in snoozes.get(key, ()) if start < at]
    if event.type == SNOOZED:
        until = parse_instant(data["until"])
        if until > at:
            ranges.append([at, until])
    ranges = [[start, end] for start, end in ranges if start < end][-MAX_RANGES_PER_KEY:]
    if ranges:
        snoozes[key] = ranges
    else:
        snoozes.pop(key, None)
    state.snoozes = snoozes or None


def held(state: CustomerState, pattern: str, at: int) -> bool:
    """Whether an alert of `pattern` at event time `at` is held back by a snooze."""
    snoozes = state.snoozes
    if not snoozes:
        return False
    for key in (pattern, "*"):
        for start, end in snoozes.get(key, ()):
            if start <= at < end:
                return True
    return False
