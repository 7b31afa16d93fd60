"""Structured logging and the OpenTelemetry runtime (traces, metrics, trace fields)."""

from galaxy_backend.telemetry.histograms import DurationHistogram, DurationRecorder, DurationSeries
from galaxy_backend.telemetry.logging import (
    bind_request_id,
    configure_logging,
    get_logger,
    unbind_request_id,
)
from galaxy_backend.telemetry.runtime import (
    DURATION_BUCKETS_SECONDS,
    HTTP_SERVER_DURATION,
    TelemetryRuntime,
    http_server_durations,
)
from galaxy_backend.telemetry.trace_fields import trace_fields_from_context

__all__ = [
    "DURATION_BUCKETS_SECONDS",
    "HTTP_SERVER_DURATION",
    "DurationHistogram",
    "DurationRecorder",
    "DurationSeries",
    "TelemetryRuntime",
    "bind_request_id",
    "configure_logging",
    "get_logger",
    "http_server_durations",
    "trace_fields_from_context",
    "unbind_request_id",
]
