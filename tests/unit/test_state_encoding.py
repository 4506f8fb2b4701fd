"""A customer at rest is its encoded bytes: the encoding must be exact and compact."""

from __future__ import annotations

import struct

import pytest

from agents.config import Config
from agents.engine import Engine
from agents.state import ENCODING_VERSION, RECENT_EVENT_IDS, Case, CustomerState, Watch
from schemas.timestamps import parse_instant
from streams.traffic import lifecycle_history


@pytest.fixture(scope="module")
def states() -> list[CustomerState]:
    engine = Engine(Config.default())
    for event in lifecycle_history(300, seed=9, start=parse_instant("2025-03-01T00:00:00Z"), span_days=60):
        engine.process(event)
        engine.drain()
    return [state for _, state in engine.customers()]


def test_every_state_of_a_history_decodes_to_itself(states: list[CustomerState]) -> None:
    assert len(states) > 250
    for state in states:
        assert CustomerState.decode(state.encode()) == state


def test_event_ids_are_packed_as_eight_bytes_each(states: list[CustomerState]) -> None:
    full = next(state for state in states if len(state.recent_ids or ()) == RECENT_EVENT_IDS)
    encoded = full.encode()
    assert encoded[:2] == bytes([ENCODING_VERSION, RECENT_EVENT_IDS])
    assert list(struct.unpack_from(f"<{RECENT_EVENT_IDS}Q", encoded, 2)) == full.recent_ids


def test_fields_holding_their_defaults_are_left_out_and_restored() -> None:
    state = CustomerState(rep="R-1", order_total=0.0)
    state.watches = {"lead_not_followed_up": Watch(due=5, since=1)}
    state.cases = {"K-1": Case("complaint", "", 0)}
    encoded = state.encode()
    assert encoded == bytes([ENCODING_VERSION, 0]) + b'[0,0,0,0,false,0,0,"R-1",0,0.0,null,null,null,' + (
        b'{"K-1":["complaint","",0]},{"lead_not_followed_up":[5,1]}]'
    )
    decoded = CustomerState.decode(encoded)
    assert decoded == state
    assert type(decoded.order_total) is float


def test_a_state_of_another_encoding_is_refused_naming_both_versions() -> None:
    with pytest.raises(ValueError, match="in version 7; this worker reads version 2"):
        CustomerState.decode(bytes([7, 0]) + b"[]")
    with pytest.raises(ValueError, match="in the JSON array of version 1"):
        CustomerState.decode(b"[0,0,0,0,false,0,0,null,0,0,null,null,null,null,null,null,null]")
