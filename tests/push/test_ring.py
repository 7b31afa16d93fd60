"""Ring buffer semantics: cursors, eviction, gaps, batch bounds."""

import pytest

from galaxy_backend.push.ring import PushEvent, PushRing


def event(cursor: int) -> PushEvent:
    return PushEvent(cursor, "k", (), b"{}", 0, b"")


def filled(capacity: int, count: int, first: int = 100) -> PushRing:
    ring = PushRing(capacity, first_cursor=first)
    for cursor in range(first, first + count):
        ring.append(event(cursor))
    return ring


def cursors(events: list[PushEvent]) -> list[int]:
    return [e.cursor for e in events]


def test_empty_ring() -> None:
    ring = PushRing(4, first_cursor=100)
    assert ring.last_cursor == 99
    assert ring.oldest_cursor == 100
    assert len(ring) == 0
    result = ring.read_after(99, 10)
    assert result.events == [] and not result.gap


def test_cursors_increase_by_one_and_must_be_appended_in_order() -> None:
    ring = filled(8, 3)
    assert ring.last_cursor == 102
    with pytest.raises(ValueError, match="expected cursor 103"):
        ring.append(event(105))


def test_reads_everything_after_a_cursor() -> None:
    ring = filled(8, 5)
    assert cursors(ring.read_after(101, 10).events) == [102, 103, 104]
    assert cursors(ring.read_after(104, 10).events) == []


def test_reads_are_bounded_by_the_batch_limit() -> None:
    ring = filled(8, 6)
    first = ring.read_after(99, 4)
    assert cursors(first.events) == [100, 101, 102, 103]
    assert cursors(ring.read_after(103, 4).events) == [104, 105]


def test_old_events_are_evicted_and_an_expired_cursor_reports_a_gap() -> None:
    ring = filled(4, 10)  # holds 106..109
    assert ring.oldest_cursor == 106
    assert len(ring) == 4
    result = ring.read_after(102, 10)
    assert result.gap
    assert cursors(result.events) == [106, 107, 108, 109]
    # The cursor just before the oldest retained event is still whole.
    whole = ring.read_after(105, 10)
    assert not whole.gap and cursors(whole.events) == [106, 107, 108, 109]


def test_cursor_zero_means_from_the_oldest_without_a_gap() -> None:
    ring = filled(4, 10)
    result = ring.read_after(0, 10)
    assert not result.gap
    assert cursors(result.events) == [106, 107, 108, 109]


def test_a_cursor_from_the_future_reports_a_gap() -> None:
    ring = filled(4, 3)
    result = ring.read_after(5000, 10)
    assert result.gap
    assert cursors(result.events) == [100, 101, 102]


def test_a_cursor_older_than_the_first_event_ever_is_a_gap() -> None:
    ring = filled(8, 2, first=1000)
    result = ring.read_after(10, 10)
    assert result.gap and cursors(result.events) == [1000, 1001]
