"""A fixed-size ring of push events addressed by ever-increasing cursors."""

from dataclasses import dataclass
from typing import NamedTuple, cast


class PushEvent(NamedTuple):
    """One event; `wire` is its encoded PushBatch element, so a batch is a concatenation."""

    cursor: int
    kind: str
    user_ids: tuple[str, ...]
    payload: bytes
    created_at_ns: int
    wire: bytes


@dataclass(frozen=True, slots=True)
class ReadResult:
    events: list[PushEvent]
    # True when events after the requested cursor are no longer (or were never) in the ring.
    gap: bool


class PushRing:
    """Keeps the newest `capacity` events; cursors increase by one per event."""

    def __init__(self, capacity: int, first_cursor: int) -> None:
        if capacity < 1 or first_cursor < 1:
            raise ValueError("capacity and first_cursor must be positive")
        self._slots: list[PushEvent | None] = [None] * capacity
        self._capacity = capacity
        self._first = first_cursor
        self._next = first_cursor

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def next_cursor(self) -> int:
        return self._next

    @property
    def last_cursor(self) -> int:
        """Cursor of the newest event, or `first_cursor - 1` while empty."""
        return self._next - 1

    @property
    def oldest_cursor(self) -> int:
        """Cursor of the oldest retained event (equals next_cursor while empty)."""
        return max(self._first, self._next - self._capacity)

    def __len__(self) -> int:
        return self._next - self.oldest_cursor

    def append(self, event: PushEvent) -> None:
        if event.cursor != self._next:
            raise ValueError(f"expected cursor {self._next}, got {event.cursor}")
        self._slots[event.cursor % self._capacity] = event
        self._next += 1

    def read_after(self, after: int, limit: int) -> ReadResult:
        """Up to `limit` events after `after`; 0 means from the oldest retained, without a gap."""
        oldest = self.oldest_cursor
        start = after + 1
        gap = False
        if after == 0:
            start = oldest
        elif start < oldest or after > self.last_cursor:
            gap = True
            start = oldest
        end = min(self._next, start + limit)
        slots, capacity = self._slots, self._capacity
        # Every slot in [oldest, next) is filled, so no None can appear here.
        events = cast(list[PushEvent], [slots[c % capacity] for c in range(start, end)])
        return ReadResult(events=events, gap=gap)
