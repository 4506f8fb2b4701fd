"""Per-customer state: the facts every pattern shares, plus each pattern's own memo.

State is the hot object (one per customer, millions of them), so it is slotted,
sparse (empty collections are None) and bounded: every list has a cap. At rest
a customer is only its `encode`d bytes (the changelog value): a header with the
earliest pending deadline (so recovery can index deadlines without decoding
anyone) and the remembered event ids packed as 8-byte integers, then the rest
as a JSON array whose trailing defaults are left out (a customer's unsettled
events too, their checkpoint in base64).
"""

from __future__ import annotations

import struct
from base64 import b64decode, b64encode
from dataclasses import dataclass
from typing import Any

from schemas import codec
from schemas.alerts import Alert
from schemas.batches import Origin
from schemas.events import Touchpoint

NO_ORIGIN = Origin(-1, -1)
"""A customer whose events came from a replay."""

ACTIVE, LOST, CHURNED = 0, 1, 2
RECENT_EVENT_IDS = 32
MAX_OPEN_CASES = 64
ENCODING_VERSION = 4
"""First byte of an encoded state. Version 1 was one JSON array with the ids as numbers;
version 2 had no deadline in its header; version 3 kept a late clearing event in each watch."""
_HEADER = struct.Struct("<BqiqB")
"""Version, earliest pending deadline (0: none), the last event's origin (see `CustomerState.origin`),
number of remembered event ids."""


@dataclass(slots=True)
class Watch:
    """One pending deadline and/or open episode of a pattern (per sub-key, e.g. a case)."""

    due: int = 0
    since: int = 0
    triggers: list[str] | None = None
    fired_at: int = 0
    severity: str = ""
    segment: str | None = None
    """The customer's segment when the deadline was armed or the episode fired: its thresholds
    are the ones that apply, and its alerts name it."""

    def as_list(self) -> list[Any]:
        """The fields in order, without the trailing ones that hold their defaults."""
        return _without_trailing_defaults(
            [self.due, self.since, self.triggers, self.fired_at, self.severity, self.segment]
        )


@dataclass(slots=True)
class Unsettled:
    """Events applied after a deadline that the watermark has not reached yet.

    Until the watermark passes `deadline` nobody knows whether it fires: an event
    timed before it may still arrive and cancel it. So the events that came after
    it are applied at once, their alerts emitted where they cannot depend on the
    deadline, and kept here with the state from before them. Once the watermark
    passes `deadline` the engine runs them again from `checkpoint` with the
    deadline in its place, and emits what the first run held back
    (fine print, "Time": the alerts do not depend on how far the watermark lags).
    """

    deadline: int
    """The earliest pending deadline some of `events` come after."""
    checkpoint: bytes
    """The customer's encoded state before the first of `events`."""
    events: list[Touchpoint]
    """Every event applied since `checkpoint`, in arrival order."""
    emitted: list[str]
    """`alert_identity` of each alert emitted since `checkpoint`: a re-run emits only the others."""

    def as_list(self) -> list[Any]:
        return [
            self.deadline,
            b64encode(self.checkpoint).decode("ascii"),
            [[event.id, event.source, event.type, event.time, event.data] for event in self.events],
            self.emitted,
        ]

    @classmethod
    def from_list(cls, fields: list[Any], subject: str) -> Unsettled:
        deadline, checkpoint, events, emitted = fields
        return cls(
            deadline,
            b64decode(checkpoint),
            [
                Touchpoint(event_id, source, kind, subject, at, data)
                for event_id, source, kind, at, data in events
            ],
            emitted,
        )


def alert_identity(alert: Alert) -> str:
    """An alert event's identity: its episode's (or notice's) id and whether it fires or resolves."""
    return alert.alert_id + ("+" if alert.firing else "-")


@dataclass(slots=True)
class Case:
    """An open complaint, claim or support case."""

    kind: str
    severity: str
    opened_at: int
    updates: int = 0
    silenced: bool = False
    event_id: str = ""

    def as_list(self) -> list[Any]:
        return _without_trailing_defaults(
            [self.kind, self.severity, self.opened_at, self.updates, self.silenced, self.event_id], keep=3
        )


