"""cronutil: both schedule forms, time zones, and daylight-saving changes as Vixie cron does."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from galaxy_backend.cronutil import parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
SPRING = datetime(2026, 3, 29, tzinfo=BERLIN)
AUTUMN = datetime(2026, 10, 25, tzinfo=BERLIN)


def local(times: list[datetime], zone: ZoneInfo = BERLIN) -> list[str]:
    return [t.astimezone(zone).strftime("%m-%d %H:%M%z") for t in times]


def test_cron_is_read_on_the_wall_clock_of_its_zone() -> None:
    schedule = parse_schedule("0 18 * * 1-5", "Europe/Berlin")
    start = datetime(2026, 10, 22, 12, tzinfo=BERLIN)  # a Thursday
    assert local(schedule.upcoming(start, 4)) == [
        "10-22 18:00+0200",
        "10-23 18:00+0200",
        "10-26 18:00+0100",  # Monday, after the change: still 18:00 on the wall
        "10-27 18:00+0100",
    ]


def test_fire_times_are_utc_and_strictly_after_the_moment() -> None:
    schedule = parse_schedule("*/15 * * * *")
    start = datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    fire = schedule.next_after(start)
    assert fire == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    assert fire.tzinfo == UTC


def test_a_fixed_time_in_the_skipped_hour_fires_once_when_the_clock_jumps() -> None:
    schedule = parse_schedule("30 2 * * *", "Europe/Berlin")
    assert local(schedule.upcoming(SPRING - timedelta(hours=1), 3)) == [
        "03-29 03:00+0200",
        "03-30 02:30+0200",
        "03-31 02:30+0200",
    ]


def test_wildcard_jobs_skip_the_hour_that_does_not_exist() -> None:
    schedule = parse_schedule("*/30 * * * *", "Europe/Berlin")
    assert local(schedule.upcoming(SPRING + timedelta(hours=1), 4)) == [
        "03-29 01:30+0100",
        "03-29 03:00+0200",
        "03-29 03:30+0200",
        "03-29 04:00+0200",
    ]
    hourly = parse_schedule("30 * * * *", "Europe/Berlin")
    assert local(hourly.upcoming(SPRING + timedelta(minutes=45), 2)) == [
        "03-29 01:30+0100",
        "03-29 03:30+0200",
    ]


def test_a_fixed_time_in_the_repeated_hour_fires_once() -> None:
    schedule = parse_schedule("30 2 * * *", "Europe/Berlin")
    assert local(schedule.upcoming(AUTUMN, 3)) == [
        "10-25 02:30+0200",
        "10-26 02:30+0100",
        "10-27 02:30+0100",
    ]


def test_wildcard_jobs_fire_in_both_passes_of_the_repeated_hour() -> None:
    schedule = parse_schedule("*/30 * * * *", "Europe/Berlin")
    assert local(schedule.upcoming(AUTUMN + timedelta(hours=1, minutes=45), 5)) == [
        "10-25 02:00+0200",
        "10-25 02:30+0200",
        "10-25 02:00+0100",
        "10-25 02:30+0100",
        "10-25 03:00+0100",
    ]


def test_when_both_day_fields_are_restricted_either_matches() -> None:
    schedule = parse_schedule("0 12 10 * 5", "UTC")  # the 10th, and every Friday
    start = datetime(2026, 2, 1, tzinfo=UTC)
    days = [t.day for t in schedule.upcoming(start, 4)]
    assert days == [6, 10, 13, 20]  # Fridays of Feb 2026 and the 10th, a Tuesday
    # Only the day of week restricted: only Fridays.
    fridays = parse_schedule("0 12 * * 5").upcoming(datetime(2026, 3, 1, tzinfo=UTC), 2)
    assert [t.day for t in fridays] == [6, 13]


def test_names_and_macros() -> None:
    assert parse_schedule("0 0 * jan-feb sun").next_after(
        datetime(2026, 1, 1, tzinfo=UTC)
    ) == datetime(2026, 1, 4, tzinfo=UTC)
    assert parse_schedule("@daily", "America/New_York").next_after(
        datetime(2026, 7, 1, 12, tzinfo=UTC)
    ) == datetime(2026, 7, 2, 4, tzinfo=UTC)
    assert parse_schedule("0 0 29 2 *").next_after(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(
        2028, 2, 29, tzinfo=UTC
    )


def test_every_is_real_time_whatever_the_zone() -> None:
    schedule = parse_schedule("@every 1h30m", "Europe/Berlin")
    start = SPRING + timedelta(hours=1)
    assert schedule.next_after(start) - start == timedelta(hours=1, minutes=30)
    assert str(schedule) == "@every 1h30m0s"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("* * * *", "UTC"),
        ("60 * * * *", "UTC"),
        ("0 0 30 2 *", "UTC"),  # never fires
        ("0 0 L * *", "UTC"),
        ("0 0 * * 5#2", "UTC"),
        ("0 0 ? * *", "UTC"),
        ("* * * * * *", "UTC"),
        ("@sometimes", "UTC"),
        ("@every", "UTC"),
        ("@every 0s", "UTC"),
        ("@every 500ms", "UTC"),
        ("@every 99999999999999h", "UTC"),
        ("@every soon", "UTC"),
        ("0 18 * * *", "Mars/Olympus_Mons"),
        ("0 18 * * *", ""),
    ],
)
def test_invalid_schedules_say_why(text: str, zone: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_schedule(text, zone)


def test_a_moment_on_february_29th() -> None:
    schedule = parse_schedule("0 0 1 3 *")
    assert schedule.next_after(datetime(2028, 2, 29, 12, tzinfo=UTC)) == datetime(
        2028, 3, 1, tzinfo=UTC
    )
