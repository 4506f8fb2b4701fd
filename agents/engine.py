"""The detection engine: state + event → new state + alerts; state + watermark → alerts.

One `Engine` serves one input partition (a replay is one partition). It owns the
customers' states, their deadline index and the partition's watermark, and has
no idea where events come from or where alerts go: the Faust agent and
`sentinel replay` both drive it, which is why they emit the same alerts.

A customer at rest is only its encoded bytes, in `stored` (the worker passes its
changelogged table); the states the engine works on are decoded on first touch
and kept in `active` until `flush` encodes the touched ones back. Millions of
customers then cost their compact encoding, not their Python objects.

Events are applied as they arrive; a deadline waits for the watermark. An event
that comes after one of its customer's pending deadlines makes the customer
*unsettled* (`agents.state.Unsettled`): when the watermark passes the deadline,
the events since are run again with the deadline in its place. That is what
makes the alerts independent of how far the watermark lags, and it costs
nothing for customers whose deadlines the watermark reaches before their next
event: most of them, when it keeps up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, replace
from hashlib import blake2b
from typing import Any

from agents import commands, lifecycle
from agents.config import Config
from agents.deadlines import DeadlineIndex
from agents.patterns import CATALOG_ORDER, Pattern
from agents.state import CustomerState, Unsettled, alert_identity, readable_next_due
from agents.step import Step
from schemas.alerts import Alert
from schemas.batches import Origin
from schemas.events import TYPES, Touchpoint

BEFORE_TIME = -(1 << 62)
TRANSACTIONAL = "transactional"
"""The `marketing.sent` kind no pattern sees: order confirmations, invoices by mail, password resets."""
Reaction = Callable[[Step, Touchpoint], None]
UNDO_LOG_LIMIT = 32
"""Events and watermark moves kept per customer to roll it back; beyond them it is checkpointed."""
MAX_UNSETTLED_EVENTS = 512
"""A customer whose events run this far ahead of an unsettled deadline has it settled as if the
watermark had reached it (for input in event-time order that changes nothing; it only bounds state
while a watermark is stuck)."""


@dataclass(slots=True)
class EngineCounts:
    """What the engine saw besides alerts; the runtime turns these into metrics."""

    events: int = 0
    duplicates: int = 0
    late: int = 0
    unknown_cases: int = 0
    erased: int = 0
    redelivered: int = 0
    """Events skipped because their message had been applied before a crash."""
    failed: int = 0
    """Events and deadlines the engine failed on (`Engine.failures`)."""


@dataclass(slots=True)
class Failure:
    """An event or deadline the engine failed on; its customer was rolled back to before it."""

    subject: str
    event: Touchpoint | None
    """None for a deadline."""
    error: Exception
    detail: str = ""


_EVENT_KEY_HASH = blake2b(digest_size=8)
"""Copied per event: a copy costs about a third less than setting up a new hasher."""


def event_key(event: Touchpoint) -> int:
    """A stable 64-bit hash of (source, id), the idempotency key; stable across processes."""
    hasher = _EVENT_KEY_HASH.copy()
    hasher.update(f"{event.source}\x1f{event.id}".encode())
    return int.from_bytes(hasher.digest(), "big")


def _event_time(event: Touchpoint) -> int:
    """Sort key of a re-run: event time, arrival order among equal times (the sort is stable)."""
    return event.time


def _watch_order(key: str) -> tuple[int, str]:
    name, _, sub_key = key.partition("|")
    return CATALOG_ORDER.get(name, len(CATALOG_ORDER)), sub_key


class Engine:
    """Danger-pattern detection for one partition's customers."""

    def __init__(
        self,
        config: Config,
        stored: MutableMapping[str, bytes] | None = None,
        *,
        follow_event_time: bool = True,
        waiting: Iterable[tuple[int, str]] | None = None,
    ) -> None:
        """`stored` holds the customers' encoded states (`CustomerState.encode`) by subject.

        `follow_event_time=False` leaves the watermark to the caller (`advance_to`), as the
        live worker does: behind a repartitioning step the watermark must follow the slowest
        input partition, which only the caller knows. `waiting` gives the (deadline, subject)
        of every stored customer with one, for a caller that found them more cheaply than
        `reindex` can (the worker reads all its partitions in one pass over its store)."""
        self.config = config
        self.follow_event_time = follow_event_time
        self.lateness = config.engine.lateness
        self.stored: MutableMapping[str, bytes] = stored if stored is not None else {}
        self.active: dict[str, CustomerState] = {}
        """Decoded states touched or looked at since the last `flush`."""
        self.deadlines = DeadlineIndex()
        self.watermark = BEFORE_TIME
        self.latest_event_time = BEFORE_TIME
        self.counts = EngineCounts()
        self.touched: set[str] = set()
        self.failures: list[Failure] = []
        self.read_up_to: dict[int, int] = {}
        """Per input partition, the highest offset applied here: an event read again whose customer
        has no state (erased since) is known as a repeat by it."""
        self._since_flush: dict[str, list[tuple[int, Touchpoint | None, Origin | None]]] = {}
        """Per customer, the events and watermark moves applied since its last flush or checkpoint:
        what `_restore` applies again to roll the customer back to before a failing step."""
        self._step = Step(config.engine.new_customer_period, config.holdout)
        by_segment: dict[str | None, tuple[Pattern[Any], ...]] = {None: (*config.patterns, *config.disabled)}
        by_segment.update(config.segments)
        live = {pattern.name for catalog in by_segment.values() for pattern in catalog if pattern.enabled}
        self._patterns_by_segment = {
            segment: {pattern.name: pattern for pattern in catalog if pattern.name in live}
            for segment, catalog in by_segment.items()
        }
        """Per segment the config names (None: the pattern tables), the patterns switched on anywhere."""
        self._patterns = self._patterns_by_segment[None]
        self._reactions: dict[str, tuple[Callable[[Step, Touchpoint], None], ...]] = {
            kind: tuple(p.on_event for p in config.patterns if kind in p.reacts_to) for kind in TYPES
        }
        """Per event type, the `on_event` of each pattern reacting to it, in catalog order."""
        self._segment_reactions: dict[str | None, dict[str, tuple[tuple[Reaction, bool], ...]]] | None = None
        """With segments: per segment, per event type, each reacting pattern and whether it is on."""
        if config.segments:
            self._segment_reactions = {
                segment: {
                    kind: tuple((p.on_event, p.enabled) for p in patterns.values() if kind in p.reacts_to)
                    for kind in TYPES
                }
                for segment, patterns in self._patterns_by_segment.items()
            }
        if waiting is not None:
            self.deadlines.rebuild(waiting)
        elif self.stored:
            self.reindex()

    def __len__(self) -> int:
        """Customers remembered (flushed or not)."""
        stored = self.stored
        return len(stored) + sum(1 for subject in self.active if subject not in stored)

    def state(self, subject: str) -> CustomerState | None:
        """A customer's working state, decoded from `stored` on first use."""
        state = self.active.get(subject)
        if state is None:
            encoded = self.stored.get(subject)
            if encoded is not None:
                state = self.active[subject] = CustomerState.decode(encoded, subject)
        return state

    def customers(self) -> Iterator[tuple[str, CustomerState]]:
        """Every customer's state (decoding the stored ones; for tests and benchmarks)."""
        active = self.active
        yield from active.items()
        for subject, encoded in self.stored.items():
            if subject not in active:
                yield subject, CustomerState.decode(encoded, subject)

    def flush(self) -> list[tuple[str, bytes | None]]:
        """Encode every customer touched since the last flush into `stored` and forget the
        decoded states; returns the changelog records, None for an erased customer."""
        active, stored = self.active, self.stored
        changes: list[tuple[str, bytes | None]] = []
        for subject in self.touched:
            state = active.get(subject)
            if state is None:
                changes.append((subject, None))
            else:
                encoded = stored[subject] = state.encode()
                changes.append((subject, encoded))
        self.touched.clear()
        self._since_flush.clear()
        active.clear()
        return changes

    def drain_held(self) -> list[str]:
        """The patterns whose alerts a snooze held back since the last call, one per alert."""
        held, self._step.held_back = self._step.held_back, []
        return [pattern for pattern, _ in held]

    def drain_failures(self) -> list[Failure]:
        """Hand over the events and deadlines the engine failed on since the last call."""
        failures, self.failures = self.failures, []
        return failures

    @property
    def customers_waiting(self) -> int:
        """Customers with at least one pending deadline."""
        return self.deadlines.waiting

    def drain(self) -> list[Alert]:
        """Hand over the alerts produced since the last call."""
        alerts = self._step.alerts
        if not alerts:
            return alerts
        self._step.alerts = []
        return alerts

    def process(self, event: Touchpoint, origin: Origin | None = None) -> None:
        """Apply one event; the deadlines its time puts behind the watermark fire before it.

        `origin` is where the worker read it (an event read there before is skipped). An event
        the engine fails on (a bug in a pattern, a state that overflows) changes nothing: its
        customer is rolled back to before it and it joins `failures`."""
        subject, time = event.subject, event.time
        self.counts.events += 1
        if time > self.latest_event_time:
            self.latest_event_time = time
            if self.follow_event_time:
                self.advance_to(time - self.lateness)
        mark = self._mark()
        try:
            self._take(event, origin)
        except Exception as error:  # noqa: BLE001 (the error policy: one event's failure stays with it)
            self._undo_since(mark)
            self._restore(subject)
            self._fail(Failure(subject, event, error))
            return
        self._log(subject, event, origin)

    def _log(self, subject: str, event: Touchpoint | None, origin: Origin | None = None) -> None:
        """Remember an applied event, or a watermark move (None), for `_restore`."""
        entry = (self.watermark, event, origin)
        log = self._since_flush.get(subject)
        if log is None:
            self._since_flush[subject] = [entry]
        else:
            log.append(entry)
            if len(log) >= UNDO_LOG_LIMIT:
                self._checkpoint(subject)

    def _take(self, event: Touchpoint, origin: Origin | None) -> None:
        """`process` without the error policy: repeats and duplicates skipped, lateness counted,
        an event after a pending deadline kept unsettled, then the rules applied."""
        subject, time = event.subject, event.time
        counts = self.counts
        if origin is not None:
            partition, offset = origin
            if offset <= self.read_up_to.get(partition, -1):
                state = self.state(subject)
                if state is None or (state.origin.partition == partition and offset <= state.origin.offset):
                    counts.redelivered += 1
                    return
            else:
                self.read_up_to[partition] = offset
        if event.type == "customer.erased":
            counts.erased += 1
            if self.state(subject) is not None:
                del self.active[subject]
                self.stored.pop(subject, None)
                self.touched.add(subject)
                self.deadlines.set_due(subject, 0)
            return
        state = self.state(subject)
        if state is None:
            state = self.active[subject] = CustomerState()
        if origin is not None:
            state.origin = origin
        if state.seen_before(event_key(event)):
            counts.duplicates += 1
            return
        if time < self.watermark:
            counts.late += 1
        unsettled = state.unsettled
        if unsettled is None:
            due = self.deadlines.due(subject)
            if due and due < time:
                unsettled = state.unsettled = Unsettled(due, state.encode(), [], [])
        if unsettled is None:
            if self._apply(subject, state, event) == lifecycle.UNKNOWN_CASE:
                counts.unknown_cases += 1
        else:
            unsettled.events.append(event)
            alerts_before, held_before = self._mark()
            if self._apply(subject, state, event) == lifecycle.UNKNOWN_CASE:
                counts.unknown_cases += 1
            unsettled.emitted += (alert_identity(alert) for alert in self._step.alerts[alerts_before:])
            unsettled.emitted += (identity for _, identity in self._step.held_back[held_before:])
            if len(unsettled.events) > MAX_UNSETTLED_EVENTS:
                state = self._settle(subject, state, unsettled.deadline)
        self.touched.add(subject)
        due = state.next_due()
        if due and due <= self.watermark:
            state = self._catch_up(subject, state)
            due = state.next_due()
        self.deadlines.set_due(subject, due)

    def advance_to(self, watermark: int) -> None:
        """Move the watermark forward and fire every deadline it reaches, earliest first."""
        if watermark <= self.watermark:
            return
        self.watermark = watermark
        deadlines = self.deadlines
        if not deadlines.any_due(watermark):
            return
        for due, subject in deadlines.pop_due(watermark):
            mark = self._mark()
            try:
                state = self.state(subject)
                if state is None:
                    continue
                if state.unsettled is not None:
                    state = self._settle(subject, state, watermark)
                else:
                    self._fire_due(subject, state, due)
            except Exception as error:  # noqa: BLE001 (the error policy, as for events)
                self._undo_since(mark)
                self._restore(subject)
                failing = self._step.firing
                self._drop_deadline(subject, failing)
                dropped = f"the deadline of {failing} is dropped" if failing else "its re-run is dropped"
                self._fail(Failure(subject, None, error, dropped))
                continue
            self.touched.add(subject)
            self._log(subject, None)
            deadlines.set_due(subject, state.next_due())

    def finish(self, until: int | None = None) -> None:
        """End of input (replay): lateness no longer applies; optionally run the clock on to `until`."""
        end = self.latest_event_time
        if until is not None and until > end:
            end = until
        self.advance_to(end)

    def reindex(self) -> None:
        """Rebuild the deadline index from the states (recovery); stored ones are not decoded."""
        active = self.active
        waiting = [(due, subject) for subject, state in active.items() if (due := state.next_due())]
        for subject, encoded in self.stored.items():
            if subject not in active and (stored_due := readable_next_due(encoded)):
                waiting.append((stored_due, subject))
        self.deadlines.rebuild(waiting)

    def _apply(self, subject: str, state: CustomerState, event: Touchpoint) -> str | None:
        """The shared rules, then every pattern reacting to the event; returns the lifecycle transition.
        A command only records itself, and a transactional send is invisible (actions.md)."""
        kind = event.type
        if kind in commands.COMMANDS:
            commands.apply(state, event)
            return None
        if kind == "marketing.sent" and event.data.get("kind") == TRANSACTIONAL:
            return None
        step = self._step
        step.begin(subject, state, event)
        transition = lifecycle.apply(state, event)
        if transition is not None:
            step.transition = transition
            if transition in (lifecycle.LOST_NOW, lifecycle.CHURNED_NOW):
                step.close_all(event.time, transition, self._patterns, _watch_order)
        segments = self._segment_reactions
        if segments is None:
            for on_event in self._reactions[kind]:
                on_event(step, event)
        else:
            for react, enabled in (segments.get(state.segment) or segments[None])[kind]:
                step.enabled = enabled
                react(step, event)
            step.enabled = True
        return transition

    def _catch_up(self, subject: str, state: CustomerState) -> CustomerState:
        """Fire now what a late event put behind the watermark (fine print: "fires at once")."""
        return self._fire_through(subject, state, self.watermark)

    def _fire_through(self, subject: str, state: CustomerState, watermark: int) -> CustomerState:
        """Everything of this customer's up to `watermark`: its deadlines, or its unsettled events."""
        if state.unsettled is not None:
            return self._settle(subject, state, watermark)
        self._fire_until(subject, state, watermark)
        return state

    def _fail(self, failure: Failure) -> None:
        self.counts.failed += 1
        self.failures.append(failure)

    def _restore(self, subject: str) -> None:
        """Roll a customer back to before the step that failed: its state at the last flush or
        checkpoint, with the events and deadlines since applied again, each under the watermark it
        met then (their alerts are out already)."""
        log = self._since_flush.pop(subject, [])
        self.active.pop(subject, None)
        counts, watermark, mark = replace(self.counts), self.watermark, self._mark()
        try:
            state = self.state(subject)
            self.deadlines.set_due(subject, state.next_due() if state is not None else 0)
            for applied_under, event, origin in log:
                self.watermark = applied_under
                if event is not None:
                    self._take(event, origin)
                elif (state := self.state(subject)) is not None:
                    self._fire_through(subject, state, self.watermark)
        except Exception:  # noqa: BLE001 (a deterministic engine cannot fail twice; if it did, keep the flush)
            log = []
            self.active.pop(subject, None)
        self.watermark = watermark
        self._undo_since(mark)
        self.counts = counts
        if log:
            self._since_flush[subject] = log
        elif subject in self.stored:
            self.touched.discard(subject)
        try:
            state = self.state(subject)
        except Exception:  # noqa: BLE001 (a state that cannot be decoded stays as it is stored)
            state = None
        self.deadlines.set_due(subject, state.next_due() if state is not None else 0)

    def _drop_deadline(self, subject: str, key: str) -> None:
        """After a failure at a deadline: drop it, so the next advance does not fail on it again.
        Unsettled events count as settled as they were applied, for the same reason."""
        state = self.active.get(subject)
        if state is None:
            return
        state.unsettled = None
        watches = state.watches
        watch = watches.get(key) if watches else None
        if watches and watch is not None:
            watch.due = 0
            if not watch.fired_at:
                del watches[key]
                state.watches = watches or None
        self.touched.add(subject)
        self._checkpoint(subject)
        self.deadlines.set_due(subject, state.next_due())

    def _checkpoint(self, subject: str) -> None:
        """Store the customer's state as it is, so a rollback need not apply the events before."""
        state = self.active.get(subject)
        if state is not None:
            self.stored[subject] = state.encode()
        self._since_flush.pop(subject, None)

    def _settle(self, subject: str, state: CustomerState, watermark: int) -> CustomerState:
        """The watermark passed the deadline some events came after: run them again from the
        checkpoint in event-time order, each deadline up to `watermark` firing in its place, and
        emit the alerts the first run held back. Events after a deadline still beyond `watermark`
        stay unsettled, from a new checkpoint. Returns the customer's new state."""
        unsettled = state.unsettled
        assert unsettled is not None
        rerun = CustomerState.decode(unsettled.checkpoint)
        rerun.recent_ids = state.recent_ids
        alerts, held_back = self._step.alerts, self._step.held_back
        first, first_held = self._mark()
        ahead: Unsettled | None = None
        settled_alerts = settled_held = 0
        for event in sorted(unsettled.events, key=_event_time):
            if ahead is None:
                self._fire_until(subject, rerun, min(watermark, event.time - 1))
                due = rerun.next_due()
                if due and due < event.time:
                    ahead = Unsettled(due, rerun.encode(), [], [])
                    settled_alerts, settled_held = len(alerts) - first, len(held_back) - first_held
            if ahead is not None:
                ahead.events.append(event)
            self._apply(subject, rerun, event)
        if ahead is None:
            self._fire_until(subject, rerun, watermark)
            settled_alerts, settled_held = len(alerts) - first, len(held_back) - first_held
        emitted = set(unsettled.emitted)
        produced = [alert_identity(alert) for alert in alerts[first:]]
        produced_held = [identity for _, identity in held_back[first_held:]]
        alerts[first:] = [
            alert for alert, identity in zip(alerts[first:], produced, strict=True) if identity not in emitted
        ]
        held_back[first_held:] = [entry for entry in held_back[first_held:] if entry[1] not in emitted]
        if ahead is not None:
            settled = {*produced[:settled_alerts], *produced_held[:settled_held]}
            emitted.update(produced[settled_alerts:], produced_held[settled_held:])
            ahead.emitted = sorted(emitted - settled)
        rerun.unsettled = ahead
        self.active[subject] = rerun
        return rerun

    def _mark(self) -> tuple[int, int]:
        """Where the step's outputs (alerts, alerts held back) stand now."""
        return len(self._step.alerts), len(self._step.held_back)

    def _undo_since(self, mark: tuple[int, int]) -> None:
        """Forget the outputs since `mark`: what a failing step, or a rollback's replay, produced."""
        del self._step.alerts[mark[0] :]
        del self._step.held_back[mark[1] :]

    def _fire_until(self, subject: str, state: CustomerState, watermark: int) -> None:
        """Fire the customer's deadlines up to `watermark`, earliest first (those they re-arm too)."""
        while (due := state.next_due()) and due <= watermark:
            self._fire_due(subject, state, due)

    def _fire_due(self, subject: str, state: CustomerState, due: int) -> None:
        step = self._step
        step.begin(subject, state, None)
        watches = state.watches or {}
        due_keys = [key for key, watch in watches.items() if watch.due == due]
        if len(due_keys) > 1:
            due_keys.sort(key=_watch_order)
        for key in due_keys:
            step.firing = key
            watch = watches.get(key)
            if watch is None or watch.due != due:
                continue
            patterns = self._patterns_by_segment.get(watch.segment) or self._patterns
            pattern = patterns.get(key.partition("|")[0])
            step.segment = watch.segment
            if pattern is None:
                step.drop(key)
                continue
            pattern.on_due(step, key, watch)
            step.firing = ""
            if not watch.due and not watch.fired_at and watches.get(key) is watch:
                step.drop(key)
