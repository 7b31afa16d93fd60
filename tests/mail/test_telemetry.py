"""The worker's spans and metrics: one span per batch and per SMTP attempt, counted by outcome."""

from collections import deque
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from galaxy_backend.mail import MailService
from galaxy_backend.postgres import Database
from tests.mail.helpers import WorkerFactory, enqueue_many, statuses
from tests.support import eventually, free_port
from tests.support.receiver import Receiver


async def table_scans(database: Database) -> int:
    """How often anyone read mail_deliveries (PostgreSQL's statistics lag up to a second)."""
    with suppress_instrumentation():  # the test's own look is not the worker's
        scans: int = await database.pool.fetchval(
            "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            " WHERE relname = 'mail_deliveries'"
        )
    return scans


async def _more_than(count: Awaitable[int], floor: int) -> bool:
    return await count > floor


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    return [
        point
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def gauge(reader: InMemoryMetricReader, name: str) -> dict[tuple[str, ...], float]:
    """Attribute values -> value of a gauge's points."""
    return {tuple(p.attributes.values()): p.value for p in points(reader, name)}


def counter_points(reader: InMemoryMetricReader, name: str) -> dict[tuple[str, str], float]:
    """(status, outcome) -> value of a metric's data points."""
    found: dict[tuple[str, str], float] = {}
    for point in points(reader, name):
        value = getattr(point, "value", None)
        key = (point.attributes["mail.status"], point.attributes["mail.outcome"])
        found[key] = float(value if value is not None else point.count)
    return found


async def test_attempts_are_traced_and_counted_and_an_idle_queue_leaves_no_trace(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = AsyncPGInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        receiver.handler.refuse["nobody@example.org"] = deque(["550 5.1.1 no such user"])
        [bounced] = await enqueue_many(service, database, 1, to="nobody@example.org")
        sent = await enqueue_many(service, database, 2)
        spans.clear()  # the enqueue statements' own spans
        await make_worker(
            tracer=tracer_provider.get_tracer("test"),
            meter=meter_provider.get_meter("test"),
            depth_interval=timedelta(milliseconds=50),
        )

        async def settled() -> bool:
            with suppress_instrumentation():  # the test's own queries are not the worker's
                found = await statuses(database)
            return found[bounced] == "failed" and all(found[i] == "sent" for i in sent)

        await eventually(settled, message="one failed, two sent")
        await eventually(
            lambda: (
                counter_points(reader, "mail.attempts")
                == {("failed", "permanent"): 1.0, ("sent", "sent"): 2.0}
            ),
            message="attempts counted",
        )
        durations = counter_points(reader, "mail.send.duration")
        assert durations == {("failed", "permanent"): 1.0, ("sent", "sent"): 2.0}
        [bounds] = {tuple(p.explicit_bounds) for p in points(reader, "mail.send.duration")}
        assert bounds[0] == 0.005  # seconds, not the SDK's millisecond defaults
        await eventually(
            lambda: (
                gauge(reader, "mail.dead_letters") == {(): 1}
                and gauge(reader, "mail.queue.depth")
                == {("pending",): 0, ("retrying",): 0, ("sending",): 0}
            ),
            message="the queue counted empty with one dead letter",
        )

        finished: list[ReadableSpan] = list(spans.get_finished_spans())
        sends = [s for s in finished if s.name == "smtp send"]
        assert len(sends) == 3
        assert all(s.kind is SpanKind.CLIENT for s in sends)
        by_delivery = {s.attributes["mail.delivery_id"]: s for s in sends if s.attributes}
        failed = by_delivery[str(bounced)]
        assert failed.status.status_code is StatusCode.ERROR
        assert failed.attributes is not None
        assert failed.attributes["smtp.reply_code"] == 550
        assert failed.attributes["mail.outcome"] == "permanent"
        assert failed.attributes["mail.kind"] == "notification"
        assert {by_delivery[str(i)].status.status_code for i in sent} == {StatusCode.UNSET}

        # Every span of the worker (its SQL included) belongs to a delivery batch's trace.
        batches = [s for s in finished if s.name == "mail deliver"]
        assert batches
        batch_traces = {s.context.trace_id for s in batches if s.context}
        worker_spans = [s for s in finished if s.name != "mail deliver"]
        assert worker_spans
        assert {s.context.trace_id for s in worker_spans if s.context} <= batch_traces

        # Polling an empty queue (every 50 ms here) records nothing: wait until PostgreSQL
        # has counted a dozen more of the worker's looks at the table, then find no span.
        spans.clear()
        looked = await table_scans(database)
        await eventually(
            lambda: _more_than(table_scans(database), looked + 12), message="idle polls"
        )
        assert spans.get_finished_spans() == ()
    finally:
        instrumentor.uninstrument()


async def test_mail_waiting_on_an_unreachable_server_shows_in_the_queue_depth(
    service: MailService, database: Database, make_worker: WorkerFactory
) -> None:
    reader = InMemoryMetricReader()
    await enqueue_many(service, database, 3)
    await make_worker(
        smtp_port=free_port(),
        backoff_min=timedelta(seconds=30),
        backoff_max=timedelta(seconds=30),
        meter=MeterProvider(metric_readers=[reader]).get_meter("test"),
        depth_interval=timedelta(milliseconds=50),
    )

    def waiting() -> float:
        depth = gauge(reader, "mail.queue.depth")
        return depth.get(("pending",), 0) + depth.get(("retrying",), 0)

    await eventually(lambda: waiting() == 3, message="three mails counted as waiting")
    assert gauge(reader, "mail.dead_letters") == {(): 0}
    # The worker is now pausing for the unreachable server; the count goes on meanwhile.
    await eventually(lambda: gauge(reader, "mail.queue.depth").get(("retrying",)) == 1)
    await enqueue_many(service, database, 2)
    await eventually(lambda: waiting() == 5, message="mails queued during the outage counted")
