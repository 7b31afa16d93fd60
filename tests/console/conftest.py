"""The operator console in a real browser: Debian's Chromium driven by Playwright, against
the real backend in this process (its own database, a real SMTP server, real engines).

The browser tests skip, saying why, where Chromium or Playwright is missing, unless
`GALAXY_TEST_REQUIRE_BROWSER=1` (CI) turns that into a failure. They never download a
browser (`playwright install`): `GALAXY_TEST_CHROMIUM` names the executable (default
`/usr/bin/chromium`). Screenshots of the main pages go to `GALAXY_TEST_SCREENSHOTS/console`
(default `.artifacts/screenshots/console/`, which git ignores).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import ADMIN_PASSWORD, ADMIN_USER, Api, bearer
from tests.support.browser import (
    _WATCH,
    SCREENSHOTS,
    WAIT_MS,
)

VIEWER_USER = "night-shift"
VIEWER_PASSWORD = "a viewer's long password"


@dataclass
class Operator:
    """An operator at a browser: a context of their own, one page, what the page said."""

    api: Api
    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def testid(self, name: str) -> Any:
        return self.page.get_by_test_id(name)

    async def sign_in(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        await self.page.goto(f"{self.base}/console/")
        await self.testid("console-username").fill(username)
        await self.testid("console-password").fill(password)
        await self.testid("console-login").click()
        await self.testid("status-ready").wait_for()

    async def open(self, page: str) -> None:
        """A page from the navigation, loaded."""
        await self.testid(f"nav-{page}").click()
        await self.page.locator(f'[data-testid="nav-{page}"][aria-current="page"]').wait_for()

    async def confirm(self) -> None:
        await self.testid("confirm").click()
        await self.testid("confirm").wait_for(state="detached")

    async def token(self) -> str:
        saved = await self.page.evaluate("() => sessionStorage.getItem('galaxy.console.session')")
        assert saved, "no session in this tab"
        token: str = await self.page.evaluate(f"() => JSON.parse({saved!r}).token")
        return token

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """The admin API from the page itself, with the tab's own token."""
        result: dict[str, Any] = await self.page.evaluate(
            """async ([method, path, body]) => {
                const session = JSON.parse(sessionStorage.getItem('galaxy.console.session'));
                const response = await fetch('/api/v1/admin' + path, {
                    method,
                    headers: {Authorization: 'Bearer ' + session.token,
                              'Content-Type': 'application/json'},
                    body: body === null ? undefined : JSON.stringify(body),
                });
                return {status: response.status, body: await response.json()};
            }""",
            [method, path, body],
        )
        return result

    async def screenshot(self, name: str) -> Path:
        await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("() => window.__violations || []")
        return found

    async def clean(self) -> None:
        """Nothing went wrong in the page: no script error, no policy violation, nothing
        fetched from anywhere but the backend itself."""
        assert self.errors == []
        assert await self.violations() == []
        assert [u for u in self.urls if not u.startswith(self.base)] == []


NewOperator = Callable[[Api], Awaitable[Operator]]


@pytest.fixture
async def new_operator(console_browser: Any) -> AsyncIterator[NewOperator]:
    contexts: list[Any] = []

    async def new(api: Api) -> Operator:
        base = f"http://127.0.0.1:{api.backend.http.port}"
        context = await console_browser.new_context(
            viewport={"width": 1280, "height": 900}, base_url=base
        )
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        await context.add_init_script(_WATCH)
        page = await context.new_page()
        operator = Operator(api=api, page=page, base=base)
        page.on("pageerror", lambda error: operator.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                operator.errors.append(f"console: {message.text}")
                if message.type == "error" and "status of 4" not in message.text
                else None
            ),
        )
        page.on("request", lambda request: operator.urls.append(request.url))
        return operator

    yield new
    for context in contexts:
        with contextlib.suppress(Exception):
            await context.close()


async def add_viewer(api: Api) -> None:
    """A read-only operator, created by the bootstrap admin over the API."""
    admin = bearer(await api.admin_token())
    created = await api.client.post(
        "/api/v1/admin/operators",
        json={"username": VIEWER_USER, "password": VIEWER_PASSWORD, "role": "viewer"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
