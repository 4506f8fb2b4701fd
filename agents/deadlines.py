"""When is the next deadline due? A min-heap of (due, customer), lazily cleaned.

A customer appears with its earliest deadline; when that changes a new entry is
pushed and the old one is skipped when popped. The index also remembers each
waiting customer's current earliest deadline, so telling a live entry from a
stale one, and knowing what a customer waited for before an event, needs no
look at the customer's watches. A watermark advance therefore costs O(k log n)
for the k due entries, never a scan of all customers.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

STALE_FACTOR = 3
"""Rebuild the heap once stale entries outnumber live ones this many times (plus a margin)."""
STALE_MARGIN = 1024


class DeadlineIndex:
    __slots__ = ("_due", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}
        """Each waiting customer's earliest deadline: the one heap entry of theirs that is live."""

    def __len__(self) -> int:
        """Heap entries, stale ones included."""
        return len(self._heap)

    @property
    def waiting(self) -> int:
        """Customers with a pending deadline."""
        return len(self._due)

    def due(self, subject: str) -> int:
        """The customer's earliest pending deadline, 0 when none."""
        return self._due.get(subject, 0)

    def set_due(self, subject: str, due: int) -> None:
        """Record the customer's earliest pending deadline (0: none), pushing it when it changed."""
        if due:
            if self._due.get(subject) != due:
                self._due[subject] = due
                heap = self._heap
                heapq.heappush(heap, (due, subject))
                if len(heap) > (STALE_FACTOR + 1) * len(self._due) + STALE_MARGIN:
                    self._compact()
        else:
            self._due.pop(subject, None)

    def any_due(self, watermark: int) -> bool:
        """Whether `pop_due` may yield anything: most watermark moves reach no deadline."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= watermark

    def pop_due(self, watermark: int) -> Iterator[tuple[int, str]]:
        """Live entries due at or before `watermark`, earliest first; settings made meanwhile are seen.

        A yielded customer counts as waiting no more until `set_due` records its next deadline.
        """
        heap, current = self._heap, self._due
        while heap and heap[0][0] <= watermark:
            due, subject = heapq.heappop(heap)
            if current.get(subject) == due:
                del current[subject]
                yield due, subject

    def rebuild(self, entries: Iterable[tuple[int, str]]) -> None:
        """Replace the index (after recovery)."""
        self._due = {subject: due for due, subject in entries}
        self._compact()

    def _compact(self) -> None:
        """Drop the stale entries; in place, so a `pop_due` under way goes on with the same heap."""
        heap = self._heap
        heap[:] = [(due, subject) for subject, due in self._due.items()]
        heapq.heapify(heap)
