"""Go-style durations (`300ms`, `30s`, `1h30m`), the format of every BACKEND_* duration."""

import re
from datetime import timedelta

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration string; raise ValueError with a readable reason."""
    raw = text.strip()
    if raw in ("0", "+0"):
        return timedelta(0)
    body = raw[1:] if raw[:1] in "+-" else raw
    if raw.startswith("-"):
        raise ValueError(f"{text!r} is negative")
    if not body:
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 5m, 1h30m)")
    total_ns = 0.0
    pos = 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total_ns += float(match.group(1)) * _UNITS_NS[match.group(2)]
        pos = match.end()
    if pos != len(body):
        raise ValueError(f"{text!r} is not a duration (e.g. 30s, 5m, 1h30m)")
    return timedelta(microseconds=total_ns / 1_000)


def format_duration(value: timedelta) -> str:
    """Format a duration the way Go prints it (`1h30m0s`, `250ms`)."""
    micros = round(value.total_seconds() * 1_000_000)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros < 1_000_000:
        if micros % 1_000 == 0:
            return f"{sign}{micros // 1_000}ms"
        return f"{sign}{micros}us"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = rest / 1_000_000
    text = f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return f"{sign}{text}"
