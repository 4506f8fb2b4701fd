"""Named touchpoint samples for the input contract (shared/spec/events.md).

Every sample is a JSON value (what a producer could put on the topic, already
decoded) with the verdict the contract gives it: `reason` is None for a valid
touchpoint, else the reason code the processor must reject it with. The schema
agreement test runs both the JSON Schema (schemas/touchpoint.schema.json) and
`schemas.events.parse_event` over every sample.

Only defects a single JSON value can show are here: the 64 KiB limit
(`too_large`), undecodable bytes (`invalid_json`) and the wall-clock check
(`time_in_future`) are properties of the message or the processor, not of the
value, and the schema cannot express them. Nor can it count levels: the
nesting limit (`too_deep`) is tested in test_contract_limits.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

# The fixed set of reason codes (/tmp/sentinel-contract.md; metric labels).
REASON_CODES = (
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

TYPES = (
    "lead.created",
    "contact.made",
    "marketing.sent",
    "marketing.engaged",
    "preference.updated",
    "rep.assigned",
    "offer.sent",
    "competitor.mentioned",
    "order.placed",
    "deal.lost",
    "case.opened",
    "case.updated",
    "case.resolved",
    "invoice.issued",
    "change_request.quoted",
    "innovation.offered",
    "feedback.received",
    "contract.cancelled",
    "customer.erased",
    "alert.snoozed",
    "alert.unsnoozed",
    "customer.segmented",
)

# Required data fields per type: the bold ones in events.md's table.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "lead.created": (),
    "contact.made": ("channel", "direction"),
    "marketing.sent": ("channel",),
    "marketing.engaged": (),
    "preference.updated": (),
    "rep.assigned": ("rep",),
    "offer.sent": (),
    "competitor.mentioned": (),
    "order.placed": ("amount",),
    "deal.lost": (),
    "case.opened": ("case_id", "kind"),
    "case.updated": ("case_id", "direction"),
    "case.resolved": ("case_id",),
    "invoice.issued": ("amount",),
    "change_request.quoted": ("amount",),
    "innovation.offered": (),
    "feedback.received": ("score",),
    "contract.cancelled": (),
    "customer.erased": (),
    "alert.snoozed": ("pattern", "until"),
    "alert.unsnoozed": ("pattern",),
    "customer.segmented": ("segment",),
}

# The smallest valid data per type: exactly the required fields.
MINIMAL_DATA: dict[str, dict[str, Any]] = {
    "lead.created": {},
    "contact.made": {"channel": "phone", "direction": "outbound"},
    "marketing.sent": {"channel": "email"},
    "marketing.engaged": {},
    "preference.updated": {},
    "rep.assigned": {"rep": "R-7"},
    "offer.sent": {},
    "competitor.mentioned": {},
    "order.placed": {"amount": 12500},
    "deal.lost": {},
    "case.opened": {"case_id": "K-1", "kind": "complaint"},
    "case.updated": {"case_id": "K-1", "direction": "inbound"},
    "case.resolved": {"case_id": "K-1"},
    "invoice.issued": {"amount": 980.5},
    "change_request.quoted": {"amount": 2500},
    "innovation.offered": {},
    "feedback.received": {"score": 9},
    "contract.cancelled": {},
    "customer.erased": {},
    "alert.snoozed": {"pattern": "*", "until": "2026-03-08T09:30:00Z"},
    "alert.unsnoozed": {"pattern": "*"},
    "customer.segmented": {"segment": "key_account"},
}

# Every documented field per type, plus unknown extra fields (which must be kept).
EXTRA_FIELDS: dict[str, Any] = {"crm_ref": "X-99", "x_nested": {"a": [1, None, True]}}
FULL_DATA: dict[str, dict[str, Any]] = {
    "lead.created": {"owner": "R-7", "source_channel": "portal"},
    "contact.made": {
        "channel": "meeting",
        "direction": "inbound",
        "rep": "R-7",
        "purpose": "follow_up",
    },
    "marketing.sent": {
        "channel": "letter",
        "campaign": "spring-26",
        "topic": "solar",
        "kind": "catalog",
    },
    "marketing.engaged": {"campaign": "spring-26"},
    "preference.updated": {
        "preferred_channels": ["email", "phone"],
        "opted_out_channels": ["sms"],
        "interests": ["solar", "storage"],
    },
    "rep.assigned": {"rep": "R-9", "reason": "departed"},
    "offer.sent": {"offer_id": "O-17", "amount": 48000.0},
    "competitor.mentioned": {"competitor": "Acme"},
    "order.placed": {"amount": 52000, "currency": "EUR", "kind": "contract"},
    "deal.lost": {"reason": "price"},
    "case.opened": {"case_id": "K-2", "kind": "claim", "severity": "high"},
    "case.updated": {"case_id": "K-2", "direction": "outbound"},
    "case.resolved": {"case_id": "K-2", "outcome": "refunded"},
    "invoice.issued": {
        "amount": 1100,
        "agreed_amount": 1000,
        "currency": "EUR",
        "invoice_id": "INV-5",
        "fees": [
            {"name": "handling", "amount": 25, "disclosed": True},
            {"name": "service", "amount": 75.5, "disclosed": False},
        ],
    },
    "change_request.quoted": {"amount": 9000, "contract_value": 40000},
    "innovation.offered": {"product": "smart-meter"},
    "feedback.received": {"score": 3, "comment": "slow answers"},
    "contract.cancelled": {"reason": "moved"},
    "customer.erased": {},
    "alert.snoozed": {
        "pattern": "wrong_channel",
        "until": "2026-03-02T09:30:00+01:00",
        "by": "agent-4",
        "reason": "on holiday",
    },
    "alert.unsnoozed": {"pattern": "wrong_channel", "by": "agent-4"},
    "customer.segmented": {"segment": "key-Account_2"},
}


@dataclass(frozen=True)
class Sample:
    """One named touchpoint value and the contract's verdict on it."""

    name: str
    """Unique, readable test id."""
    event: Any
    """The decoded JSON value (usually an object)."""
    reason: str | None
    """None when the contract accepts it, else the expected `InvalidEvent.reason`."""
    note: str = ""
    """What the sample checks, with the spec rule it comes from."""


