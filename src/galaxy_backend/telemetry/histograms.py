"""Duration histograms aggregated in-process and handed to the metric readers as they collect.

The SDK's `Histogram.record` builds a measurement and aggregates it once per reader (the
Prometheus and the OTLP reader each keep their own), which on the HTTP edge costs more than
the request's own work. A `DurationHistogram` keeps, per attribute set, the same cumulative
buckets, count, sum, min and max that the SDK's explicit-bucket aggregation would: recording
is a bisect and a few additions. Each reader built by `TelemetryRuntime` appends the
histogram's cumulative data points to what the SDK collected for it, so both exporters see
one more histogram metric with the same name, unit, buckets and attributes as before.

Where that is not the same (exemplars asked for, or delta temporality for OTLP), the runtime
hands out `SdkDurationHistogram`, the SDK's own instrument behind the same interface.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Protocol

from opentelemetry.metrics import Histogram as ApiHistogram
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
)
from opentelemetry.util.types import AttributeValue

Attributes = Mapping[str, AttributeValue]


class DurationSeries(Protocol):
    """One attribute set of a duration histogram."""

    def record(self, seconds: float) -> None: ...


class DurationRecorder(Protocol):
    """A duration histogram (seconds), as the HTTP edge uses it."""

    def series(self, attributes: Attributes) -> DurationSeries: ...


class _Series:
    __slots__ = ("attributes", "count", "counts", "max", "min", "started_ns", "sum")

    def __init__(self, attributes: Attributes, buckets: int) -> None:
        self.attributes = dict(attributes)
        self.counts = [0] * buckets
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        self.started_ns = time.time_ns()


class _BoundSeries:
    """Records into one attribute set; the hot path holds on to it."""

    __slots__ = ("_bounds", "_lock", "_series")

    def __init__(self, series: _Series, bounds: Sequence[float], lock: threading.Lock) -> None:
        self._series = series
        self._bounds = bounds
        self._lock = lock

    def record(self, seconds: float) -> None:
        # Buckets are (b[i-1], b[i]], as in the SDK's explicit-bucket aggregation.
        index = bisect_left(self._bounds, seconds)
        series = self._series
        with self._lock:
            series.counts[index] += 1
            series.count += 1
            series.sum += seconds
            series.min = min(series.min, seconds)
            series.max = max(series.max, seconds)


class DurationHistogram:
    """A cumulative explicit-bucket histogram of durations; see the module's description."""

    def __init__(
        self, name: str, *, unit: str, description: str, boundaries: Sequence[float]
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self._bounds = tuple(boundaries)
        self._series: dict[frozenset[tuple[str, AttributeValue]], _Series] = {}
        # Recorded on the event loop, collected on a reader's thread: counts are read whole.
        self._lock = threading.Lock()

    def series(self, attributes: Attributes) -> DurationSeries:
        key = frozenset(attributes.items())
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(attributes, len(self._bounds) + 1)
        return _BoundSeries(series, self._bounds, self._lock)

    def collect(self) -> Metric | None:
        """The cumulative data points so far, or None before the first measurement."""
        now = time.time_ns()
        with self._lock:
            points = [
                HistogramDataPoint(
                    attributes=dict(s.attributes),
                    start_time_unix_nano=s.started_ns,
                    time_unix_nano=now,
                    count=s.count,
                    sum=s.sum,
                    bucket_counts=list(s.counts),
                    explicit_bounds=self._bounds,
                    min=s.min,
                    max=s.max,
                )
                for s in self._series.values()
                if s.count
            ]
        if not points:
            return None
        return Metric(
            name=self.name,
            description=self.description,
            unit=self.unit,
            data=Histogram(
                data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE
            ),
        )


class _SdkSeries:
    __slots__ = ("_attributes", "_histogram")

    def __init__(self, histogram: ApiHistogram, attributes: Attributes) -> None:
        self._histogram = histogram
        self._attributes = dict(attributes)

    def record(self, seconds: float) -> None:
        self._histogram.record(seconds, self._attributes)


class SdkDurationHistogram:
    """The SDK's histogram instrument behind the `DurationRecorder` interface."""

    def __init__(
        self,
        meter: Meter,
        name: str,
        *,
        unit: str,
        description: str,
        boundaries: Sequence[float],
    ) -> None:
        self._histogram = meter.create_histogram(
            name,
            unit=unit,
            description=description,
            explicit_bucket_boundaries_advisory=boundaries,
        )

    def series(self, attributes: Attributes) -> DurationSeries:
        return _SdkSeries(self._histogram, attributes)
