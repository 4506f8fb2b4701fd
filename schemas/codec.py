"""The one place that turns JSON bytes into Python values and back (orjson)."""

from __future__ import annotations

from typing import Any

import orjson

DUMPS_OPTIONS = orjson.OPT_NON_STR_KEYS
JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    """Serialise compactly; dict order is kept, so equal inputs give equal bytes.

    orjson writes at most 255 levels of nesting but reads 1,024, so a value read
    from JSON (a rejected batch element is written back on its own) may be too
    deep for it: such a value is written level by level instead, in the same bytes.
    """
    try:
        return orjson.dumps(value, option=DUMPS_OPTIONS)
    except orjson.JSONEncodeError:
        if type(value) not in (dict, list):
            raise
        return _dumps_level_by_level(value)


def _dumps_level_by_level(value: dict[Any, Any] | list[Any]) -> bytes:
    """The containers by hand, with a stack rather than recursion; everything else by orjson."""
    parts: list[bytes] = []
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is _Written:
            parts.append(item.text)
        elif kind is list:
            pending.append(_CLOSE_LIST)
            for index in range(len(item) - 1, -1, -1):
                pending.append(item[index])
                if index:
                    pending.append(_COMMA)
            parts.append(b"[")
        elif kind is dict:
            pending.append(_CLOSE_OBJECT)
            entries = list(item.items())
            for index in range(len(entries) - 1, -1, -1):
                key, child = entries[index]
                pending.append(child)
                pending.append(_Written(orjson.dumps({key: None}, option=DUMPS_OPTIONS)[1:-5]))
                if index:
                    pending.append(_COMMA)
            parts.append(b"{")
        else:
            parts.append(orjson.dumps(item, option=DUMPS_OPTIONS))
    return b"".join(parts)


class _Written:
    """Bytes already serialised, waiting on the stack for their turn."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


_COMMA, _CLOSE_LIST, _CLOSE_OBJECT = _Written(b","), _Written(b"]"), _Written(b"}")


def dumps_indented(value: Any) -> bytes:
    """For people: two-space indentation."""
    return orjson.dumps(value, option=DUMPS_OPTIONS | orjson.OPT_INDENT_2)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON; raises `JSONDecodeError` (a ValueError) on bad input."""
    return orjson.loads(data)
