"""`galaxy-gateway serve` as a real process in front of the real backend: ready, serving,
and a clean stop on SIGTERM (exit 0, WebSockets closed with 1001)."""

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable

import httpx
import pytest
import websockets

from galaxy_backend.wiring import Backend
from tests.support import free_port, wait_ready
from tests.support.gateway import gateway_env


async def test_the_gateway_process_serves_and_stops_cleanly_on_sigterm(
    start_backend: Callable[..., Awaitable[Backend]],
) -> None:
    backend = await start_backend()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "BACKEND_"))}
    env |= gateway_env(backend, GATEWAY_HTTP_ADDR=f"127.0.0.1:{port}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "galaxy_gateway",
        "serve",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log_read = asyncio.create_task(process.stderr.read())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_ready(client)
            assert (await client.get("/api/v1/public/games")).status_code == 200
        refused = await websockets.connect(f"ws://127.0.0.1:{port}/ws")
        await refused.send(json.dumps({"type": "auth", "token": "gsu_unknown"}))
        with pytest.raises(websockets.ConnectionClosed) as first:
            await asyncio.wait_for(refused.recv(), 10)
        assert first.value.rcvd is not None
        assert first.value.rcvd.code == 4401
        # A second socket stays open, waiting to sign in, until the stop.
        waiting = await websockets.connect(f"ws://127.0.0.1:{port}/ws")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        with pytest.raises(websockets.ConnectionClosed) as second:
            await asyncio.wait_for(waiting.recv(), 10)
        assert second.value.rcvd is not None
        assert second.value.rcvd.code == 1001
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (await log_read).decode()
    assert "gsu_unknown" not in log  # tokens are never logged
    assert '"exit_code":0' in log
