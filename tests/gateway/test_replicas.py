"""The gateway subscribes to every backend replica in GATEWAY_BACKEND_PUSH_ADDRS, and a
stream cut under it (the backend still running) resumes from its last cursor: the events
published meanwhile arrive, in order, with no `resync`."""

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from galaxy_backend.wiring import Backend
from galaxy_gateway.wiring import Gateway
from tests.faults.proxy import FaultProxy
from tests.gateway.test_push import next_frame
from tests.support import eventually
from tests.support.gateway import Stack
from tests.support.receiver import Receiver


@pytest.fixture
async def cuttable() -> AsyncIterator[Callable[[Backend], Awaitable[FaultProxy]]]:
    proxies: list[FaultProxy] = []

    async def before(backend: Backend) -> FaultProxy:
        proxy = FaultProxy("127.0.0.1", backend.grpc.port)
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield before
    for proxy in proxies:
        await proxy.stop()


async def test_events_of_every_replica_arrive_and_a_cut_stream_resumes_from_its_cursor(
    start_backend: Callable[..., Awaitable[Backend]],
    start_gateway: Callable[..., Awaitable[Gateway]],
    cuttable: Callable[[Backend], Awaitable[FaultProxy]],
    smtp: Receiver,
) -> None:
    first = await start_backend(BACKEND_SMTP_ADDR=smtp.address)
    second = await start_backend(BACKEND_SMTP_ADDR=smtp.address)
    proxy = await cuttable(first)
    gateway = await start_gateway(
        first,
        GATEWAY_BACKEND_PUSH_ADDRS=f"127.0.0.1:{proxy.port},127.0.0.1:{second.grpc.port}",
    )
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway.http.port}", timeout=20
    ) as client:
        stack = Stack(backend=first, gateway=gateway, inbox=smtp, client=client)
        await stack.wait_subscribed()
        assert len(gateway.subscribers) == 2
        alice = await stack.sign_in("alice@example.org")
        socket = await stack.subscribe(alice["token"])
        user = [alice["user"]["id"]]

        async def received() -> list[str]:
            frame = await next_frame(socket)
            return [frame["type"], frame.get("kind", "")]

        # An event published by either replica reaches her.
        first.push.publish("test.from_first", {}, user_ids=user)
        assert await received() == ["event", "test.from_first"]
        second.push.publish("test.from_second", {}, user_ids=user)
        assert await received() == ["event", "test.from_second"]

        # The first replica's stream is cut; what it publishes meanwhile is not lost.
        subscriber = next(s for s in gateway.subscribers if s.address.endswith(f":{proxy.port}"))
        before = subscriber.cursor
        proxy.reset()
        first.push.publish("test.while_cut.1", {}, user_ids=user)
        first.push.publish("test.while_cut.2", {}, user_ids=user)
        assert await received() == ["event", "test.while_cut.1"]
        assert await received() == ["event", "test.while_cut.2"]
        await eventually(lambda: proxy.accepted >= 2, message="the stream opened again")
        assert subscriber.cursor == before + 2
        # Still one stream per replica, and nothing told the client to resync.
        second.push.publish("test.after", {}, user_ids=user)
        assert await received() == ["event", "test.after"]
        await socket.close()
