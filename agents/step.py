"""What a pattern sees while it reacts: one customer, one event or deadline, and the episode rules.

The episode rules of the spec live here and nowhere else: an episode fires
once and resolves once with the same id, a notice never resolves, and a
clearing event only cancels a deadline it is not later than (fine print, "Time").
An event timed after a pending deadline leaves that deadline's episode alone:
the engine fires the deadline first and applies the event again after it
(`agents.state.Unsettled`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agents.commands import held
from agents.holdout import Holdout
from agents.lifecycle import phase_at
from agents.state import ACTIVE, CustomerState, Watch
from schemas.alerts import Alert, alert_id
from schemas.events import Touchpoint
from schemas.timestamps import format_instant

if TYPE_CHECKING:
    from agents.patterns.base import Pattern

CANCELLED, RESOLVED, DEFERRED, IDLE = "cancelled", "resolved", "deferred", "idle"
"""What `answer` did: cancelled a deadline, resolved an episode, left it to the re-run, nothing."""


def held_identity(alert_id: str) -> str:
    """The identity of an alert a snooze held back (never equal to an emitted one's)."""
    return alert_id + "~"


class Step:
    """Reused for every event and deadline of one engine, so patterns allocate nothing to read it."""

    __slots__ = (
        "alerts",
        "enabled",
        "event",
        "firing",
        "had_order",
        "held_back",
        "holdout",
        "new_customer_period",
        "previous_rep",
        "segment",
        "state",
        "subject",
        "transition",
    )

    def __init__(self, new_customer_period: int, holdout: Holdout | None = None) -> None:
        self.new_customer_period = new_customer_period
        self.holdout = holdout
        self.alerts: list[Alert] = []
        self.held_back: list[tuple[str, str]] = []
        """(pattern, identity) of each alert a snooze held back: the engine counts them, and a re-run
        knows them by their identity (`held_identity`) as it knows the alerts it emitted."""
        self.segment: str | None = None
        """The segment whose thresholds apply to what the pattern at hand does now."""
        self.enabled = True
        """Whether that segment has the pattern at hand switched on (off, it only clears)."""
        self.subject = ""
        self.state = CustomerState()
        self.event: Touchpoint | None = None
        self.firing = ""
        """The watch key whose deadline is being fired (to drop it if its pattern fails)."""
        self.had_order = False
        self.previous_rep: str | None = None
        self.transition: str | None = None

    def begin(self, subject: str, state: CustomerState, event: Touchpoint | None) -> None:
        """Point the step at a customer, remembering the facts patterns compare against."""
        self.subject = subject
        self.state = state
        self.event = event
        self.segment = state.segment
        self.had_order = state.first_order_at != 0
        self.previous_rep = state.rep
        self.transition = None

    @property
    def clock_restarted(self) -> bool:
        """True for the order that starts the customer's clocks: the first ever, or a return."""
        return not self.had_order or self.transition == "returned"

    @property
    def may_trigger(self) -> bool:
        """Lost and churned customers update state but trigger nothing (shared rules)."""
        return self.enabled and self.state.status == ACTIVE

    def phase(self, at: int) -> str:
        """The customer's phase at event time `at` (a deadline may fire after later events)."""
        return phase_at(self.state, at, self.new_customer_period)

    def answer_after_trigger(self, pattern: Pattern, key: str, event: Touchpoint, resolution: str) -> str:
        """`answer`, but only for an event no earlier than what started the watch (a late, older
        contact does not answer a later order)."""
        watch = self.watch(key)
        if watch is None or event.time < watch.since:
            return IDLE
        return self.answer(pattern, key, event.time, resolution, event.id)

    def watch(self, key: str) -> Watch | None:
        watches = self.state.watches
        return watches.get(key) if watches else None

    def arm(self, key: str, due: int, since: int, trigger: str | None) -> Watch:
        """Start a deadline unless one is pending or the episode is open; the earliest trigger wins."""
        watches = self.state.watches
        if watches is None:
            watches = self.state.watches = {}
        watch = watches.get(key)
        if watch is None:
            watch = watches[key] = Watch(
                due=due, since=since, triggers=[trigger] if trigger else None, segment=self.segment
            )
        elif not watch.due and not watch.fired_at:
            watch.due, watch.since, watch.triggers = due, since, [trigger] if trigger else None
            watch.segment = self.segment
        return watch

    def rearm(self, key: str, due: int, since: int, trigger: str | None) -> None:
        """Move a restartable clock (its episode, if any, is already resolved)."""
        watch = self.arm(key, due, since, trigger)
        if not watch.fired_at:
            watch.due, watch.since = due, since
            watch.triggers = [trigger] if trigger else None
            watch.segment = self.segment

    def drop(self, key: str) -> None:
        watches = self.state.watches
        if watches and key in watches:
            del watches[key]
            if not watches:
                self.state.watches = None

    def fire(
        self,
        pattern: Pattern,
        key: str,
        at: int,
        severity: str,
        evidence: dict[str, Any],
        triggers: list[str] | None = None,
    ) -> bool:
        """Open an episode (fired alert) unless one is already open for this key, or the event
        comes after the key's pending deadline (which fires first, in the re-run).

        A snooze holding `at` keeps the episode from opening: nothing is emitted, and what
        would have fired it (a pending deadline, an unanswered trigger) is settled as of `at`.
        """
        watches = self.state.watches
        if watches is None:
            watches = self.state.watches = {}
        watch = watches.get(key)
        if watch is not None and (
            watch.fired_at or (watch.due and self.event is not None and watch.due < self.event.time)
        ):
            return False
        if self.state.snoozes and held(self.state, pattern.name, at):
            self.held_back.append((pattern.name, held_identity(self.episode_id(pattern, key, at))))
            self.drop(key)
            pattern.after_held(self, key, at)
            return False
        if watch is None:
            watch = watches[key] = Watch(segment=self.segment)
        watch.due = 0
        watch.fired_at = at
        watch.severity = severity
        watch.segment = self.segment
        identity = self.episode_id(pattern, key, at)
        self._emit(pattern, at, True, identity, severity, evidence, triggers or watch.triggers, self.segment)
        return True

    def episode_id(self, pattern: Pattern, key: str, fired_at: int) -> str:
        """The alert id an episode fires and resolves with: derived, so state need not keep it."""
        return alert_id(self.subject, pattern.name, key.partition("|")[2], fired_at)

    def notice(
        self, pattern: Pattern, at: int, severity: str, evidence: dict[str, Any], sub_key: str = ""
    ) -> None:
        """A one-off alert for the current event; it never resolves. One a snooze holds is not
        emitted, but counts as emitted for the pattern's limits (the pattern noted it already)."""
        event = self.event
        assert event is not None
        identity = alert_id(self.subject, pattern.name, sub_key, at, (event.source, event.id))
        if self.state.snoozes and held(self.state, pattern.name, at):
            self.held_back.append((pattern.name, held_identity(identity)))
            return
        self._emit(pattern, at, True, identity, severity, evidence, [event.id], self.segment)

    def resolve(self, pattern: Pattern, key: str, at: int, resolution: str, event_id: str | None) -> bool:
        """Close the open episode of `key`; never earlier than it fired."""
        watch = self.watch(key)
        if watch is None or not watch.fired_at:
            return False
        at = max(at, watch.fired_at)
        evidence = {"fired_at": format_instant(watch.fired_at)}
        triggers = [event_id] if event_id else None
        identity = self.episode_id(pattern, key, watch.fired_at)
        severity, segment = watch.severity, watch.segment
        self._emit(pattern, at, False, identity, severity, evidence, triggers, segment, resolution)
        watch.fired_at, watch.severity = 0, ""
        if not watch.due:
            self.drop(key)
        return True

    def answer(self, pattern: Pattern, key: str, at: int, resolution: str, event_id: str) -> str:
        """Apply an event that clears `key`'s deadline or episode, as the fine print orders."""
        watch = self.watch(key)
        if watch is None:
            return IDLE
        if watch.fired_at:
            self.resolve(pattern, key, at, resolution, event_id)
            return RESOLVED
        if not watch.due:
            return IDLE
        if at <= watch.due:
            self.drop(key)
            return CANCELLED
        return DEFERRED

    def close_all(
        self, at: int, resolution: str, patterns: Mapping[str, Pattern], order: Callable[[str], Any]
    ) -> None:
        """Lost or churned: resolve open episodes and drop the deadlines the closing event beats.

        A deadline earlier than the closing event is left alone, like any deadline an
        event comes after: it fires first, and the closing event then resolves its episode.
        """
        watches = self.state.watches
        if not watches:
            return
        event_id = self.event.id if self.event else ""
        for key in sorted(watches, key=order):
            watch = watches[key]
            if watch.due and watch.due < at:
                continue
            watch.due = 0
            self.resolve(patterns[key.partition("|")[0]], key, at, resolution, event_id)
            self.drop(key)
        if not watches:
            self.state.watches = None

    def _emit(
        self,
        pattern: Pattern,
        at: int,
        firing: bool,
        identity: str,
        severity: str,
        evidence: dict[str, Any],
        triggers: list[str] | None,
        segment: str | None,
        resolution: str | None = None,
    ) -> None:
        holdout = self.holdout
        self.alerts.append(
            Alert(
                subject=self.subject,
                pattern=pattern.name,
                danger_point=pattern.danger_point,
                time=at,
                firing=firing,
                alert_id=identity,
                phase=self.phase(at),
                severity=severity,
                summary=pattern.summary,
                recommendation=pattern.recommendation,
                evidence=evidence,
                trigger_event_ids=list(triggers) if triggers else [],
                resolution=resolution,
                segment=segment,
                holdout=holdout is not None and holdout.is_held_out(self.subject),
            )
        )
