"""Stopping the HTTP listener: new connections are refused, in-flight requests finish."""

import asyncio

import httpx

from galaxy_backend.app import App
from tests.server.edge_stack import build_stack
from tests.support import eventually


async def test_in_flight_request_finishes_while_new_connections_are_refused() -> None:
    stack = build_stack(shutdown_timeout=10)
    app = App([stack.listener], shutdown_timeout=10)
    await app.start()
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        in_flight = asyncio.create_task(client.get("/api/v1/public/slow"))
        await asyncio.wait_for(stack.gates.entered.wait(), 5)

        stopping = asyncio.create_task(app.stop())
        async with httpx.AsyncClient(base_url=stack.base_url) as fresh:

            async def refused() -> bool:
                try:
                    await fresh.get("/healthz")
                except httpx.ConnectError:
                    return True
                return False

            await eventually(refused, message="new connections refused")
        assert not in_flight.done()
        assert not stopping.done()

        stack.gates.release.set()
        response = await asyncio.wait_for(in_flight, 5)
        assert response.status_code == 200
        assert response.json() == {"done": True}
        assert await asyncio.wait_for(stopping, 10) is True


async def test_a_request_outliving_the_drain_budget_makes_the_stop_fail() -> None:
    stack = build_stack(shutdown_timeout=0.3)
    app = App([stack.listener], shutdown_timeout=10)
    await app.start()
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        in_flight = asyncio.create_task(client.get("/api/v1/public/slow"))
        await asyncio.wait_for(stack.gates.entered.wait(), 5)
        assert await app.stop() is False
        response = await asyncio.wait_for(in_flight, 5)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