_MINIMAL = object()


def envelope(event_type: str = "contact.made", data: Any = _MINIMAL, **attributes: Any) -> dict[str, Any]:
    """A valid structured-mode CloudEvent (the events.md example), with overrides."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-000123",
        "source": "crm/eu-sales",
        "type": event_type,
        "subject": "C-1001",
        "time": "2026-03-01T09:30:00Z",
        "datacontenttype": "application/json",
        "data": copy.deepcopy(MINIMAL_DATA[event_type]) if data is _MINIMAL else data,
    }
    event.update(attributes)
    return event


def without(event: dict[str, Any], name: str) -> dict[str, Any]:
    """The event without one top-level attribute."""
    return {key: value for key, value in event.items() if key != name}


def data_with(event_type: str, **fields: Any) -> dict[str, Any]:
    """A valid event of `event_type` whose minimal data is changed by `fields`."""
    return envelope(event_type, {**MINIMAL_DATA[event_type], **fields})


def data_without(event_type: str, name: str) -> dict[str, Any]:
    """A valid event of `event_type` whose minimal data lacks `name`."""
    data = {key: value for key, value in MINIMAL_DATA[event_type].items() if key != name}
    return envelope(event_type, data)


def _valid() -> list[Sample]:
    samples = []
    for event_type in TYPES:
        samples.append(Sample(f"valid/{event_type}/minimal", envelope(event_type), None))
        full = {**copy.deepcopy(FULL_DATA[event_type]), **copy.deepcopy(EXTRA_FIELDS)}
        samples.append(
            Sample(
                f"valid/{event_type}/full+extra",
                envelope(event_type, full),
                None,
                "every documented field, plus unknown fields that are kept",
            )
        )
    base = envelope()
    samples += [
        Sample(
            "valid/no-datacontenttype", without(base, "datacontenttype"), None, "datacontenttype is optional"
        ),
        Sample(
            "valid/datacontenttype-null",
            envelope(datacontenttype=None),
            None,
            "CloudEvents JSON format: a null attribute is treated as absent",
        ),
        Sample(
            "valid/extension-attributes",
            envelope(
                traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                partitionkey="C-1001",
                dataschema="https://example.com/touchpoint",
            ),
            None,
            "CloudEvents extension attributes are allowed",
        ),
        Sample("valid/subject-1-char", envelope(subject="C"), None, "subject 1-128 chars"),
        Sample("valid/subject-128-chars", envelope(subject="C" * 128), None, "subject 1-128 chars"),
        Sample(
            "valid/subject-128-non-ascii-chars",
            envelope(subject="ü" * 128),
            None,
            "the limit counts characters, not UTF-8 bytes",
        ),
        Sample(
            "valid/subject-128-astral-chars",
            envelope(subject="\U0001f600" * 128),
            None,
            "characters are code points (JSON Schema and Python agree; not UTF-16 units)",
        ),
        Sample("valid/time-offset-plus", envelope(time="2026-03-01T10:30:00+01:00"), None, "RFC 3339 offset"),
        Sample(
            "valid/time-offset-minus", envelope(time="2026-03-01T04:00:00-05:30"), None, "RFC 3339 offset"
        ),
        Sample(
            "valid/time-offset-unknown-local",
            envelope(time="2026-03-01T09:30:00-00:00"),
            None,
            "RFC 3339 section 4.3: -00:00",
        ),
        Sample(
            "valid/time-fraction-1-digit",
            envelope(time="2026-03-01T09:30:00.5Z"),
            None,
            "fractional seconds allowed",
        ),
        Sample(
            "valid/time-fraction-millis",
            envelope(time="2026-03-01T09:30:00.123Z"),
            None,
            "fractional seconds allowed",
        ),
        Sample(
            "valid/time-fraction-nanos",
            envelope(time="2026-03-01T09:30:00.123456789+02:00"),
            None,
            "nanosecond timestamps (Go, Java) are RFC 3339",
        ),
        Sample(
            "valid/time-lowercase-t-z",
            envelope(time="2026-03-01t09:30:00z"),
            None,
            "RFC 3339 section 5.6 note: 't' and 'z' may be lower case",
        ),
        Sample(
            "valid/time-far-future",
            envelope(time="2999-12-31T23:59:59Z"),
            None,
            "the 1-day-ahead check is off without a clock (replay)",
        ),
        Sample(
            "valid/time-leap-second",
            envelope(time="2016-12-31T23:59:60Z"),
            None,
            "RFC 3339 section 5.6/5.7: time-second may be 60 (leap second)",
        ),
        Sample(
            "valid/time-fraction-10-digits",
            envelope(time="2026-03-01T09:30:00.1234567891Z"),
            None,
            'RFC 3339 section 5.6: time-secfrac = "." 1*DIGIT (no upper limit)',
        ),
        Sample(
            "valid/data-empty-for-optional-only-type",
            envelope("lead.created", {}),
            None,
            "no required fields",
        ),
        Sample(
            "valid/open-channel-value",
            data_with("contact.made", channel="carrier-pigeon"),
            None,
            "channel is open: any non-empty string is kept",
        ),
        Sample(
            "valid/open-marketing-kind",
            data_with("marketing.sent", kind="webinar"),
            None,
            "marketing kind is open",
        ),
        Sample("valid/open-purpose", data_with("contact.made", purpose="upsell"), None, "purpose is open"),
        Sample("valid/open-rep-reason", data_with("rep.assigned", reason="merger"), None, "reason is open"),
        Sample(
            "valid/open-deal-lost-reason", envelope("deal.lost", {"reason": "budget"}), None, "reason is open"
        ),
        Sample("valid/open-outcome", data_with("case.resolved", outcome="goodwill"), None, "outcome is open"),
        Sample(
            "valid/open-topic", data_with("marketing.sent", topic="anything at all"), None, "topic is open"
        ),
        Sample(
            "valid/case-severity-low", data_with("case.opened", severity="low"), None, "case severity enum"
        ),
        Sample(
            "valid/case-severity-medium",
            data_with("case.opened", severity="medium"),
            None,
            "case severity enum",
        ),
        Sample("valid/case-kind-support", data_with("case.opened", kind="support"), None, "case kind enum"),
        Sample(
            "valid/case-updated-outbound",
            data_with("case.updated", direction="outbound"),
            None,
            "direction enum",
        ),
        Sample("valid/score-0", data_with("feedback.received", score=0), None, "score 0-10"),
        Sample("valid/score-10", data_with("feedback.received", score=10), None, "score 0-10"),
        Sample(
            "valid/score-7.0",
            data_with("feedback.received", score=7.0),
            None,
            "JSON has one number type; 7.0 is the integer 7 (JSON Schema 'integer' agrees)",
        ),
        Sample("valid/amount-0", data_with("order.placed", amount=0), None, "amounts >= 0"),
        Sample(
            "valid/amount-decimal",
            data_with("order.placed", amount=0.01),
            None,
            "amounts are decimal numbers",
        ),
        Sample("valid/amount-huge", data_with("order.placed", amount=10**15), None, "no upper limit"),
        Sample(
            "valid/preference-lists-empty",
            envelope(
                "preference.updated", {"preferred_channels": [], "opted_out_channels": [], "interests": []}
            ),
            None,
            "an empty list replaces the stored one",
        ),
        Sample("valid/fees-empty", data_with("invoice.issued", fees=[]), None, "no fees"),
        Sample(
            "valid/fee-with-extra-field",
            data_with("invoice.issued", fees=[{"name": "x", "amount": 1, "disclosed": True, "code": "F1"}]),
            None,
            "unknown fields are kept",
        ),
        Sample(
            "valid/segment-null",
            data_with("customer.segmented", segment=None),
            None,
            "actions.md: a null segment means none",
        ),
        Sample(
            "valid/segment-64-chars", data_with("customer.segmented", segment="s" * 64), None, "1-64 chars"
        ),
        Sample(
            "valid/snooze-until-its-own-time",
            data_with("alert.snoozed", until="2026-03-01T09:30:00Z"),
            None,
            "actions.md: an until equal to the event's time is valid and holds nothing",
        ),
        Sample(
            "valid/snooze-a-pattern",
            data_with("alert.snoozed", pattern="endless_case"),
            None,
            "a pattern of the catalog",
        ),
    ]
    return samples


def _invalid() -> list[Sample]:
    base = envelope()
    samples = [
        Sample(
            "invalid/not-an-object/array",
            [base],
            "not_an_object",
            "parse_event takes one event; arrays are batches (decode_message)",
        ),
        Sample("invalid/not-an-object/string", "contact.made", "not_an_object", ""),
        Sample("invalid/not-an-object/null", None, "not_an_object", ""),
        Sample("invalid/not-an-object/number", 42, "not_an_object", ""),
    ]
    for name in ("specversion", "id", "source", "type", "subject", "time", "data"):
        samples.append(
            Sample(f"invalid/missing/{name}", without(base, name), "missing_attribute", f"{name} is required")
        )
    samples += [
        Sample(
            "invalid/null/id",
            envelope(id=None),
            "missing_attribute",
            "CloudEvents JSON format: null is treated as absent, and id is required",
        ),
        Sample(
            "invalid/null/data", envelope(data=None), "missing_attribute", "null is absent; data is required"
        ),
        Sample("invalid/specversion/0.3", envelope(specversion="0.3"), "invalid_attribute", 'must be "1.0"'),
        Sample(
            "invalid/specversion/number",
            envelope(specversion=1.0),
            "invalid_attribute",
            'must be the string "1.0"',
        ),
        Sample(
            "invalid/id/empty", envelope(id=""), "invalid_attribute", "CloudEvents: id is a non-empty string"
        ),
        Sample("invalid/id/number", envelope(id=123), "invalid_attribute", "id is a string"),
        Sample("invalid/source/empty", envelope(source=""), "invalid_attribute", "source: non-empty string"),
        Sample("invalid/source/number", envelope(source=7), "invalid_attribute", "source: non-empty string"),
        Sample("invalid/type/empty", envelope(type=""), "invalid_attribute", "type is a string"),
        Sample("invalid/type/number", envelope(type=3), "invalid_attribute", "type is a string"),
        Sample("invalid/subject/0-chars", envelope(subject=""), "invalid_attribute", "subject 1-128 chars"),
        Sample(
            "invalid/subject/129-chars",
            envelope(subject="C" * 129),
            "invalid_attribute",
            "subject 1-128 chars",
        ),
        Sample("invalid/subject/number", envelope(subject=1001), "invalid_attribute", "subject is a string"),
        Sample(
            "invalid/time/no-zone",
            envelope(time="2026-03-01T09:30:00"),
            "invalid_attribute",
            "RFC 3339 with zone required",
        ),
        Sample("invalid/time/not-a-date", envelope(time="yesterday"), "invalid_attribute", "RFC 3339"),
        Sample(
            "invalid/time/date-only", envelope(time="2026-03-01"), "invalid_attribute", "RFC 3339 date-time"
        ),
        Sample("invalid/time/empty", envelope(time=""), "invalid_attribute", "RFC 3339"),
        Sample(
            "invalid/time/offset-without-colon",
            envelope(time="2026-03-01T09:30:00+0100"),
            "invalid_attribute",
            "RFC 3339 time-numoffset is +hh:mm",
        ),
        Sample(
            "invalid/time/space-separator",
            envelope(time="2026-03-01 09:30:00Z"),
            "invalid_attribute",
            "RFC 3339 date-time uses T",
        ),
        Sample(
            "invalid/time/month-13",
            envelope(time="2026-13-01T09:30:00Z"),
            "invalid_attribute",
            "date-month 01-12",
        ),
        Sample(
            "invalid/time/hour-24",
            envelope(time="2026-03-01T24:00:00Z"),
            "invalid_attribute",
            "time-hour 00-23",
        ),
        Sample(
            "invalid/time/minute-60",
            envelope(time="2026-03-01T09:60:00Z"),
            "invalid_attribute",
            "time-minute 00-59",
        ),
        Sample(
            "invalid/time/fraction-without-digits",
            envelope(time="2026-03-01T09:30:00.Z"),
            "invalid_attribute",
            "time-secfrac needs a digit",
        ),
        Sample(
            "invalid/time/trailing-newline",
            envelope(time="2026-03-01T09:30:00Z\n"),
            "invalid_attribute",
            "nothing after the zone (a regex '$' would allow it)",
        ),
        Sample(
            "invalid/time/trailing-space",
            envelope(time="2026-03-01T09:30:00Z "),
            "invalid_attribute",
            "nothing after the zone",
        ),
        Sample(
            "invalid/time/epoch-number",
            envelope(time=1772357400000),
            "invalid_attribute",
            "time is an RFC 3339 string",
        ),
        Sample(
            "invalid/datacontenttype/text",
            envelope(datacontenttype="text/plain"),
            "invalid_attribute",
            '"application/json" when present',
        ),
        Sample(
            "invalid/datacontenttype/xml",
            envelope(datacontenttype="application/xml"),
            "invalid_attribute",
            '"application/json" when present',
        ),
        Sample(
            "invalid/datacontenttype/number",
            envelope(datacontenttype=1),
            "invalid_attribute",
            '"application/json" when present',
        ),
        Sample("invalid/data/string", envelope(data="channel=phone"), "invalid_attribute", "data: object"),
        Sample(
            "invalid/data/array",
            envelope(data=[MINIMAL_DATA["contact.made"]]),
            "invalid_attribute",
            "data: object",
        ),
        Sample(
            "invalid/data/number",
            envelope("customer.erased", 0),
            "invalid_attribute",
            "data: object, even with no fields",
        ),
        Sample("invalid/type/unknown", envelope(type="contact.deleted"), "unknown_type", "one of the types"),
        Sample(
            "invalid/type/wrong-case",
            envelope(type="Contact.Made"),
            "unknown_type",
            "types are case-sensitive",
        ),
        Sample(
            "invalid/type/alert-fed-back",
            envelope(type="alert.fired"),
            "unknown_type",
            "our own output is not a touchpoint",
        ),
    ]
    for event_type, fields in REQUIRED_FIELDS.items():
        for name in fields:
            samples.append(
                Sample(
                    f"invalid/missing-field/{event_type}/{name}",
                    data_without(event_type, name),
                    "missing_field",
                    f"{event_type} requires data.{name}",
                )
            )

    def field(name: str, event_type: str, note: str, **fields: Any) -> Sample:
        return Sample(
            f"invalid/field/{event_type}/{name}", data_with(event_type, **fields), "invalid_field", note
        )

    samples += [
        field("direction-sideways", "contact.made", "direction enum", direction="sideways"),
        field("direction-capitalised", "contact.made", "direction enum", direction="Inbound"),
        field("direction-null", "contact.made", "a required field may not be null", direction=None),
        field("direction-sideways", "case.updated", "direction enum", direction="sideways"),
        field("channel-empty", "contact.made", "open strings are non-empty", channel=""),
        field("channel-number", "marketing.sent", "channel is a string", channel=5),
        field("channel-empty", "marketing.sent", "open strings are non-empty", channel=""),
        field("kind-empty", "marketing.sent", "marketing kind: non-empty string", kind=""),
        field("topic-empty", "marketing.sent", "topic: non-empty string", topic=""),
        field("topic-null", "marketing.sent", "a present field must have a value", topic=None),
        field("purpose-empty", "contact.made", "purpose: non-empty string", purpose=""),
        field("reason-empty", "rep.assigned", "reason: non-empty string", reason=""),
        field("rep-empty", "rep.assigned", "rep names the new owner", rep=""),
        field("rep-number", "rep.assigned", "rep is a string", rep=7),
        field("outcome-empty", "case.resolved", "outcome: non-empty string", outcome=""),
        field("case-id-number", "case.opened", "case_id is a string", case_id=42),
        field("case-id-empty", "case.updated", "case_id is a non-empty string", case_id=""),
        field("kind-incident", "case.opened", "case kind enum", kind="incident"),
        field("kind-Complaint", "case.opened", "case kind enum is case-sensitive", kind="Complaint"),
        field("severity-critical", "case.opened", "case severity enum", severity="critical"),
        field("severity-null", "case.opened", "severity: enum when present", severity=None),
        field("score-11", "feedback.received", "score 0-10", score=11),
        field("score-minus-1", "feedback.received", "score 0-10", score=-1),
        field("score-5.5", "feedback.received", "score is an integer", score=5.5),
        field("score-string", "feedback.received", "score is a number", score="7"),
        field("score-bool", "feedback.received", "true is not a number", score=True),
        field("score-null", "feedback.received", "a required field may not be null", score=None),
        field("comment-number", "feedback.received", "comment is text", comment=5),
        field("amount-negative", "order.placed", "amounts >= 0", amount=-1),
        field("amount-string", "order.placed", "amounts are JSON numbers", amount="100"),
        field("amount-bool", "order.placed", "true is not a number", amount=True),
        field(
            "amount-object",
            "order.placed",
            "amounts are JSON numbers",
            amount={"value": 1, "currency": "EUR"},
        ),
        field("amount-negative", "invoice.issued", "amounts >= 0", amount=-0.01),
        field("agreed-amount-negative", "invoice.issued", "amounts >= 0", agreed_amount=-5),
        field("agreed-amount-string", "invoice.issued", "amounts are numbers", agreed_amount="1000"),
        field("amount-string", "change_request.quoted", "amounts are numbers", amount="9000"),
        field("contract-value-negative", "change_request.quoted", "amounts >= 0", contract_value=-1),
        field("amount-negative", "offer.sent", "amounts >= 0", amount=-100),
        field(
            "fees-object",
            "invoice.issued",
            "fees is an array",
            fees={"name": "x", "amount": 1, "disclosed": True},
        ),
        field("fee-not-object", "invoice.issued", "fees items are objects", fees=["handling"]),
        field(
            "fee-disclosed-string",
            "invoice.issued",
            "disclosed is a boolean",
            fees=[{"name": "service", "amount": 75, "disclosed": "no"}],
        ),
        field(
            "fee-disclosed-number",
            "invoice.issued",
            "disclosed is a boolean",
            fees=[{"name": "service", "amount": 75, "disclosed": 0}],
        ),
        field(
            "fee-amount-negative",
            "invoice.issued",
            "amounts >= 0",
            fees=[{"name": "rebate", "amount": -10, "disclosed": True}],
        ),
        field(
            "fee-amount-string",
            "invoice.issued",
            "amounts are numbers",
            fees=[{"name": "service", "amount": "75", "disclosed": True}],
        ),
        field(
            "fee-name-number",
            "invoice.issued",
            "fee name is text",
            fees=[{"name": 1, "amount": 75, "disclosed": True}],
        ),
        field("invoice-id-number", "invoice.issued", "invoice_id is a string", invoice_id=5),
        field("currency-empty", "order.placed", "currency is a non-empty string", currency=""),
        field("owner-empty", "lead.created", "owner names a rep", owner=""),
        field("source-channel-empty", "lead.created", "a channel is a non-empty string", source_channel=""),
        field(
            "preferred-string",
            "preference.updated",
            "preference lists are arrays",
            preferred_channels="email",
        ),
        field("opted-out-null", "preference.updated", "preference lists are arrays", opted_out_channels=None),
        field("interests-number-item", "preference.updated", "lists of strings", interests=["solar", 1]),
        field(
            "interests-object", "preference.updated", "preference lists are arrays", interests={"solar": True}
        ),
        field("campaign-number", "marketing.engaged", "campaign is a string", campaign=12),
        field("competitor-empty", "competitor.mentioned", "competitor is a non-empty string", competitor=""),
        field("product-empty", "innovation.offered", "product is a non-empty string", product=""),
        field("reason-number", "contract.cancelled", "reason is a string", reason=1),
        field("reason-empty", "deal.lost", "reason: non-empty string", reason=""),
        field("offer-id-number", "offer.sent", "offer_id is a string", offer_id=17),
        field("snooze-unknown-pattern", "alert.snoozed", "a catalog pattern or *", pattern="any"),
        field("unsnooze-unknown-pattern", "alert.unsnoozed", "a catalog pattern or *", pattern="all"),
        field("snooze-until-not-a-time", "alert.snoozed", "until is RFC 3339", until="tomorrow"),
        field("snooze-until-no-zone", "alert.snoozed", "until has a zone", until="2026-03-02T09:30:00"),
        field("segment-with-space", "customer.segmented", "letters, digits, _ or -", segment="key account"),
        field("segment-empty", "customer.segmented", "1-64 chars", segment=""),
        field("segment-65-chars", "customer.segmented", "1-64 chars", segment="s" * 65),
        field("segment-number", "customer.segmented", "segment is a string or null", segment=7),
    ]
    return samples


# Samples on which schemas/events.py and events.md (hence the JSON Schema) disagree,
# with the reason. The agreement tests expect these to fail (strict xfail): when
# events.py or the spec changes, the xfail turns into an error and the entry goes.
KNOWN_DISAGREEMENTS: dict[str, str] = {}

VALID_SAMPLES: list[Sample] = _valid()
INVALID_SAMPLES: list[Sample] = _invalid()
ALL_SAMPLES: list[Sample] = VALID_SAMPLES + INVALID_SAMPLES
