"""The real backend in this process (real Postgres, SMTP, gRPC push) and the real
gateway in front of it on its own loopback listener; real WebSocket clients talk to it."""

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from galaxy_backend.wiring import Backend
from galaxy_gateway.config import load_from_env
from galaxy_gateway.wiring import Gateway, build_gateway
from tests.support import eventually
from tests.support.receiver import Receiver

StartBackend = Callable[..., Awaitable[Backend]]


@dataclass
class Stack:
    """A backend and the gateway in front of it, driven as a player would."""

    backend: Backend
    gateway: Gateway
    inbox: Receiver
    client: httpx.AsyncClient
    sockets: list[ClientConnection] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.gateway.http.port}/ws"

    async def sign_in(self, email: str, **headers: str) -> dict[str, Any]:
        """Sign in through the gateway: ask for a code, read it from the mail, confirm it."""
        before = len(self.inbox.sign_in_mails(email))
        asked = await self.client.post(
            "/api/v1/public/auth/email-code", json={"email": email}, headers=headers
        )
        assert asked.status_code == 202, asked.text
        await eventually(
            lambda: len(self.inbox.sign_in_mails(email)) > before, message=f"code to {email}"
        )
        confirmed = await self.client.post(
            "/api/v1/public/auth/email-code/confirm",
            json={"challenge_id": asked.json()["challenge_id"], "code": self.inbox.code_for(email)},
            headers=headers,
        )
        assert confirmed.status_code == 200, confirmed.text
        body: dict[str, Any] = confirmed.json()
        return body

    async def connect(self, **options: Any) -> ClientConnection:
        socket = await websockets.connect(self.ws_url, open_timeout=10, **options)
        self.sockets.append(socket)
        return socket

    async def subscribe(self, token: str) -> ClientConnection:
        """A socket past its `ready` frame."""
        socket = await self.connect()
        await socket.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(await socket.recv(decode=True))
        assert ready["type"] == "ready", ready
        return socket

    async def wait_subscribed(self) -> None:
        await eventually(
            lambda: all(s.live for s in self.gateway.subscribers), message="push streams open"
        )


def gateway_env(backend: Backend | None, **overrides: str) -> dict[str, str]:
    env = {
        "GATEWAY_HTTP_ADDR": "127.0.0.1:0",
        "GATEWAY_OTEL_TRACES_EXPORTER": "none",
        "GATEWAY_OTEL_METRICS_EXPORTER": "none",
        "GATEWAY_SHUTDOWN_TIMEOUT": "10s",
        "GATEWAY_PUSH_RECONNECT_MAX": "200ms",
        "GATEWAY_PUSH_RECONNECT_MIN": "20ms",
    }
    if backend is not None:
        env |= {
            "GATEWAY_BACKEND_URL": f"http://127.0.0.1:{backend.http.port}",
            "GATEWAY_BACKEND_PUSH_ADDRS": f"127.0.0.1:{backend.grpc.port}",
            "GATEWAY_INTERNAL_TOKEN": backend.internal_token,
        }
    return env | overrides


@pytest.fixture
async def start_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """Start the real gateway in this process, configured from GATEWAY_* as in production."""
    started: list[Gateway] = []

    async def start(backend: Backend | None, **overrides: str) -> Gateway:
        for name in list(os.environ):
            if name.upper().startswith("GATEWAY_"):
                monkeypatch.delenv(name)
        for name, value in gateway_env(backend, **overrides).items():
            monkeypatch.setenv(name, value)
        gateway = build_gateway(load_from_env())
        await gateway.app.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        await gateway.app.stop()


@pytest.fixture
async def start_stack(
    start_backend: StartBackend,
    start_gateway: Callable[..., Awaitable[Gateway]],
    smtp: Receiver,
) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    stacks: list[Stack] = []

    async def start(backend_env: dict[str, str] | None = None, **gateway_overrides: str) -> Stack:
        backend = await start_backend(
            BACKEND_SMTP_ADDR=smtp.address,
            BACKEND_MAIL_BACKOFF_MIN="100ms",
            BACKEND_MAIL_BACKOFF_MAX="500ms",
            **(backend_env or {}),
        )
        gateway = await start_gateway(backend, **gateway_overrides)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.http.port}", timeout=20)
        stack = Stack(backend=backend, gateway=gateway, inbox=smtp, client=client)
        stacks.append(stack)
        await stack.wait_subscribed()
        return stack

    yield start
    for stack in stacks:
        for socket in stack.sockets:
            await socket.close()
        await stack.client.aclose()


@pytest.fixture
async def stack(start_stack: Callable[..., Awaitable[Stack]]) -> Stack:
    return await start_stack()
