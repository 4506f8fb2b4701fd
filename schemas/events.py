"""The touchpoint contract (shared/spec/events.md): parse and validate CloudEvents.

`parse_event` is the single gate every touchpoint passes, online or in a replay.
It checks exactly what the contract fixes and keeps everything else: unknown
data fields stay in `data`, open string fields keep any non-empty value.

Limits the contract leaves to the processor:

- Nesting: an event nests at most 64 levels of objects and arrays, itself
  included (`{"data": {"x": []}}` nests 3); deeper is `too_deep`. Every
  touchpoint is written again inside an internal batch and, while it waits on
  a deadline, inside its customer's state, a few levels further down, and
  orjson writes at most 255 levels: 64 leaves room for both, and no real
  event comes near it. A batch array does not count (each element is handled
  as if it came alone).
- Batches: a batch message is at most 1 MiB, Kafka's default for a topic's
  message size, and holds at most 10,000 elements: 1 MiB holds fewer of the
  smallest valid events (~110 bytes), so the count only stops arrays of junk,
  where each element would be a dead letter of its own. A batch over either
  limit is one dead letter, `too_large`; an empty one is `not_an_object`.
- Numbers: a JSON number too large for a double (1e400) or a NaN/Infinity
  token is not JSON to orjson (`invalid_json`); amounts must be finite, so
  one from elsewhere that is infinite or NaN is `invalid_field`.

The commands of shared/spec/actions.md are touchpoints too: `alert.snoozed`
and `alert.unsnoozed` (a `pattern` of the catalog or `*`; `until` not before
the event and at most 366 days after it) and `customer.segmented` (a
`segment` of 1-64 letters, digits, `_` or `-`, or null: no segment).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas import codec
from schemas.alerts import PATTERNS
from schemas.errors import InvalidEvent
from schemas.timestamps import DAY, HOUR, format_instant, parse_instant

MAX_EVENT_BYTES = 64 * 1024
MAX_SUBJECT_CHARS = 128
MAX_DEPTH = 64
"""Levels of objects and arrays an event may nest, itself included."""
MAX_BATCH_EVENTS = 10_000
"""Elements a batch message may hold."""
MAX_MESSAGE_BYTES = 1024 * 1024
"""A batch message's limit ("the topic's message size": Kafka's default max.message.bytes)."""
FUTURE_TOLERANCE_MS = HOUR
"""How far ahead of the wall clock an event may be in live operation, unless the settings say
otherwise (`future_tolerance`): one event far ahead would pull its input partition's clock there."""

REASONS = (
    "invalid_json",
    "not_an_object",
    "too_large",
    "too_deep",
    "missing_attribute",
    "invalid_attribute",
    "unknown_type",
    "missing_field",
    "invalid_field",
    "time_in_future",
    "internal_error",
)
"""Why a touchpoint was refused (the dead letter's `sentinel-reason`, the metric's label). All but the
last are breaches of the contract; `internal_error` is input the processor failed on (a bug)."""
INTERNAL_ERROR = "internal_error"

CHANNELS = frozenset({"email", "phone", "meeting", "chat", "letter", "sms", "social", "portal", "visit"})
DIRECTIONS = frozenset({"inbound", "outbound"})
CASE_KINDS = frozenset({"complaint", "claim", "support"})
CASE_SEVERITIES = frozenset({"low", "medium", "high"})


@dataclass(slots=True)
class Touchpoint:
    """One validated touchpoint; `time` is event time in epoch milliseconds (UTC)."""

    id: str
    source: str
    type: str
    subject: str
    time: int
    data: dict[str, Any]


@dataclass(slots=True, frozen=True)
class Rejected:
    """A message, or one element of a batch, that failed the contract."""

    index: int | None
    reason: str
    message: str
    raw: bytes


FieldCheck = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return type(value) is str and value != ""


def _any_text(value: Any) -> bool:
    return type(value) is str


def _amount(value: Any) -> bool:
    """A finite number >= 0: NaN fails both comparisons, infinity the second."""
    return type(value) in (int, float) and 0 <= value < math.inf


