"""Fixtures for notifications: the running backend of tests/support.api and a real gRPC
subscriber on its push port."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest

from galaxy_backend.wiring import Backend
from galaxy_proto.push_pb2 import SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub
from tests.support.api import Api


class Gateway:
    """A gateway: subscribes to the push stream and keeps every event it receives."""

    def __init__(self, backend: Backend, after_cursor: int | None = None) -> None:
        self._backend = backend
        self._after = backend.push.status().last_cursor if after_cursor is None else after_cursor
        self.events: list[Any] = []
        self._channel: grpc.aio.Channel | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{self._backend.grpc.port}")
        call = PushStub(self._channel).SubscribePush(
            SubscribePushRequest(gateway_id="test-gateway", after_cursor=self._after),
            metadata=[("authorization", f"Bearer {self._backend.internal_token}")],
        )

        async def read() -> None:
            async for batch in call:
                self.events.extend(batch.events)

        self._task = asyncio.create_task(read())

    def notifications(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """The `notification` events' payloads (for one user, if given)."""
        return [
            json.loads(event.payload)
            for event in self.events
            if event.kind == "notification" and (user_id is None or user_id in event.user_ids)
        ]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._channel is not None:
            await self._channel.close()


@pytest.fixture
async def gateway() -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    started: list[Gateway] = []

    async def start(api: Api, after_cursor: int | None = None) -> Gateway:
        subscriber = Gateway(api.backend, after_cursor)
        await subscriber.start()
        started.append(subscriber)
        return subscriber

    yield start
    for subscriber in started:
        await subscriber.stop()
