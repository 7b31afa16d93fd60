"""A real OTLP/gRPC receiver (trace and metrics collector services) inside the test process."""

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclass
class Received:
    """Everything the receiver was sent, as the protobuf messages it decoded."""

    spans: list[Span] = field(default_factory=list)
    metric_requests: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def metrics_named(self, name: str) -> list[tuple[str, Metric]]:
        """(instrumentation scope, metric) of every export of metric `name`, oldest first."""
        found = []
        with self.lock:
            for request in self.metric_requests:
                for resource in request.resource_metrics:
                    for scope in resource.scope_metrics:
                        found += [(scope.scope.name, m) for m in scope.metrics if m.name == name]
        return found

    def span_list(self) -> list[Span]:
        with self.lock:
            return list(self.spans)


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:
        with self._received.lock:
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self._received.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:
        with self._received.lock:
            self._received.metric_requests.append(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, Received]]:
    """The endpoint (`http://127.0.0.1:port`) of a receiver, and what it received."""
    received = Received()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(received), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(received), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.stop(grace=None)
