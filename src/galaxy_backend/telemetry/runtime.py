"""OpenTelemetry tracer and meter providers, library instrumentation, and trace fields."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Literal

import grpc
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    Metric,
    MetricExporter,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from galaxy_backend.telemetry.histograms import (
    DurationHistogram,
    DurationRecorder,
    SdkDurationHistogram,
)
from galaxy_backend.telemetry.logging import get_logger
from galaxy_backend.telemetry.trace_fields import trace_fields_from_context

TracesExporter = Literal["otlp", "none", "stdout"]
MetricsExporter = Literal["otlp", "none", "stdout", "prometheus"]
SERVICE_NAME = "galaxy-backend"
# The SDK's default buckets are meant for milliseconds; durations here are in seconds.
# These are the HTTP semantic conventions' boundaries, used by every duration histogram.
DURATION_BUCKETS_SECONDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0,
)  # fmt: skip

HTTP_SERVER_DURATION = "http.server.request.duration"
HTTP_SERVER_DURATION_DESCRIPTION = "Duration of HTTP requests"
HTTP_SCOPE = "galaxy_backend.http"
# Spans per OTLP export: encoding a batch holds the GIL, so a smaller batch keeps request
# latency down (512, the SDK's default, stalled the event loop for 20-30 ms at a time).
_EXPORT_BATCH_SIZE = 64

_log = get_logger(__name__)


def http_server_durations(meter: Meter) -> DurationRecorder:
    """`http.server.request.duration` as an SDK instrument on `meter` (no runtime at hand)."""
    return SdkDurationHistogram(
        meter,
        HTTP_SERVER_DURATION,
        unit="s",
        description=HTTP_SERVER_DURATION_DESCRIPTION,
        boundaries=DURATION_BUCKETS_SECONDS,
    )


def _batch(exporter: SpanExporter) -> BatchSpanProcessor:
    # The standard OTEL_BSP_* variables still win over the batch size chosen here.
    size = None if "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" in os.environ else _EXPORT_BATCH_SIZE
    return BatchSpanProcessor(exporter, max_export_batch_size=size)


def _otlp_prefers_delta() -> bool:
    # The OTLP metric exporter's own variable: `delta` and `lowmemory` make histograms delta.
    preference = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "")
    return preference.strip().lower() in ("delta", "lowmemory")


HistogramSource = Callable[[], list[ScopeMetrics]]


def _with_histograms(data: MetricsData, histograms: HistogramSource) -> MetricsData:
    """The SDK's collection for a reader, with the in-process histograms' scopes added."""
    own = histograms()
    if not own or not data.resource_metrics:
        return data
    first, *rest = data.resource_metrics
    merged = ResourceMetrics(
        resource=first.resource,
        scope_metrics=[*first.scope_metrics, *own],
        schema_url=first.schema_url,
    )
    return MetricsData(resource_metrics=[merged, *rest])


# The SDK calls `_receive_metrics` on each collection that has any metric of its own (here
# always: the push service's observable instruments report every time).
class _PeriodicReader(PeriodicExportingMetricReader):
    """The SDK's periodic reader, also exporting the histograms aggregated in-process."""

    def __init__(self, exporter: MetricExporter, histograms: HistogramSource) -> None:
        super().__init__(exporter)
        self._histograms = histograms

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        merged = _with_histograms(metrics_data, self._histograms)
        super()._receive_metrics(merged, timeout_millis, **kwargs)


def _prometheus_reader(registry: CollectorRegistry, histograms: HistogramSource) -> MetricReader:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: PLC0415

    class _PrometheusReader(PrometheusMetricReader):
        """The SDK's Prometheus reader, also serving the histograms aggregated in-process."""

        def _receive_metrics(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> None:
            merged = _with_histograms(metrics_data, histograms)
            super()._receive_metrics(merged, timeout_millis, **kwargs)

    return _PrometheusReader(registry=registry)


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
        # With no exporter nothing is recorded at all; spans still carry ids (for log lines).
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

            self.tracer_provider.add_span_processor(_batch(OTLPSpanExporter()))
        elif traces_exporter == "stdout":
            self.tracer_provider.add_span_processor(_batch(ConsoleSpanExporter(out=sys.stdout)))

        self._resource = resource
        self._histograms: dict[str, tuple[InstrumentationScope, DurationHistogram]] = {}
        exemplars = "OTEL_METRICS_EXEMPLAR_FILTER" in os.environ
        # Histograms aggregated here give each reader cumulative points without exemplars;
        # when either is asked for otherwise, the SDK's instrument does the work instead.
        self._aggregate_here = not exemplars and not _otlp_prefers_delta()
        readers: list[MetricReader] = []
        self.prometheus_registry: CollectorRegistry | None = None
        if prometheus or metrics_exporter == "prometheus":
            self.prometheus_registry = CollectorRegistry(auto_describe=True)
            readers.append(_prometheus_reader(self.prometheus_registry, self._collect_histograms))
        if metrics_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # noqa: PLC0415
                OTLPMetricExporter,
            )

            readers.append(_PeriodicReader(OTLPMetricExporter(), self._collect_histograms))
        elif metrics_exporter == "stdout":
            readers.append(
                _PeriodicReader(ConsoleMetricExporter(out=sys.stdout), self._collect_histograms)
            )
        self.meter_provider = MeterProvider(
            resource=resource,
            metric_readers=readers,
            # Exemplars add a third to the cost of every measurement: off unless asked for with
            # the standard OTEL_METRICS_EXEMPLAR_FILTER variable, which the SDK then reads.
            exemplar_filter=None if exemplars else AlwaysOffExemplarFilter(),
        )
        self._instrumented = False

    def tracer(self, name: str) -> Tracer:
        return self.tracer_provider.get_tracer(name)

    def meter(self, name: str) -> Meter:
        return self.meter_provider.get_meter(name)

    def duration_histogram(self, scope: str, name: str, *, description: str) -> DurationRecorder:
        """A histogram of durations in seconds (DURATION_BUCKETS_SECONDS) for a hot path:
        aggregated in-process and handed to every reader (see telemetry.histograms)."""
        if not self._aggregate_here:
            return SdkDurationHistogram(
                self.meter(scope),
                name,
                unit="s",
                description=description,
                boundaries=DURATION_BUCKETS_SECONDS,
            )
        histogram = DurationHistogram(
            name, unit="s", description=description, boundaries=DURATION_BUCKETS_SECONDS
        )
        self._histograms[name] = (InstrumentationScope(scope), histogram)
        return histogram

    def http_server_durations(self) -> DurationRecorder:
        """`http.server.request.duration`, the HTTP edge's histogram."""
        return self.duration_histogram(
            HTTP_SCOPE, HTTP_SERVER_DURATION, description=HTTP_SERVER_DURATION_DESCRIPTION
        )

    def _collect_histograms(self) -> list[ScopeMetrics]:
        metrics: dict[InstrumentationScope, list[Metric]] = {}
        for scope, histogram in list(self._histograms.values()):
            metric = histogram.collect()
            if metric is not None:
                metrics.setdefault(scope, []).append(metric)
        return [ScopeMetrics(scope=scope, metrics=m, schema_url="") for scope, m in metrics.items()]

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