def _score(value: Any) -> bool:
    if type(value) is float and value.is_integer():
        value = int(value)
    return type(value) is int and 0 <= value <= 10


def _one_of(allowed: frozenset[str]) -> FieldCheck:
    return lambda value: type(value) is str and value in allowed


def _text_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _fees(value: Any) -> bool:
    return type(value) is list and all(
        type(fee) is dict
        and _any_text(fee.get("name", ""))
        and _amount(fee.get("amount", 0))
        and type(fee.get("disclosed", True)) is bool
        for fee in value
    )


_CONTAINERS = (dict, list)


def _deeper_than(value: dict[Any, Any] | list[Any], levels: int) -> bool:
    """Whether a container nests more than `levels` containers, itself included; stops at the first."""
    if levels < 1:
        return True
    children = value.values() if type(value) is dict else value
    for child in children:  # noqa: SIM110 (any() over a generator takes twice as long, per event)
        if type(child) in _CONTAINERS and _deeper_than(child, levels - 1):
            return True
    return False


_DIRECTION = _one_of(DIRECTIONS)
SNOOZE_TARGETS = frozenset({*PATTERNS, "*"})
SNOOZE_HORIZON_MS = 366 * DAY
"""How far after its own time a snooze may reach."""
SEGMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _instant(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        parse_instant(value)
    except ValueError:
        return False
    return True


def _segment_name(value: Any) -> bool:
    return type(value) is str and SEGMENT_NAME.fullmatch(value) is not None


def _snooze_window(data: Mapping[str, Any], time: int) -> str | None:
    """What is wrong with a snooze's `until` for an event at `time`, if anything."""
    until = parse_instant(data["until"])
    if until < time:
        return "data.until must not be before the event's time"
    if until > time + SNOOZE_HORIZON_MS:
        return "data.until must be at most 366 days after the event's time"
    return None


WHOLE_EVENT_CHECKS: Mapping[str, Callable[[Mapping[str, Any], int], str | None]] = {
    "alert.snoozed": _snooze_window,
}
"""Checks that need more than one field (run after the field checks passed): type -> why it fails."""
NULLABLE: frozenset[tuple[str, str]] = frozenset({("customer.segmented", "segment")})
"""Fields that must be present but may be null (no segment)."""

# type -> {field: (required, check, what a valid value is)}
DATA_FIELDS: Mapping[str, Mapping[str, tuple[bool, FieldCheck, str]]] = {
    "lead.created": {
        "owner": (False, _text, "a non-empty string"),
        "source_channel": (False, _text, "a non-empty string"),
    },
    "contact.made": {
        "channel": (True, _text, "a non-empty string"),
        "direction": (True, _DIRECTION, "'inbound' or 'outbound'"),
        "rep": (False, _text, "a non-empty string"),
        "purpose": (False, _text, "a non-empty string"),
    },
    "marketing.sent": {
        "channel": (True, _text, "a non-empty string"),
        "campaign": (False, _text, "a non-empty string"),
        "topic": (False, _text, "a non-empty string"),
        "kind": (False, _text, "a non-empty string"),
    },
    "marketing.engaged": {"campaign": (False, _text, "a non-empty string")},
    "preference.updated": {
        "preferred_channels": (False, _text_list, "an array of strings"),
        "opted_out_channels": (False, _text_list, "an array of strings"),
        "interests": (False, _text_list, "an array of strings"),
    },
    "rep.assigned": {
        "rep": (True, _text, "a non-empty string"),
        "reason": (False, _text, "a non-empty string"),
    },
    "offer.sent": {
        "offer_id": (False, _text, "a non-empty string"),
        "amount": (False, _amount, "a finite number >= 0"),
    },
    "competitor.mentioned": {"competitor": (False, _text, "a non-empty string")},
    "order.placed": {
        "amount": (True, _amount, "a finite number >= 0"),
        "currency": (False, _text, "a non-empty string"),
        "kind": (False, _text, "a non-empty string"),
    },
    "deal.lost": {"reason": (False, _text, "a non-empty string")},
    "case.opened": {
        "case_id": (True, _text, "a non-empty string"),
        "kind": (True, _one_of(CASE_KINDS), "'complaint', 'claim' or 'support'"),
        "severity": (False, _one_of(CASE_SEVERITIES), "'low', 'medium' or 'high'"),
    },
    "case.updated": {
        "case_id": (True, _text, "a non-empty string"),
        "direction": (True, _DIRECTION, "'inbound' or 'outbound'"),
    },
    "case.resolved": {
        "case_id": (True, _text, "a non-empty string"),
        "outcome": (False, _text, "a non-empty string"),
    },
    "invoice.issued": {
        "amount": (True, _amount, "a finite number >= 0"),
        "agreed_amount": (False, _amount, "a finite number >= 0"),
        "currency": (False, _text, "a non-empty string"),
        "invoice_id": (False, _text, "a non-empty string"),
        "fees": (False, _fees, "an array of {name, finite amount >= 0, disclosed: boolean}"),
    },
    "change_request.quoted": {
        "amount": (True, _amount, "a finite number >= 0"),
        "contract_value": (False, _amount, "a finite number >= 0"),
    },
    "innovation.offered": {"product": (False, _text, "a non-empty string")},
    "feedback.received": {
        "score": (True, _score, "an integer from 0 to 10"),
        "comment": (False, _any_text, "a string"),
    },
    "contract.cancelled": {"reason": (False, _text, "a non-empty string")},
    "customer.erased": {},
    "alert.snoozed": {
        "pattern": (True, _one_of(SNOOZE_TARGETS), 'a pattern of the catalog or "*"'),
        "until": (True, _instant, "an RFC 3339 time with a zone"),
        "by": (False, _text, "a non-empty string"),
        "reason": (False, _text, "a non-empty string"),
    },
    "alert.unsnoozed": {
        "pattern": (True, _one_of(SNOOZE_TARGETS), 'a pattern of the catalog or "*"'),
        "by": (False, _text, "a non-empty string"),
    },
    "customer.segmented": {
        "segment": (True, _segment_name, "1 to 64 letters, digits, '_' or '-', or null"),
    },
}
TYPES = tuple(DATA_FIELDS)


def _attribute(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None:
        raise InvalidEvent("missing_attribute", f"attribute '{name}' is missing")
    if type(value) is not str or value == "":
        raise InvalidEvent("invalid_attribute", f"attribute '{name}' must be a non-empty string")
    return value


def parse_event(obj: object, *, not_after_ms: int | None = None) -> Touchpoint:
    """Validate one decoded CloudEvent against the contract.

    `not_after_ms` is the latest event time accepted, in live operation the wall
    clock plus the future tolerance: later events are refused (time_in_future).
    A replay passes None and skips that check.
    """
    return _parse(obj, not_after_ms, shallow=False)


def _parse(obj: object, not_after_ms: int | None, *, shallow: bool) -> Touchpoint:
    if type(obj) is dict:
        event = _parse_well_formed(obj, not_after_ms, shallow=shallow)
        if event is not None:
            return event
    return _parse_rule_by_rule(obj, not_after_ms)


def _parse_well_formed(
    obj: dict[str, Any], not_after_ms: int | None, *, shallow: bool = False
) -> Touchpoint | None:
    """The hot path: all checks in one pass, for the valid events nearly all input is.

    Returns None at the first doubt, and `_parse_rule_by_rule` then decides and,
    for bad input, names the first rule broken; so the two must accept exactly
    the same events (tests/unit/test_schema_agreement.py holds them to it).
    `shallow` skips the nesting walk when the caller knows the value cannot be
    deep (`decode_message` counts the brackets of its bytes).
    """
    get = obj.get
    event_id, source, event_type, subject = get("id"), get("source"), get("type"), get("subject")
    time_text, data, content_type = get("time"), get("data"), get("datacontenttype")
    if not (
        type(event_id) is str
        and type(source) is str
        and type(event_type) is str
        and type(subject) is str
        and type(time_text) is str
        and type(data) is dict
        and event_id != ""
        and source != ""
        and 0 < len(subject) <= MAX_SUBJECT_CHARS
        and get("specversion") == "1.0"
        and (content_type is None or content_type == "application/json")
    ):
        return None
    fields = DATA_FIELDS.get(event_type)
    if fields is None or (not shallow and _deeper_than(obj, MAX_DEPTH)):
        return None
    for name, (required, check, _) in fields.items():
        value = data.get(name)
        if value is None:
            if (required or name in data) and not (name in data and (event_type, name) in NULLABLE):
                return None
        elif not check(value):
            return None
    try:
        time = parse_instant(time_text)
    except ValueError:
        return None
    if not_after_ms is not None and time > not_after_ms:
        return None
    whole = WHOLE_EVENT_CHECKS.get(event_type)
    if whole is not None and whole(data, time) is not None:
        return None
    return Touchpoint(event_id, source, event_type, subject, time, data)


def _parse_rule_by_rule(obj: object, not_after_ms: int | None) -> Touchpoint:
    """The contract's checks one at a time, in a fixed order, so bad input gets the first reason."""
    if isinstance(obj, dict | list) and _deeper_than(obj, MAX_DEPTH):
        raise _too_deep()
    if type(obj) is not dict:
        raise InvalidEvent("not_an_object", "a touchpoint must be a JSON object")
    if obj.get("specversion") != "1.0":
        if "specversion" not in obj:
            raise InvalidEvent("missing_attribute", "attribute 'specversion' is missing")
        raise InvalidEvent("invalid_attribute", "attribute 'specversion' must be \"1.0\"")
    event_id = _attribute(obj, "id")
    source = _attribute(obj, "source")
    event_type = _attribute(obj, "type")
    subject = _attribute(obj, "subject")
    time_text = _attribute(obj, "time")
    fields = DATA_FIELDS.get(event_type)
    if fields is None:
        raise InvalidEvent("unknown_type", f"type {event_type!r} is not a touchpoint type")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise InvalidEvent(
            "invalid_attribute", f"attribute 'subject' is longer than {MAX_SUBJECT_CHARS} characters"
        )
    try:
        time = parse_instant(time_text)
    except ValueError:
        raise InvalidEvent(
            "invalid_attribute", "attribute 'time' must be RFC 3339 with a zone, e.g. 2026-03-01T09:30:00Z"
        ) from None
    content_type = obj.get("datacontenttype")
    if content_type is not None and content_type != "application/json":
        raise InvalidEvent("invalid_attribute", "attribute 'datacontenttype' must be \"application/json\"")
    data = obj.get("data")
    if data is None:
        raise InvalidEvent("missing_attribute", "attribute 'data' is missing")
    if type(data) is not dict:
        raise InvalidEvent("invalid_attribute", "attribute 'data' must be an object")
    for name, (required, check, expected) in fields.items():
        value = data.get(name)
        if value is None:
            if name in data:
                if (event_type, name) in NULLABLE:
                    continue
                raise InvalidEvent("invalid_field", f"data.{name} must be {expected}, not null")
            if required:
                raise InvalidEvent("missing_field", f"{event_type} needs data.{name}")
        elif not check(value):
            raise InvalidEvent("invalid_field", f"data.{name} must be {expected}")
    whole = WHOLE_EVENT_CHECKS.get(event_type)
    problem = whole(data, time) if whole is not None else None
    if problem is not None:
        raise InvalidEvent("invalid_field", problem)
    if not_after_ms is not None and time > not_after_ms:
        raise InvalidEvent(
            "time_in_future",
            f"time {time_text} is after {format_instant(not_after_ms)}, the clock plus the future tolerance",
        )
    return Touchpoint(event_id, source, event_type, subject, time, data)


def _too_deep() -> InvalidEvent:
    return InvalidEvent("too_deep", f"nests more than {MAX_DEPTH} levels of objects and arrays")


def _not_json(error: codec.JSONDecodeError, what: str = "not JSON") -> InvalidEvent:
    """orjson stops reading at 1,024 levels: that is the nesting limit, not a syntax error."""
    if str(error).startswith("depth limit exceeded"):
        return _too_deep()
    return InvalidEvent("invalid_json", f"{what}: {error}")


def decode_message(
    value: bytes, *, not_after_ms: int | None = None
) -> tuple[list[Touchpoint], list[Rejected]]:
    """Decode one Kafka message value: a single event or a CloudEvents batch array.

    A bad batch element is rejected on its own (re-serialised, with its index);
    the good elements around it are kept.
    """
    if len(value) > MAX_EVENT_BYTES:
        if len(value) > MAX_MESSAGE_BYTES:
            return [], [_whole("too_large", f"message is over {MAX_MESSAGE_BYTES} bytes", value)]
        if value.lstrip()[:1] != b"[":
            return [], [_whole("too_large", f"event is over {MAX_EVENT_BYTES} bytes", value)]
    try:
        decoded = codec.loads(value)
    except codec.JSONDecodeError as error:
        bad = _not_json(error)
        return [], [Rejected(None, bad.reason, bad.message, value)]
    if type(decoded) is not list:
        try:
            shallow = value.count(b"{") + value.count(b"[") <= MAX_DEPTH
            return [_parse(decoded, not_after_ms, shallow=shallow)], []
        except InvalidEvent as error:
            return [], [Rejected(None, error.reason, error.message, value)]
    if not decoded:
        return [], [_whole("not_an_object", "an empty batch array holds no touchpoint", value)]
    if len(decoded) > MAX_BATCH_EVENTS:
        message = f"a batch of {len(decoded):,} elements is over the {MAX_BATCH_EVENTS:,} it may hold"
        return [], [_whole("too_large", message, value)]
    return _decode_batch(decoded, not_after_ms, check_sizes=len(value) > MAX_EVENT_BYTES)


def _whole(reason: str, message: str, value: bytes) -> Rejected:
    """The whole message refused, not one element of it."""
    return Rejected(None, reason, message, value)


def _decode_batch(
    elements: Iterable[Any], not_after_ms: int | None, *, check_sizes: bool
) -> tuple[list[Touchpoint], list[Rejected]]:
    events: list[Touchpoint] = []
    rejected: list[Rejected] = []
    for index, element in enumerate(elements):
        try:
            event = parse_event(element, not_after_ms=not_after_ms)
        except InvalidEvent as error:
            rejected.append(Rejected(index, error.reason, error.message, codec.dumps(element)))
            continue
        if check_sizes and len(raw := codec.dumps(element)) > MAX_EVENT_BYTES:
            rejected.append(Rejected(index, "too_large", f"event is over {MAX_EVENT_BYTES} bytes", raw))
            continue
        events.append(event)
    return events, rejected


def event_from_binary(
    headers: Mapping[str, bytes | None], value: bytes, *, not_after_ms: int | None = None
) -> Touchpoint:
    """Kafka binary mode: CloudEvents attributes in `ce_*` headers, the data as the value.

    A header without a value is an absent attribute (CloudEvents: null is absent);
    the attributes count toward the event's 64 KiB, as they would in structured mode.
    """
    event: dict[str, Any] = {}
    size = len(value)
    for name, raw in headers.items():
        if raw is None or not name.startswith("ce_"):
            continue
        size += len(raw)
        try:
            event[name[3:]] = raw.decode()
        except UnicodeDecodeError:
            raise InvalidEvent("invalid_attribute", f"header {name!r} is not UTF-8") from None
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent("too_large", f"event is over {MAX_EVENT_BYTES} bytes")
    try:
        event["data"] = codec.loads(value)
    except codec.JSONDecodeError as error:
        raise _not_json(error, "data is not JSON") from None
    return parse_event(event, not_after_ms=not_after_ms)


def encode_event(event: Touchpoint) -> bytes:
    """The structured-mode CloudEvent for a touchpoint (used by producers, the demo and tests)."""
    return codec.dumps(
        {
            "specversion": "1.0",
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "subject": event.subject,
            "time": format_instant(event.time),
            "datacontenttype": "application/json",
            "data": event.data,
        }
    )
