"""The one place that turns JSON bytes into Python values and back (orjson)."""

from __future__ import annotations

from typing import Any

import orjson

DUMPS_OPTIONS = orjson.OPT_NON_STR_KEYS
JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    """Serialise compactly; dict order is kept, so equal inputs give equal bytes."""
    return orjson.dumps(value, option=DUMPS_OPTIONS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises `JSONDecodeError` (a ValueError) on bad input."""
    return orjson.loads(data)
