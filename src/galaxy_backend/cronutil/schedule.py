"""Parse and step schedules: `*/5 * * * *`, `@hourly`, `@every 90s`, in a time zone.

Cron expressions are read as Vixie cron reads them (5 fields; names for months and days;
`*`, ranges, lists and steps; when both day fields are restricted, either may match) and
evaluated on the wall clock of the schedule's time zone. Daylight-saving changes follow
Vixie cron, as cron users expect:

* a *fixed-time* job (neither the minute nor the hour field starts with `*`, e.g.
  `30 2 * * *`) whose time is skipped when clocks go forward fires once, at the moment the
  clock jumps; when clocks go back it fires once, at the first of the repeated times;
* a *wildcard* job (`*/15 * * * *`, `5 * * * *`) fires at the wall-clock times that exist:
  none in the skipped hour, and in both passes of a repeated hour.

`@every <duration>` is a fixed period of real time, whatever the zone says.
"""

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

from galaxy_backend.kernel.durations import format_duration, parse_duration

_MIN_EVERY = timedelta(seconds=1)
_MAX_EVERY = timedelta(days=3660)
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NUMERIC_FIELD = re.compile(r"^[0-9*,/\-]+$")
_NAMED_FIELD = re.compile(r"^[0-9A-Za-z*,/\-]+$")
# Offsets change by less than this around a transition (Vixie cron's own bound).
_DST_MARGIN = timedelta(hours=3)
# A schedule that matches no day in this many years never fires (`0 0 30 2 *`).
_SEARCH_YEARS = 9
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
# Fire times looked at for a cron schedule's shortest gap (see Schedule.shortest_gap).
_GAP_SAMPLES = 400


@cache
def known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class _Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as cron counts
    days_restricted: bool
    weekdays_restricted: bool
    fixed_time: bool

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week


def _expand(expression: str) -> _Cron:
    fields = expression.split(" ")
    for index, text in enumerate(fields):
        pattern = _NAMED_FIELD if index >= 3 else _NUMERIC_FIELD
        if not pattern.match(text):
            raise ValueError(f"{expression!r}: field {index + 1} ({text!r}) is not cron syntax")
    try:
        expanded, nth = croniter.expand(expression)
    except Exception as exc:  # croniter raises its own error types and ValueError
        raise ValueError(f"{expression!r} is not a valid cron expression") from exc
    if nth:
        raise ValueError(f"{expression!r}: '#' is not supported")
    sets: list[frozenset[int]] = []
    for (low, high), values in zip(_RANGES, expanded, strict=True):
        if values == ["*"]:
            sets.append(frozenset(range(low, high + 1)))
            continue
        if not all(isinstance(v, int) for v in values):
            raise ValueError(f"{expression!r} uses syntax beyond standard cron")
        sets.append(frozenset(v % 7 if high == 6 else v for v in values))
    return _Cron(
        minutes=tuple(sorted(sets[0])),
        hours=tuple(sorted(sets[1])),
        days=sets[2],
        months=sets[3],
        weekdays=sets[4],
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
        fixed_time=not fields[0].startswith("*") and not fields[1].startswith("*"),
    )


