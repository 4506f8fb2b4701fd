"""When is the next deadline due? A min-heap of (due, customer), lazily cleaned.

A customer appears with its earliest deadline; when that changes a new entry is
pushed and the old one is skipped when popped (the engine checks it against the
customer's state). A watermark advance therefore costs O(k log n) for the k due
entries, never a scan of all customers.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator


class DeadlineIndex:
    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: int, subject: str) -> None:
        heapq.heappush(self._heap, (due, subject))

    def any_due(self, watermark: int) -> bool:
        """Whether `pop_due` would yield anything: most watermark moves reach no deadline."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= watermark

    def pop_due(self, watermark: int) -> Iterator[tuple[int, str]]:
        """Entries due at or before `watermark`, earliest first; pushes made meanwhile are seen."""
        heap = self._heap
        while heap and heap[0][0] <= watermark:
            yield heapq.heappop(heap)

    def rebuild(self, entries: Iterable[tuple[int, str]]) -> None:
        """Replace the index (after recovery, or to shed stale entries)."""
        self._heap = list(entries)
        heapq.heapify(self._heap)

    def earliest(self) -> int | None:
        return self._heap[0][0] if self._heap else None
