"""Structured logging and the OpenTelemetry runtime (traces, metrics, trace fields)."""

from galaxy_backend.telemetry.logging import configure_logging, get_logger
from galaxy_backend.telemetry.runtime import (
    DURATION_BUCKETS_SECONDS,
    TelemetryRuntime,
    trace_fields_from_context,
)

__all__ = [
    "DURATION_BUCKETS_SECONDS",
    "TelemetryRuntime",
    "configure_logging",
    "get_logger",
    "trace_fields_from_context",
]