def _changes_near(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether the zone's offset changes within the margin around `moment`."""
    if zone.key == "UTC":
        return False
    return (moment - _DST_MARGIN).astimezone(zone).utcoffset() != (moment + _DST_MARGIN).astimezone(
        zone
    ).utcoffset()


def _instants(naive: datetime, zone: ZoneInfo, fixed_time: bool) -> list[datetime]:
    """The moments (UTC) at which a job due at wall time `naive` fires."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return [first.astimezone(UTC)]
    # fold=0 resolves with the offset before the change, fold=1 with the one after: going
    # forward the earlier offset is the smaller, so the time lies in the gap.
    offset_before, offset_after = first.utcoffset(), second.utcoffset()
    assert offset_before is not None
    assert offset_after is not None
    if offset_before < offset_after:
        if not fixed_time:
            return []
        # The first wall-clock minute that exists after the gap is when the clock jumped.
        probe = naive
        while True:
            probe += timedelta(minutes=1)
            a, b = probe.replace(tzinfo=zone, fold=0), probe.replace(tzinfo=zone, fold=1)
            if a.utcoffset() == b.utcoffset():
                return [a.astimezone(UTC)]
    # A repeated wall time: fixed-time jobs fire at the first pass only.
    if fixed_time:
        return [first.astimezone(UTC)]
    return [first.astimezone(UTC), second.astimezone(UTC)]


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule; `next_after` gives the first fire time strictly after a moment."""

    text: str
    every: timedelta | None = None
    time_zone: str = "UTC"
    _cron: _Cron | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.every is None and self._cron is None:
            object.__setattr__(self, "_cron", _expand(_MACROS.get(self.text, self.text)))

    def next_after(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        if self.every is not None:
            return (moment + self.every).astimezone(UTC)
        fire = self._next_cron(moment.astimezone(UTC))
        if fire is None:
            raise ValueError(f"{self.text!r} never fires")
        return fire

    def upcoming(self, moment: datetime, count: int) -> list[datetime]:
        """The next `count` fire times after `moment`."""
        times: list[datetime] = []
        for _ in range(count):
            moment = self.next_after(moment)
            times.append(moment)
        return times

    def shortest_gap(self, moment: datetime, samples: int = _GAP_SAMPLES) -> timedelta:
        """The shortest time between two turns from `moment` on: the period of `@every`,
        else the least gap among the next `samples` fire times (months of them for any
        schedule that fires more often than daily)."""
        if self.every is not None:
            return self.every
        times = [self.next_after(moment)]
        for _ in range(samples - 1):
            times.append(self.next_after(times[-1]))
        return min(b - a for a, b in itertools.pairwise(times))

    def _next_cron(self, moment: datetime) -> datetime | None:
        cron = self._cron
        assert cron is not None
        zone = _zone(self.time_zone)
        wall = moment.astimezone(zone).replace(tzinfo=None)
        # Wall time is not monotonic across a change, so candidates a little before `moment`'s
        # wall time may still fire after it; and a later one may fire before an earlier one.
        margin = _DST_MARGIN if _changes_near(moment, zone) else timedelta(0)
        start = (wall - margin).replace(second=0, microsecond=0)
        best: datetime | None = None
        # No candidate after this wall time can fire before `best`.
        reach: datetime | None = None
        day = start.date()
        last_day = min(day + timedelta(days=366 * _SEARCH_YEARS), date.max - timedelta(days=1))
        while day <= last_day:
            if reach is not None and datetime.combine(day, datetime.min.time()) > reach:
                break
            if cron.day_matches(day):
                first_day = day == start.date()
                for hour in cron.hours:
                    if first_day and hour < start.hour:
                        continue
                    for minute in cron.minutes:
                        if first_day and hour == start.hour and minute < start.minute:
                            continue
                        naive = datetime(day.year, day.month, day.day, hour, minute)
                        if reach is not None and naive > reach:
                            break
                        for instant in _instants(naive, zone, cron.fixed_time):
                            if instant > moment and (best is None or instant < best):
                                best = instant
                                reach = naive + (
                                    _DST_MARGIN if _changes_near(instant, zone) else timedelta(0)
                                )
            day += timedelta(days=1)
        return best

    def __str__(self) -> str:
        if self.every is not None:
            return f"@every {format_duration(self.every)}"
        return self.text


def parse_time_zone(name: str) -> str:
    """An IANA time zone name, or ValueError."""
    if name not in known_time_zones():
        raise ValueError(f"{name!r} is not an IANA time zone, e.g. Europe/Berlin")
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone, e.g. Europe/Berlin") from None
    return name


def parse_schedule(text: str, time_zone: str = "UTC") -> Schedule:
    """Validate a schedule string; raise ValueError saying what is wrong with it."""
    parse_time_zone(time_zone)
    raw = " ".join(text.split())
    if raw.startswith("@every"):
        spec = raw.removeprefix("@every").strip()
        if not spec:
            raise ValueError("'@every' needs a duration, e.g. '@every 1m'")
        try:
            every = parse_duration(spec)
        except OverflowError:
            raise ValueError(f"'@every {spec}' is too long") from None
        if every < _MIN_EVERY:
            raise ValueError(f"'@every {spec}' is shorter than 1s")
        if every > _MAX_EVERY:
            raise ValueError(f"'@every {spec}' is longer than 10 years")
        return Schedule(text=raw, every=every, time_zone=time_zone)
    if raw.startswith("@") and raw not in _MACROS:
        raise ValueError(f"{text!r} is not a known schedule macro")
    if not raw.startswith("@") and len(raw.split(" ")) != 5:
        raise ValueError(f"{text!r} is not a 5-field cron expression or '@every <duration>'")
    if not croniter.is_valid(_MACROS.get(raw, raw)):
        raise ValueError(f"{text!r} is not a valid cron expression")
    schedule = Schedule(text=raw, time_zone=time_zone)
    try:
        schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))
    except ValueError:
        raise ValueError(f"{text!r} never fires") from None
    return schedule
