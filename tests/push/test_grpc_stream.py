"""The push stream over a real gRPC listener, with a real grpc.aio client."""

import asyncio
from collections.abc import AsyncIterator

import grpc
import orjson
import pytest

from galaxy_backend.push.service import RESET_KIND
from galaxy_backend.wiring import Backend
from galaxy_proto.push_pb2 import PushBatch, SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub
from tests.support import eventually


@pytest.fixture
async def backend(start_backend) -> Backend:  # type: ignore[no-untyped-def]
    return await start_backend(BACKEND_PUSH_RING_SIZE="32", BACKEND_PUSH_BATCH_MAX="8")


@pytest.fixture
async def channel(backend: Backend) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{backend.grpc.port}") as ch:
        yield ch


def auth(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


async def read_events(call, count: int) -> list:  # type: ignore[no-untyped-def]
    events = []
    batches = 0
    async for batch in call:
        assert isinstance(batch, PushBatch)
        batches += 1
        events.extend(batch.events)
        if len(events) >= count:
            break
    return events


@pytest.mark.parametrize(
    "metadata", [None, auth("wrong-token-" + "x" * 30), [("authorization", "Basic abc")]]
)
async def test_subscribing_without_the_internal_token_is_unauthenticated(
    channel: grpc.aio.Channel, metadata: list[tuple[str, str]] | None
) -> None:
    call = PushStub(channel).SubscribePush(SubscribePushRequest(gateway_id="gw"), metadata=metadata)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_backlog_then_live_events_in_batches(
    backend: Backend, channel: grpc.aio.Channel
) -> None:
    start = backend.push.status().last_cursor
    for n in range(5):
        backend.push.publish("game.updated", {"n": n}, user_ids=["u1"])
    call = PushStub(channel).SubscribePush(
        SubscribePushRequest(gateway_id="gw-1", after_cursor=start),
        metadata=auth(backend.internal_token),
    )
    backlog = await read_events(call, 5)
    assert [e.cursor for e in backlog] == list(range(start + 1, start + 6))
    assert backlog[0].kind == "game.updated"
    assert list(backlog[0].user_ids) == ["u1"]
    assert orjson.loads(backlog[0].payload) == {"n": 0}
    assert backlog[0].created_at.seconds > 0

    for n in range(5, 25):
        backend.push.publish("game.updated", {"n": n})
    live = await read_events(call, 20)
    assert [orjson.loads(e.payload)["n"] for e in live] == list(range(5, 25))
    call.cancel()


async def test_an_expired_cursor_is_reset_over_the_wire(
    backend: Backend, channel: grpc.aio.Channel
) -> None:
    first = backend.push.publish("k", {"n": 0})
    for n in range(1, 100):
        backend.push.publish("k", {"n": n})
    call = PushStub(channel).SubscribePush(
        SubscribePushRequest(gateway_id="gw", after_cursor=first),
        metadata=auth(backend.internal_token),
    )
    events = await read_events(call, 33)
    assert events[0].kind == RESET_KIND
    assert [orjson.loads(e.payload)["n"] for e in events[1:33]] == list(range(68, 100))
    call.cancel()


async def test_many_events_travel_in_few_messages(
    backend: Backend, channel: grpc.aio.Channel
) -> None:
    start = backend.push.status().last_cursor
    for n in range(24):
        backend.push.publish("k", {"n": n})
    call = PushStub(channel).SubscribePush(
        SubscribePushRequest(gateway_id="gw", after_cursor=start),
        metadata=auth(backend.internal_token),
    )
    sizes = []
    async for batch in call:
        sizes.append(len(batch.events))
        if sum(sizes) >= 24:
            break
    assert sizes == [8, 8, 8]
    call.cancel()


async def test_shutdown_flushes_pending_events_then_ends_streams_and_refuses_new_ones(
    backend: Backend, channel: grpc.aio.Channel
) -> None:
    start = backend.push.status().last_cursor
    call = PushStub(channel).SubscribePush(
        SubscribePushRequest(gateway_id="gw", after_cursor=start),
        metadata=auth(backend.internal_token),
    )
    await eventually(lambda: backend.push.status().subscribers == 1)
    for n in range(6):
        backend.push.publish("k", {"n": n})
    backend.grpc.refuse_new()
    refused = PushStub(channel).SubscribePush(
        SubscribePushRequest(gateway_id="late"), metadata=auth(backend.internal_token)
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await refused.read()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    stopping = asyncio.create_task(backend.grpc.stop())
    received = [e async for batch in call for e in batch.events]
    await stopping
    assert [orjson.loads(e.payload)["n"] for e in received] == list(range(6))
    assert await call.code() == grpc.StatusCode.OK


async def test_a_subscription_is_one_span_and_a_hang_up_leaves_no_context_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from galaxy_backend.config import Address
    from galaxy_backend.push import PushService
    from galaxy_backend.push.grpc_api import SUBSCRIBE_METHOD, PushGrpcApi
    from galaxy_backend.server.grpc_server import GrpcListener, InternalTokenInterceptor
    from galaxy_backend.telemetry import TelemetryRuntime

    # A recording exporter ("none" records no span at all); the test reads its own processor.
    telemetry = TelemetryRuntime(
        traces_exporter="stdout",
        metrics_exporter="none",
        sample_ratio=1.0,
        prometheus=False,
        service_version="test",
    )
    spans = InMemorySpanExporter()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    push = PushService(ring_size=64, batch_max=8, meter=MeterProvider().get_meter("t"))
    token = "k" * 40
    listener = GrpcListener(
        address=Address("127.0.0.1", 0),
        handlers=[PushGrpcApi(push, telemetry.tracer("test")).handler()],
        interceptors=[
            telemetry.grpc_server_interceptor(untraced_streams=[SUBSCRIBE_METHOD]),
            InternalTokenInterceptor(token),
        ],
        shutdown_timeout=2,
        drain=push.close_subscriptions,
    )
    await listener.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{listener.port}") as channel:
            call = PushStub(channel).SubscribePush(
                SubscribePushRequest(gateway_id="gw-span", after_cursor=0), metadata=auth(token)
            )
            push.publish("k", {"n": 1})
            push.publish("k", {"n": 2})
            assert len(await read_events(call, 2)) == 2
            call.cancel()
            await eventually(lambda: push.status().subscribers == 0)
    finally:
        await listener.stop()
    await eventually(
        lambda: any(s.name == SUBSCRIBE_METHOD.lstrip("/") for s in spans.get_finished_spans())
    )
    span = next(s for s in spans.get_finished_spans() if s.name == SUBSCRIBE_METHOD.lstrip("/"))
    assert span.attributes is not None
    assert span.attributes["galaxy.gateway_id"] == "gw-span"
    assert span.attributes["galaxy.push.events_sent"] == 2
    assert not [r for r in caplog.records if "Failed to detach context" in r.getMessage()]
    telemetry.tracer_provider.shutdown()


async def test_a_gateway_that_stops_reading_cannot_hold_the_stop(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend = await start_backend(
        BACKEND_GRPC_PUSH_SHUTDOWN_TIMEOUT="1s", BACKEND_SHUTDOWN_TIMEOUT="20s"
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{backend.grpc.port}") as channel:
        call = PushStub(channel).SubscribePush(
            SubscribePushRequest(gateway_id="stuck"), metadata=auth(backend.internal_token)
        )
        backend.push.publish("test.hello", {})
        first = await asyncio.wait_for(anext(aiter(call)), 10)
        assert first.events  # subscribed; from now on it reads nothing
        # Far more than HTTP/2 flow control lets through unread: the stream's writes block.
        payload = b"x" * 16_384
        for _ in range(4_000):
            backend.push.publish("test.bulk", payload)

        assert backend.push.status().subscribers == 1
        # Bounded by the drain budget, not by the gateway: every step completes in its own
        # budget (the stuck stream is cut, which is not a failed stop)...
        assert await asyncio.wait_for(backend.app.stop(), 30) is True
        assert backend.app.started == []
        # ...and the stuck stream was ended rather than left open.
        with pytest.raises(grpc.aio.AioRpcError):
            async for _ in call:
                pass
