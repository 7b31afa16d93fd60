"""`galaxy.push.v1.Push/SubscribePush` over gRPC: batches stream as pre-encoded bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from galaxy_backend.push.pb.push_pb2 import SubscribePushRequest
from galaxy_backend.push.service import PushService

SERVICE_NAME = "galaxy.push.v1.Push"


class PushGrpcApi:
    """Adapts the push service to the gRPC stream; events were encoded once, at publish."""

    def __init__(self, service: PushService) -> None:
        self._service = service

    async def subscribe_push(
        self, request: SubscribePushRequest, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        gateway_id = request.gateway_id or (context.peer() or "unknown")
        try:
            batches = self._service.subscribe(request.after_cursor, gateway_id)
            async for events in batches:
                yield b"".join([event.wire for event in events])
        except ConnectionAbortedError:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "push service is shutting down")

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
