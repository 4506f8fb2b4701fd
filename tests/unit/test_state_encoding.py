"""A customer at rest is its encoded bytes: the encoding must be exact and compact."""

from __future__ import annotations

import struct

import pytest

from agents.config import Config
from agents.engine import Engine
from agents.state import ENCODING_VERSION, RECENT_EVENT_IDS, Case, CustomerState, Origin, Watch, next_due_of
from schemas.timestamps import parse_instant
from streams.traffic import lifecycle_history

HISTORY = lifecycle_history(300, seed=9, start=parse_instant("2025-03-01T00:00:00Z"), span_days=60)


def _states_after(config: Config) -> dict[str, CustomerState]:
    engine = Engine(config)
    for event in HISTORY:
        engine.process(event)
        engine.drain()
    return dict(engine.customers())


@pytest.fixture(scope="module")
def states() -> list[CustomerState]:
    return list(_states_after(Config.default()).values())


@pytest.fixture(scope="module")
def lagging() -> dict[str, CustomerState]:
    """States while a watermark lags by 400 days: many customers have unsettled events."""
    return _states_after(Config.from_mapping({"engine": {"lateness": "400d"}}))


def test_every_state_of_a_history_decodes_to_itself(states: list[CustomerState]) -> None:
    assert len(states) > 250
    for state in states:
        assert CustomerState.decode(state.encode()) == state


def test_unsettled_events_and_their_checkpoint_decode_to_themselves(
    lagging: dict[str, CustomerState],
) -> None:
    unsettled = {subject: state for subject, state in lagging.items() if state.unsettled is not None}
    assert len(unsettled) > 50
    for subject, state in unsettled.items():
        encoded = state.encode()
        assert CustomerState.decode(encoded, subject) == state
        assert next_due_of(encoded) == state.next_due() <= state.unsettled.deadline  # type: ignore[union-attr]


def test_the_header_holds_the_deadline_the_origin_then_the_event_ids_as_eight_bytes_each(
    states: list[CustomerState],
) -> None:
    full = next(s for s in states if len(s.recent_ids or ()) == RECENT_EVENT_IDS and s.watches)
    full.origin = Origin(3, 1234)
    encoded = full.encode()
    header = (ENCODING_VERSION, full.next_due(), 3, 1234, RECENT_EVENT_IDS)
    assert struct.unpack_from("<BqiqB", encoded) == header
    assert list(struct.unpack_from(f"<{RECENT_EVENT_IDS}Q", encoded, 22)) == full.recent_ids
    assert CustomerState.decode(encoded).origin == (3, 1234)


def test_the_earliest_deadline_is_read_off_the_header_of_every_state(states: list[CustomerState]) -> None:
    assert sum(1 for state in states if state.next_due()) > 50
    assert sum(1 for state in states if not state.next_due()) > 50
    for state in states:
        assert next_due_of(state.encode()) == state.next_due()


def test_recovery_indexes_exactly_the_deadlines_the_engine_had(states: list[CustomerState]) -> None:
    stored = {f"C-{number}": state.encode() for number, state in enumerate(states)}
    recovered = Engine(Config.default(), stored)
    expected = {subject: state.next_due() for subject, state in zip(stored, states, strict=True)}
    assert recovered.customers_waiting == sum(1 for due in expected.values() if due)
    assert list(recovered.deadlines.pop_due(1 << 62)) == sorted(
        (due, subject) for subject, due in expected.items() if due
    )


def test_fields_holding_their_defaults_are_left_out_and_restored() -> None:
    state = CustomerState(rep="R-1", order_total=0.0)
    state.watches = {"lead_not_followed_up": Watch(due=5, since=1)}
    state.cases = {"K-1": Case("complaint", "", 0)}
    encoded = state.encode()
    header = struct.pack("<BqiqB", ENCODING_VERSION, 5, -1, -1, 0)
    assert encoded == header + b'[0,0,0,0,false,0,0,"R-1",0,0.0,null,null,null,' + (
        b'{"K-1":["complaint","",0]},{"lead_not_followed_up":[5,1]}]'
    )
    decoded = CustomerState.decode(encoded)
    assert decoded == state
    assert type(decoded.order_total) is float


def test_a_state_of_another_encoding_is_refused_naming_both_versions() -> None:
    version_3 = struct.pack("<BqB", 3, 0, 0) + b"[0,0,0,0,false,0,0,null,0,0]"  # version 3's header
    for read in (CustomerState.decode, next_due_of):
        with pytest.raises(ValueError, match="in version 3; this worker reads version 4"):
            read(version_3)
        with pytest.raises(ValueError, match="in the JSON array of version 1"):
            read(b"[0,0,0,0,false,0,0,null,0,0,null,null,null,null,null,null,null]")


def test_a_pattern_that_changes_its_memo_starts_afresh_for_itself_only() -> None:
    """Memos carry their pattern's version: a new one does not invalidate every stored customer."""
    from agents.patterns.detractor_feedback import DetractorFeedback
    from agents.patterns.over_communication import OverCommunication

    state = CustomerState()
    DetractorFeedback().remember(state, 4)
    OverCommunication().remember(state, [[1, "e1"]])
    stored = CustomerState.decode(state.encode())

    class DetractorFeedbackV2(DetractorFeedback):
        memo_version = 2

    assert DetractorFeedback().recall(stored) == 4
    assert DetractorFeedbackV2().recall(stored) is None
    assert OverCommunication().recall(stored) == [[1, "e1"]]
