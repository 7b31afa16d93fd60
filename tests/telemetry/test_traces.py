"""Server spans over OTLP: complete with their children when sampled, nothing when not."""

import asyncio
import json

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from galaxy_backend.postgres import Database
from tests.support import eventually
from tests.telemetry.stack import WORK_PATHS, TracedStack, traced_stack

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def gateway_get(stack: TracedStack, path: str, traceparent: str) -> dict[str, str]:
    """GET with this exact traceparent (an instrumented httpx client would put its own), as a
    gateway would send it; the response's headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.listener.port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nhost: backend\r\ntraceparent: {traceparent}\r\n"
        "connection: close\r\n\r\n".encode()
    )
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    await reader.read()
    writer.close()
    await writer.wait_closed()
    status, *lines = head.strip().split("\r\n")
    assert status == "HTTP/1.1 200 OK", status
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def log_lines(stack: TracedStack, event: str) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in stack.log_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def attributes(span: Span) -> dict[str, object]:
    values: dict[str, object] = {}
    for item in span.attributes:
        kind = item.value.WhichOneof("value")
        values[item.key] = getattr(item.value, kind) if kind else None
    return values


@pytest.mark.parametrize("path", WORK_PATHS)
async def test_a_sampled_request_exports_its_server_span_with_every_child(
    monkeypatch: pytest.MonkeyPatch, database: Database, path: str
) -> None:
    async with traced_stack(monkeypatch, database) as stack:
        async with httpx.AsyncClient(base_url=stack.base_url) as client:
            response = await client.get(path)
        assert response.status_code == 200
        stack.runtime.tracer_provider.force_flush()

        spans = stack.received.span_list()
        server = next(s for s in spans if s.kind == Span.SPAN_KIND_SERVER)
        assert server.name == f"GET {path}"
        assert attributes(server) == {
            "http.request.method": "GET",
            "url.path": path,
            "http.request.id": response.headers["x-request-id"],
            "http.route": path,
            "http.response.status_code": 200,
        }
        children = [s for s in spans if s.parent_span_id == server.span_id]
        assert {s.trace_id for s in spans} == {server.trace_id}
        assert any(s.kind == Span.SPAN_KIND_CLIENT and "SELECT" in s.name for s in children), [
            s.name for s in children
        ]
        assert any(
            s.kind == Span.SPAN_KIND_CLIENT
            and s.name == "GET"
            and any(str(value).endswith("/healthz") for value in attributes(s).values())
            for s in children
        ), [(s.name, attributes(s)) for s in children]
        # The test's own httpx call is instrumented too: the server span continues its trace.
        (caller,) = [s for s in spans if s.span_id == server.parent_span_id]
        # Nothing else was exported: /healthz (untraced) has no server span of its own.
        assert len(spans) == 2 + len(children)
        assert caller.kind == Span.SPAN_KIND_CLIENT

        (line,) = log_lines(stack, "work done")
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["otel_trace_id"] == server.trace_id.hex()
        assert line["otel_span_id"] == server.span_id.hex()


async def test_an_unsampled_request_records_nothing_yet_its_log_lines_carry_the_trace(
    monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    async with traced_stack(monkeypatch, database, sample_ratio=1.0) as stack:
        dropped = await gateway_get(
            stack, WORK_PATHS[1], f"00-{INCOMING_TRACE}-00f067aa0ba902b7-00"
        )
        kept = await gateway_get(stack, WORK_PATHS[0], f"00-{'1' * 32}-00f067aa0ba902b7-01")
        stack.runtime.tracer_provider.force_flush()

        # Only the sampled request's spans (server, query, call): the dropped one's children
        # followed its decision.
        spans = stack.received.span_list()
        assert {s.trace_id.hex() for s in spans} == {"1" * 32}
        assert len(spans) == 3
        lines = {line["request_id"]: line for line in log_lines(stack, "work done")}
        assert lines[dropped["x-request-id"]]["otel_trace_id"] == INCOMING_TRACE
        assert len(lines[dropped["x-request-id"]]["otel_span_id"]) == 16
        assert lines[kept["x-request-id"]]["otel_trace_id"] == "1" * 32


async def test_a_traceparent_from_an_untrusted_peer_is_not_followed(
    monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    # Nothing sampled of our own accord: only a followed traceparent could record a span.
    async with traced_stack(monkeypatch, database, sample_ratio=0.0, trusted_proxies=()) as stack:
        stranger = await gateway_get(
            stack, WORK_PATHS[0], f"00-{INCOMING_TRACE}-00f067aa0ba902b7-01"
        )
        stack.runtime.tracer_provider.force_flush()
        assert stack.received.span_list() == []
        [line] = [
            line
            for line in log_lines(stack, "work done")
            if line["request_id"] == stranger["x-request-id"]
        ]
        assert line["otel_trace_id"] != INCOMING_TRACE


async def test_with_no_traces_exporter_no_span_is_recorded_at_all(
    monkeypatch: pytest.MonkeyPatch, database: Database
) -> None:
    async with traced_stack(
        monkeypatch, database, traces_exporter="none", sample_ratio=1.0
    ) as stack:
        recorded = InMemorySpanExporter()
        stack.runtime.tracer_provider.add_span_processor(SimpleSpanProcessor(recorded))
        async with httpx.AsyncClient(base_url=stack.base_url) as client:
            for path in WORK_PATHS:
                assert (await client.get(path)).status_code == 200
        # Not even a trace the gateway sampled: this process records nothing.
        sampled = await gateway_get(
            stack, WORK_PATHS[0], f"00-{INCOMING_TRACE}-00f067aa0ba902b7-01"
        )
        stack.runtime.tracer_provider.force_flush()
        assert recorded.get_finished_spans() == ()
        assert stack.received.span_list() == []
        lines = {line["request_id"]: line for line in log_lines(stack, "work done")}
        assert len(lines) == 3
        assert lines[sampled["x-request-id"]]["otel_trace_id"] == INCOMING_TRACE

        async def metrics_still_flow() -> bool:
            stack.runtime.meter_provider.force_flush()
            return bool(stack.received.metrics_named("http.server.request.duration"))

        await eventually(metrics_still_flow, message="duration metrics exported")