@dataclass(slots=True)
class CustomerState:
    """Everything remembered about one customer; `memo` is keyed by pattern name."""

    status: int = ACTIVE
    status_since: int = 0
    first_order_at: int = 0
    clock_start: int = 0
    returned: bool = False
    offer_sent_at: int = 0
    offer_closed_at: int = 0
    rep: str | None = None
    last_outbound_at: int = 0
    order_total: float = 0
    preferred: list[str] | None = None
    opted_out: list[str] | None = None
    interests: list[str] | None = None
    recent_ids: list[int] | None = None
    cases: dict[str, Case] | None = None
    watches: dict[str, Watch] | None = None
    memo: dict[str, Any] | None = None
    unsettled: Unsettled | None = None
    segment: str | None = None
    """The segment the customer belongs to (`customer.segmented`); None: none."""
    snoozes: dict[str, list[list[int]]] | None = None
    """Per snooze key (a pattern or "*"), the [start, end) event-time ranges it holds (`agents.commands`)."""
    origin: Origin = NO_ORIGIN
    """Where the last event applied to this customer was read. A customer's events come from one
    input partition in offset order, so an event read there again (a message redelivered after a
    crash, a poll forwarded twice) is known as such however many events it repeats."""

    @property
    def offer_open(self) -> bool:
        """An offer sent and not yet followed by an order, a lost deal or a cancellation."""
        return self.offer_sent_at > self.offer_closed_at

    def offer_open_at(self, at: int) -> bool:
        """Whether the latest offer was open at event time `at` (deadlines may fire after later events)."""
        sent, closed = self.offer_sent_at, self.offer_closed_at
        return 0 < sent <= at and not sent <= closed <= at

    def seen_before(self, event_key: int) -> bool:
        """Remember an event's (source, id) hash; True when it is among the last 32 seen."""
        recent = self.recent_ids
        if recent is None:
            self.recent_ids = [event_key]
            return False
        if event_key in recent:
            return True
        recent.append(event_key)
        if len(recent) > RECENT_EVENT_IDS:
            del recent[0]
        return False

    def next_due(self) -> int:
        """The earliest moment the watermark has something to do for this customer, 0 when never:
        its earliest pending deadline, or the deadline that settles its unsettled events."""
        earliest = self.unsettled.deadline if self.unsettled is not None else 0
        watches = self.watches
        if not watches:
            return earliest
        for watch in watches.values():  # a plain loop: this runs once per event
            due = watch.due
            if due and (due < earliest or not earliest):
                earliest = due
        return earliest

    def encode(self) -> bytes:
        """Compact changelog value; `decode` inverts it exactly."""
        recent = self.recent_ids or ()
        rest = codec.dumps(
            _without_trailing_defaults(
                [
                    self.status,
                    self.status_since,
                    self.first_order_at,
                    self.clock_start,
                    self.returned,
                    self.offer_sent_at,
                    self.offer_closed_at,
                    self.rep,
                    self.last_outbound_at,
                    self.order_total,
                    self.preferred,
                    self.opted_out,
                    self.interests,
                    {key: case.as_list() for key, case in self.cases.items()} if self.cases else None,
                    {key: watch.as_list() for key, watch in self.watches.items()} if self.watches else None,
                    self.memo,
                    self.unsettled.as_list() if self.unsettled is not None else None,
                    self.segment,
                    self.snoozes,
                ]
            )
        )
        count = len(recent)
        header = (ENCODING_VERSION, self.next_due(), *self.origin, count)
        return struct.pack(f"<BqiqB{count}Q", *header, *recent) + rest

    @classmethod
    def decode(cls, data: bytes, subject: str = "") -> CustomerState:
        """`subject` is the customer's id, which the unsettled events leave out."""
        _check_version(data)
        count = data[_HEADER.size - 1]
        ids_end = _HEADER.size + 8 * count
        fields = codec.loads(data[ids_end:])
        state = cls(*fields[:13])
        state.recent_ids = list(struct.unpack_from(f"<{count}Q", data, _HEADER.size)) if count else None
        _, _, partition, offset, _ = _HEADER.unpack_from(data)
        if partition >= 0:
            state.origin = Origin(partition, offset)
        if len(fields) > 13 and fields[13]:
            state.cases = {key: Case(*value) for key, value in fields[13].items()}
        if len(fields) > 14 and fields[14]:
            state.watches = {key: Watch(*value) for key, value in fields[14].items()}
        if len(fields) > 15:
            state.memo = fields[15]
        if len(fields) > 16 and fields[16]:
            state.unsettled = Unsettled.from_list(fields[16], subject)
        if len(fields) > 17:
            state.segment = fields[17]
        if len(fields) > 18:
            state.snoozes = fields[18]
        return state


def next_due_of(data: bytes) -> int:
    """`next_due` of an encoded state, read from its header: recovery indexes deadlines this way."""
    _check_version(data)
    due: int = _HEADER.unpack_from(data)[1]
    return due


def readable_next_due(data: bytes) -> int | None:
    """`next_due_of`, or None for a state this worker cannot read (its customer's events will
    fail as internal errors, one by one, while recovery goes on for everyone else)."""
    try:
        return next_due_of(data)
    except (ValueError, struct.error):
        return None


def _check_version(data: bytes) -> None:
    if data[0] != ENCODING_VERSION:
        found = "the JSON array of version 1" if data[:1] == b"[" else f"version {data[0]}"
        raise ValueError(f"customer state in {found}; this worker reads version {ENCODING_VERSION}")


_SCALAR_DEFAULTS = (type(None), bool, int, str)


def _without_trailing_defaults(fields: list[Any], keep: int = 0) -> list[Any]:
    """Drop trailing fields that hold their default (None, False, 0 or ""), never the first `keep`.

    Only those exact scalars go, so decoding restores every field exactly (0.0 and [] stay).
    """
    end = len(fields)
    while end > keep and type(fields[end - 1]) in _SCALAR_DEFAULTS and not fields[end - 1]:
        end -= 1
    del fields[end:]
    return fields
