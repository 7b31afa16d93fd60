"""`http.server.request.duration` in both exporters: same name, unit, buckets, attributes."""

import random
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE, Metric
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from galaxy_backend.postgres import Database
from galaxy_backend.telemetry import (
    DURATION_BUCKETS_SECONDS,
    HTTP_SERVER_DURATION,
    DurationHistogram,
    TelemetryRuntime,
    http_server_durations,
)
from galaxy_backend.telemetry.histograms import SdkDurationHistogram
from tests.telemetry.otlp import Received, otlp_receiver
from tests.telemetry.stack import TOKEN, WORK_PATHS, traced_stack

ATTRIBUTES = ("http.request.method", "http.route", "http.response.status_code")
PROMETHEUS_FAMILY = "http_server_request_duration_seconds"


def points(metric: Metric) -> dict[tuple[object, ...], object]:
    found = {}
    for point in metric.histogram.data_points:
        values = {a.key: a.value for a in point.attributes}
        key = (
            values["http.request.method"].string_value,
            values["http.route"].string_value,
            values["http.response.status_code"].int_value,
        )
        assert set(values) == set(ATTRIBUTES)
        found[key] = point
    return found


def prometheus_counts(registry: object) -> dict[tuple[str, str, str], float]:
    text = generate_latest(registry).decode()
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == PROMETHEUS_FAMILY]
    assert family.type == "histogram"
    assert family.documentation == "Duration of HTTP requests"
    counts = {}
    for sample in family.samples:
        labels = sample.labels
        assert {"http_request_method", "http_route", "http_response_status_code"} <= set(labels)
        assert labels["otel_scope_name"] == "galaxy_backend.http"
        key = (
            labels["http_request_method"],
            labels["http_route"],
            labels["http_response_status_code"],
        )
        if sample.name.endswith("_count"):
            counts[key] = sample.value
        if sample.name.endswith("_bucket"):
            assert float(labels["le"]) in (*DURATION_BUCKETS_SECONDS, float("inf"))
    return counts


