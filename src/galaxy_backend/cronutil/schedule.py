"""Parse and step schedules: `*/5 * * * *`, `@hourly`, `@every 90s`."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from galaxy_backend.durations import format_duration, parse_duration

_MIN_EVERY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A validated schedule; `next_after` gives the first fire time strictly after a moment."""

    text: str
    every: timedelta | None = None

    def next_after(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        if self.every is not None:
            return moment + self.every
        fire: datetime = croniter(self.text, moment.astimezone(UTC)).get_next(datetime)
        return fire

    def __str__(self) -> str:
        return f"@every {format_duration(self.every)}" if self.every is not None else self.text


def parse_schedule(text: str) -> Schedule:
    """Validate a schedule string; raise ValueError saying what is wrong with it."""
    raw = " ".join(text.split())
    if raw.startswith("@every"):
        spec = raw.removeprefix("@every").strip()
        if not spec:
            raise ValueError("'@every' needs a duration, e.g. '@every 1m'")
        every = parse_duration(spec)
        if every < _MIN_EVERY:
            raise ValueError(f"'@every {spec}' is shorter than 1s")
        return Schedule(text=raw, every=every)
    if raw.startswith("@") and raw not in (
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ):
        raise ValueError(f"{text!r} is not a known schedule macro")
    if not raw.startswith("@") and len(raw.split(" ")) != 5:
        raise ValueError(f"{text!r} is not a 5-field cron expression or '@every <duration>'")
    if not croniter.is_valid(raw):
        raise ValueError(f"{text!r} is not a valid cron expression")
    return Schedule(text=raw)
