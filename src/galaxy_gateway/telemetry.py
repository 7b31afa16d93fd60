"""Structured logs (structlog) with trace ids, and the OpenTelemetry providers."""

from __future__ import annotations

import asyncio
import logging
import sys
from contextvars import ContextVar, Token
from typing import Any, Literal, TextIO

import orjson
import structlog
from opentelemetry import trace
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "console"]
TracesExporter = Literal["otlp", "none", "stdout"]
MetricsExporter = Literal["otlp", "none", "stdout", "prometheus"]
SERVICE_NAME = "galaxy-gateway"
# Spans per OTLP export: encoding a batch holds the GIL, so a small batch keeps latency down.
_EXPORT_BATCH_SIZE = 64

# Keys whose values are secrets; a net under the rule that tokens are never logged.
_SECRET_KEYS = frozenset({"token", "authorization", "internal_token", "cookie", "password"})
_NOISY_LOGGERS = {
    "uvicorn.access": logging.WARNING,
    "uvicorn.error": logging.WARNING,
    "asyncio": logging.WARNING,
}

# The request a log line is written in; set by the edge for each request's task.
_request_id: ContextVar[str | None] = ContextVar("galaxy_gateway_request_id", default=None)


def bind_request_id(request_id: str) -> Token[str | None]:
    """Every line logged from here on in this context carries `request_id`."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def trace_fields_from_context() -> dict[str, str]:
    """`otel_trace_id`/`otel_span_id` of the current span, or nothing outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "otel_trace_id": format(context.trace_id, "032x"),
        "otel_span_id": format(context.span_id, "016x"),
    }


def _add_trace_fields(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    request_id = _request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    event.update(trace_fields_from_context())
    return event


def _redact_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key in _SECRET_KEYS.intersection(event):
        event[key] = "[redacted]"
    return event


def _orjson_dumps(value: Any, **_: Any) -> bytes:
    return orjson.dumps(value, default=str)


def configure_logging(level: LogLevel, fmt: LogFormat, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger once per process, at start-up."""
    out = stream or sys.stderr
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_fields,
        _redact_secrets,
    ]
    renderer: Processor
    if fmt == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        logger_factory: Any = structlog.BytesLoggerFactory(out.buffer)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        logger_factory = structlog.PrintLoggerFactory(out)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )

    def text(logger: WrappedLogger, name: str, event: EventDict) -> str:
        rendered = renderer(logger, name, event)
        return rendered.decode() if isinstance(rendered, bytes) else str(rendered)

    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, text],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    logging.captureWarnings(True)
    for name, floor in _NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, numeric))


def get_logger(name: str) -> FilteringBoundLogger:
    """A structlog logger named after its module; cheap to create, configured lazily."""
    logger: FilteringBoundLogger = structlog.get_logger(module=name)
    return logger


class TelemetryRuntime:
    """Owns the providers; started first and stopped last so that traces flush at the end."""

    name = "telemetry"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        traces_exporter: TracesExporter,
        metrics_exporter: MetricsExporter,
        sample_ratio: float,
        prometheus: bool,
        service_version: str,
    ) -> None:
        resource = Resource.create(
            {"service.name": SERVICE_NAME, "service.version": service_version}
        )
        # With no exporter nothing is recorded; spans still carry ids (for log lines and
        # for the traceparent the backend continues).
        sampler: Sampler = (
            ALWAYS_OFF
            if traces_exporter == "none"
            else ParentBased(TraceIdRatioBased(sample_ratio))
        )
        self.tracer_provider = TracerProvider(resource=resource, sampler=sampler)
        if traces_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(), max_export_batch_size=_EXPORT_BATCH_SIZE)
            )
        elif traces_exporter == "stdout":
            self.tracer_provider.add_span_processor(
                BatchSpanProcessor(ConsoleSpanExporter(out=sys.stdout))
            )
        readers: list[MetricReader] = []
        self.prometheus_registry: CollectorRegistry | None = None
        if prometheus or metrics_exporter == "prometheus":
            from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: PLC0415

            self.prometheus_registry = CollectorRegistry(auto_describe=True)
            readers.append(PrometheusMetricReader(registry=self.prometheus_registry))
        if metrics_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # noqa: PLC0415
                OTLPMetricExporter,
            )

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        elif metrics_exporter == "stdout":
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stdout)))
        self.meter_provider = MeterProvider(
            resource=resource, metric_readers=readers, exemplar_filter=AlwaysOffExemplarFilter()
        )

    def tracer(self, name: str) -> Tracer:
        return self.tracer_provider.get_tracer(name)

    def meter(self, name: str) -> Meter:
        return self.meter_provider.get_meter(name)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        # Metrics first, traces last: the final spans of shutdown are still exported.
        await asyncio.to_thread(self.meter_provider.shutdown)
        await asyncio.to_thread(self.tracer_provider.shutdown)