async def test_request_durations_reach_otlp_and_prometheus(
    monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    async with traced_stack(monkeypatch, database, sample_ratio=0.0) as stack:
        async with httpx.AsyncClient(base_url=stack.base_url) as client:
            for _ in range(2):
                assert (await client.get(WORK_PATHS[0])).status_code == 200
            assert (await client.get(WORK_PATHS[1])).status_code == 200
            assert (await client.get("/api/v1/internal/ping")).status_code == 401
            ok = {"Authorization": f"Bearer {TOKEN}"}
            assert (await client.get("/api/v1/internal/ping", headers=ok)).status_code == 404
        expected = {
            ("GET", WORK_PATHS[0], 200): 2,
            ("GET", WORK_PATHS[1], 200): 1,
            ("GET", "", 401): 1,
            ("GET", "", 404): 1,
        }
        # Scraped first: a flush also queues a collection for the Prometheus reader, which
        # the next scrape would then show beside its own.
        assert stack.runtime.prometheus_registry is not None
        scraped = prometheus_counts(stack.runtime.prometheus_registry)
        assert scraped == {(m, r, str(s)): float(n) for (m, r, s), n in expected.items()}

        stack.runtime.meter_provider.force_flush()
        ((scope, metric),) = stack.received.metrics_named(HTTP_SERVER_DURATION)
        assert scope == "galaxy_backend.http"
        assert (metric.unit, metric.description) == ("s", "Duration of HTTP requests")
        assert metric.histogram.aggregation_temporality == AGGREGATION_TEMPORALITY_CUMULATIVE
        exported = points(metric)
        assert {key: p.count for key, p in exported.items()} == expected
        for point in exported.values():
            assert list(point.explicit_bounds) == list(DURATION_BUCKETS_SECONDS)
            assert sum(point.bucket_counts) == point.count
            assert 0 < point.min <= point.max < 5


@contextmanager
def runtime_exporting_to(
    monkeypatch: pytest.MonkeyPatch, sdk_histograms: bool
) -> Iterator[tuple[TelemetryRuntime, Received]]:
    with otlp_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
        if sdk_histograms:
            # Asking for exemplars makes the runtime hand out the SDK's own instrument.
            monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")
        else:
            monkeypatch.delenv("OTEL_METRICS_EXEMPLAR_FILTER", raising=False)
        runtime = TelemetryRuntime(
            traces_exporter="none",
            metrics_exporter="otlp",
            sample_ratio=1.0,
            prometheus=True,
            service_version="test",
        )
        try:
            yield runtime, received
        finally:
            runtime.meter_provider.shutdown()
            runtime.tracer_provider.shutdown()


def test_in_process_histograms_export_exactly_what_the_sdk_instrument_did(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(7)
    measurements = [(("GET", "/api/v1/user/me", 200), rng.expovariate(200)) for _ in range(500)] + [
        (("POST", "/api/v1/internal/sessions/resolve", 404), rng.uniform(0, 40)) for _ in range(50)
    ]
    measurements += [(("GET", "/api/v1/user/me", 200), bound) for bound in DURATION_BUCKETS_SECONDS]
    exports = {}
    for sdk in (False, True):
        with runtime_exporting_to(monkeypatch, sdk) as (runtime, received):
            durations = runtime.http_server_durations()
            assert isinstance(durations, SdkDurationHistogram) is sdk
            for (method, route, status), seconds in measurements:
                attributes = {
                    "http.request.method": method,
                    "http.route": route,
                    "http.response.status_code": status,
                }
                durations.series(attributes).record(seconds)
            # In the process the push service's observable instruments always report; the
            # SDK hands a reader its collection only when some metric of its own has data.
            runtime.meter("galaxy_backend.push").create_counter("push.resets").add(1)
            assert runtime.prometheus_registry is not None
            text = generate_latest(runtime.prometheus_registry).decode()
            runtime.meter_provider.force_flush()
            ((scope, metric),) = received.metrics_named(HTTP_SERVER_DURATION)
            exports[sdk] = (
                scope,
                metric.name,
                metric.unit,
                metric.description,
                metric.histogram.aggregation_temporality,
                {
                    key: (
                        list(p.bucket_counts),
                        list(p.explicit_bounds),
                        p.count,
                        round(p.sum, 9),
                        p.min,
                        p.max,
                    )
                    for key, p in points(metric).items()
                },
                sorted(line for line in text.splitlines() if PROMETHEUS_FAMILY in line),
            )
    assert exports[False] == exports[True]


def test_each_duration_lands_in_the_bucket_the_sdk_would_put_it_in() -> None:
    reader = InMemoryMetricReader()
    sdk = http_server_durations(MeterProvider(metric_readers=[reader]).get_meter("t"))
    ours = DurationHistogram(
        HTTP_SERVER_DURATION, unit="s", description="", boundaries=DURATION_BUCKETS_SECONDS
    )
    attributes = {
        "http.request.method": "GET",
        "http.route": "/x",
        "http.response.status_code": 200,
    }
    values = [0.0, 0.005, 0.0050001, 0.01, 0.3, 30.0, 31.0, *DURATION_BUCKETS_SECONDS]
    for value in values:
        sdk.series(attributes).record(value)
        ours.series(attributes).record(value)
    data = reader.get_metrics_data()
    assert data is not None
    (expected,) = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    collected = ours.collect()
    assert collected is not None
    (point,) = collected.data.data_points
    assert isinstance(point, HistogramDataPoint) and isinstance(expected, HistogramDataPoint)
    assert list(point.bucket_counts) == list(expected.bucket_counts)
    assert (point.count, point.sum, point.min, point.max) == (
        expected.count,
        expected.sum,
        expected.min,
        expected.max,
    )
    assert point.attributes == expected.attributes
