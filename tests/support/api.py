"""A real SMTP server and a running backend that mails to it, driven over its HTTP API."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from galaxy_backend.wiring import Backend
from tests.support import eventually
from tests.support.receiver import Receiver

ADMIN_USER = "root-operator"
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
async def smtp() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@dataclass
class Api:
    """The backend under test, driven over its real HTTP listener."""

    backend: Backend
    client: httpx.AsyncClient
    inbox: Receiver

    async def request_code(self, email: str, **headers: str) -> httpx.Response:
        return await self.client.post(
            "/api/v1/public/auth/email-code", json={"email": email}, headers=headers
        )

    async def wait_code(self, email: str, count: int = 1) -> str:
        await eventually(
            lambda: len(self.inbox.sign_in_mails(email)) >= count, message=f"code to {email}"
        )
        return self.inbox.code_for(email)

    async def sign_in(self, email: str, **headers: str) -> dict[str, Any]:
        before = len(self.inbox.sign_in_mails(email))
        response = await self.request_code(email, **headers)
        assert response.status_code == 202, response.text
        code = await self.wait_code(email, before + 1)
        confirmed = await self.client.post(
            "/api/v1/public/auth/email-code/confirm",
            json={"challenge_id": response.json()["challenge_id"], "code": code},
            headers=headers,
        )
        assert confirmed.status_code == 200, confirmed.text
        body: dict[str, Any] = confirmed.json()
        return body

    async def admin_token(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
        response = await self.client.post(
            "/api/v1/admin/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def start_api(
    start_backend: Callable[..., Awaitable[Backend]], smtp: Receiver
) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    clients: list[httpx.AsyncClient] = []

    async def start(**overrides: str) -> Api:
        settings = {
            "BACKEND_SMTP_ADDR": smtp.address,
            "BACKEND_MAIL_BACKOFF_MIN": "100ms",
            "BACKEND_MAIL_BACKOFF_MAX": "500ms",
            "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN_USER,
            "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
        }
        backend = await start_backend(**{**settings, **overrides})
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}")
        clients.append(client)
        return Api(backend=backend, client=client, inbox=smtp)

    yield start
    for client in clients:
        await client.aclose()


@pytest.fixture
async def api(start_api: Callable[..., Awaitable[Api]]) -> Api:
    return await start_api()
