"""`galaxy.push.v1.Push/SubscribePush` over gRPC: batches stream as pre-encoded bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from galaxy_backend.push.service import PushService
from galaxy_proto.push_pb2 import SubscribePushRequest

SERVICE_NAME = "galaxy.push.v1.Push"
SUBSCRIBE_METHOD = f"/{SERVICE_NAME}/SubscribePush"


class PushGrpcApi:
    """Adapts the push service to the gRPC stream; events were encoded once, at publish."""

    def __init__(self, service: PushService, tracer: Tracer) -> None:
        self._service = service
        self._tracer = tracer

    async def subscribe_push(
        self, request: SubscribePushRequest, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        gateway_id = request.gateway_id or (context.peer() or "unknown")
        remote = propagate.extract(dict(context.invocation_metadata() or ()))
        # One span for the whole subscription, never made current: a stream may be closed
        # from another task when the gateway hangs up, where a context could not be detached.
        span = self._tracer.start_span(
            SUBSCRIBE_METHOD.lstrip("/"),
            context=remote,
            kind=SpanKind.SERVER,
            attributes={
                "rpc.system": "grpc",
                "rpc.service": SERVICE_NAME,
                "rpc.method": "SubscribePush",
                "galaxy.gateway_id": gateway_id,
                "galaxy.push.after_cursor": request.after_cursor,
            },
        )
        sent = 0
        try:
            batches = self._service.subscribe(request.after_cursor, gateway_id)
            async for events in batches:
                sent += len(events)
                yield b"".join([event.wire for event in events])
        except ConnectionAbortedError:
            span.set_status(Status(StatusCode.ERROR, "shutting down"))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "push service is shutting down")
        finally:
            span.set_attribute("galaxy.push.events_sent", sent)
            span.end()

    def handler(self) -> grpc.GenericRpcHandler[SubscribePushRequest, bytes]:
        # No response serializer: the stream yields bytes that already are PushBatch messages.
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "SubscribePush": grpc.unary_stream_rpc_method_handler(
                    self.subscribe_push,
                    request_deserializer=SubscribePushRequest.FromString,
                )
            },
        )
