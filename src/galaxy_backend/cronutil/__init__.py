"""Schedules as the seed's cronutil reads them: 5-field cron or `@every <duration>`."""

from galaxy_backend.cronutil.schedule import (
    Schedule,
    known_time_zones,
    parse_schedule,
    parse_time_zone,
)

__all__ = ["Schedule", "known_time_zones", "parse_schedule", "parse_time_zone"]
