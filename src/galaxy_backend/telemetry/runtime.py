"""OpenTelemetry tracer and meter providers, library instrumentation, and trace fields."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any, Literal

import grpc
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
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from galaxy_backend.telemetry.logging import get_logger

TracesExporter = Literal["otlp", "none", "stdout"]
MetricsExporter = Literal["otlp", "none", "stdout", "prometheus"]
SERVICE_NAME = "galaxy-backend"
# The SDK's default buckets are meant for milliseconds; durations here are in seconds.
# These are the HTTP semantic conventions' boundaries, used by every duration histogram.
DURATION_BUCKETS_SECONDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0,
)  # fmt: skip

_log = get_logger(__name__)


def trace_fields_from_context() -> dict[str, str]:
    """`otel_trace_id`/`otel_span_id` of the current span, or nothing outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "otel_trace_id": format(context.trace_id, "032x"),
        "otel_span_id": format(context.span_id, "016x"),
    }


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
        self.tracer_provider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(sample_ratio))
        )
        if traces_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            self.tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
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
            resource=resource,
            metric_readers=readers,
            # Exemplars add a third to the cost of every measurement: off unless asked for with
            # the standard OTEL_METRICS_EXEMPLAR_FILTER variable, which the SDK then reads.
            exemplar_filter=(
                None if "OTEL_METRICS_EXEMPLAR_FILTER" in os.environ else AlwaysOffExemplarFilter()
            ),
        )
        self._instrumented = False

    def tracer(self, name: str) -> Tracer:
        return self.tracer_provider.get_tracer(name)

    def meter(self, name: str) -> Meter:
        return self.meter_provider.get_meter(name)

    trace_fields_from_context = staticmethod(trace_fields_from_context)

    def grpc_server_interceptor(
        self, *, untraced_streams: Sequence[str] = ()
    ) -> grpc.aio.ServerInterceptor[Any, Any]:
        """The OpenTelemetry interceptor that traces gRPC calls.

        Long-lived server streams named in `untraced_streams` trace themselves: the
        interceptor's stream wrapper fails to detach its context when a client hangs up.
        """
        from opentelemetry.instrumentation.grpc import aio_server_interceptor  # noqa: PLC0415
        from opentelemetry.instrumentation.grpc.filters import (  # noqa: PLC0415
            any_of,
            full_method_name,
            negate,
        )

        filter_ = None
        if untraced_streams:
            filter_ = negate(any_of(*(full_method_name(name) for name in untraced_streams)))
        interceptor: grpc.aio.ServerInterceptor[Any, Any]
        interceptor = aio_server_interceptor(tracer_provider=self.tracer_provider, filter_=filter_)
        return interceptor

    async def start(self) -> None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # noqa: PLC0415
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

        # asyncpg and httpx are instrumented by patching the libraries, once per process.
        if not AsyncPGInstrumentor().is_instrumented_by_opentelemetry:
            AsyncPGInstrumentor(capture_parameters=False).instrument(
                tracer_provider=self.tracer_provider
            )
            HTTPXClientInstrumentor().instrument(
                tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
            )
            self._instrumented = True

    async def stop(self) -> None:
        if self._instrumented:
            from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # noqa: PLC0415
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

            AsyncPGInstrumentor().uninstrument()
            HTTPXClientInstrumentor().uninstrument()
            self._instrumented = False
        # Metrics first, traces last: the final spans of shutdown are still exported.
        await asyncio.to_thread(self.meter_provider.shutdown)
        await asyncio.to_thread(self.tracer_provider.shutdown)
        _log.debug("telemetry flushed")
