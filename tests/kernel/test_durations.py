"""Go-style durations and schedules."""

from datetime import UTC, datetime, timedelta

import pytest

from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.kernel.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("300ms", timedelta(milliseconds=300)),
        ("1.5h", timedelta(minutes=90)),
        ("2us", timedelta(microseconds=2)),
        ("2µs", timedelta(microseconds=2)),
        ("1h2m3s4ms", timedelta(hours=1, minutes=2, seconds=3, milliseconds=4)),
        ("0", timedelta(0)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5x", "h", "1h 30m", "-1s", "1.2.3s", "s1"])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=90), "1h30m0s"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(0), "0s"),
        (timedelta(minutes=1), "1m0s"),
    ],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


def test_every_schedule_steps_by_its_duration() -> None:
    schedule = parse_schedule("@every 90s")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert schedule.next_after(start) == start + timedelta(seconds=90)


def test_cron_schedule_gives_the_next_matching_minute() -> None:
    schedule = parse_schedule("*/15 * * * *")
    start = datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC)
    assert schedule.next_after(start) == datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    assert parse_schedule("@hourly").next_after(start) == datetime(2026, 1, 1, 11, tzinfo=UTC)


@pytest.mark.parametrize("text", ["@every", "@every 0s", "* * * *", "@sometimes", "60 * * * *"])
def test_bad_schedules(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)
