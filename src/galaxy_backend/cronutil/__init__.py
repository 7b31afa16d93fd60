"""Schedules as the seed's cronutil reads them: 5-field cron or `@every <duration>`."""

from galaxy_backend.cronutil.schedule import Schedule, parse_schedule

__all__ = ["Schedule", "parse_schedule"]
