"""Fixtures of the lobby flows: a running backend with players signed in over HTTP."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest

from galaxy_proto.push_pb2 import SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub
from tests.support.api import Api
from tests.support.lobby import LOBBY_ENV, Lobby


@pytest.fixture
async def start_lobby(
    start_api: Callable[..., Awaitable[Api]],
) -> Callable[..., Awaitable[Lobby]]:
    async def start(**overrides: str) -> Lobby:
        api = await start_api(**{**LOBBY_ENV, **overrides})
        # The lobby's side of the runtime is tested here: the real runtime records each
        # start and stop, but its workers are held, so no engine runs and the tests report
        # the runtime's results themselves (the runtime's own tests run engines).
        await api.backend.runtime_workers.stop()
        return Lobby(api=api)

    return start


@pytest.fixture
async def lobby(start_lobby: Callable[..., Awaitable[Lobby]]) -> Lobby:
    return await start_lobby()


@pytest.fixture
async def push_events(lobby: Lobby) -> AsyncIterator[list[Any]]:
    """Every push event the backend publishes from now on, read by a real gRPC subscriber."""
    backend = lobby.api.backend
    events: list[Any] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{backend.grpc.port}") as channel:
        call = PushStub(channel).SubscribePush(
            SubscribePushRequest(gateway_id="test", after_cursor=backend.push.status().last_cursor),
            metadata=[("authorization", f"Bearer {backend.internal_token}")],
        )

        async def read() -> None:
            async for batch in call:
                events.extend(batch.events)

        reader = asyncio.create_task(read())
        yield events
        call.cancel()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await reader
