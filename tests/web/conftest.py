"""The player web client in a real browser: Debian's Chromium driven by Playwright, against
the real gateway in front of the real backend in this process (its own database, a real
SMTP server, real engines as processes).

Like the console's tests, these skip saying why where Chromium or Playwright is missing,
unless `GALAXY_TEST_REQUIRE_BROWSER=1` (CI) makes that a failure; they never download a
browser. Screenshots of the main pages go to `GALAXY_TEST_SCREENSHOTS/web` (default
`.artifacts/screenshots/web/`, which git ignores).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import eventually
from tests.support.api import bearer
from tests.support.browser import _WATCH, SCREENSHOTS, WAIT_MS
from tests.support.gateway import Stack
from tests.support.lobby import game_body
from tests.support.table import TABLE_ENV

WEB_SCREENSHOTS = SCREENSHOTS.parent / "web"
# Turns at will (forced), engines as processes, many sign-ins from one address.
# (The stack sets the mail's backoff itself.)
WEB_ENV = {
    **{k: v for k, v in TABLE_ENV.items() if not k.startswith("BACKEND_MAIL_")},
    "BACKEND_RUNTIME_DRIVER": "process",
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@dataclass
class WebPlayer:
    """A player at a browser: a context of their own, one page, what the page said."""

    stack: Stack
    page: Any
    base: str
    email: str
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def testid(self, name: str) -> Any:
        return self.page.get_by_test_id(name)

    async def sign_in(self) -> None:
        """From the sign-in page: the code is read from the mail the backend sent."""
        inbox = self.stack.inbox
        before = len(inbox.sign_in_mails(self.email))
        await self.open_signin()
        await self.testid("signin-email").fill(self.email)
        await self.testid("signin-send").click()
        await eventually(
            lambda: len(inbox.sign_in_mails(self.email)) > before,
            timeout=20,
            message=f"a code to {self.email}",
        )
        await self.testid("signin-code").fill(inbox.code_for(self.email))
        await self.testid("signin-confirm").click()
        await self.testid("lobby").wait_for()

    async def open_signin(self) -> None:
        """The sign-in page; loaded again once if its load was aborted (Chromium aborts
        loads when the host's network interfaces change, as containers come and go)."""
        for attempt in range(2):
            try:
                await self.page.goto(f"{self.base}/")
                await self.testid("signin-email").wait_for(timeout=WAIT_MS // 2)
            except Exception:
                if attempt:
                    raise
            else:
                return

    async def token(self) -> str:
        saved: str = await self.page.evaluate(
            "() => JSON.parse(sessionStorage.getItem('galaxy.session')).token"
        )
        return saved

    async def text(self, name: str) -> str:
        found: str = await self.testid(name).inner_text()
        return found

    async def wait_text(self, name: str, expected: str) -> None:
        """Until the element shows `expected` (the page updates itself: no reload)."""
        await self.page.locator(f'[data-testid="{name}"]', has_text=expected).first.wait_for()

    async def screenshot(self, name: str) -> Path:
        await asyncio.to_thread(WEB_SCREENSHOTS.mkdir, parents=True, exist_ok=True)
        path = WEB_SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def clean(self) -> None:
        """No script error, no policy violation, nothing fetched from anywhere but the
        gateway, and no token in any address the page asked for."""
        assert self.errors == []
        assert await self.page.evaluate("() => window.__violations || []") == []
        assert [u for u in self.urls if not u.startswith(self.base)] == []
        assert not [u for u in self.urls if "gsu_" in u or "token" in u.lower()]


NewPlayer = Callable[..., Awaitable[WebPlayer]]


@pytest.fixture
async def new_player(console_browser: Any) -> AsyncIterator[NewPlayer]:
    contexts: list[Any] = []

    async def new(stack: Stack, email: str, viewport: dict[str, int] | None = None) -> WebPlayer:
        base = f"http://127.0.0.1:{stack.gateway.http.port}"
        context = await console_browser.new_context(viewport=viewport or DESKTOP, base_url=base)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        await context.add_init_script(_WATCH)
        page = await context.new_page()
        player = WebPlayer(stack=stack, page=page, base=base, email=email)
        page.on("pageerror", lambda error: player.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                player.errors.append(f"console: {message.text}")
                if message.type == "error" and "status of 4" not in message.text
                else None
            ),
        )
        page.on("request", lambda request: player.urls.append(request.url))
        return player

    yield new
    for context in contexts:
        with contextlib.suppress(Exception):
            await context.close()


# Controls a screen reader could not name: no label, no aria name, no text.
UNLABELLED = """() => [...document.querySelectorAll(
  "input:not([type=hidden]), select, textarea, button, a[href], [role=button],"
  + " [tabindex]:not([tabindex='-1'])")]
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
    && !e.getAttribute("aria-labelledby") && !(e.textContent || "").trim())
  .map((e) => e.outerHTML.slice(0, 120))"""
# Where the focus is, and whether it shows: an outline, or a planet's thick ring.
FOCUS = """(selector) => {
  const e = document.activeElement;
  if (!e || e === document.body) return { matches: false, shown: true, what: "body" };
  const st = getComputedStyle(e);
  const shown = (st.outlineStyle !== "none" && parseFloat(st.outlineWidth) > 0)
    || parseFloat(st.strokeWidth) >= 3;
  return { matches: e.matches(selector), shown, what: e.outerHTML.slice(0, 120) };
}"""


async def tab_to(page: Any, selector: str, *, back: bool = False, limit: int = 80) -> None:
    """Tab (or Shift+Tab) until the focus is on `selector`; each stop must show its focus."""
    for _ in range(limit):
        await page.keyboard.press("Shift+Tab" if back else "Tab")
        state = await page.evaluate(FOCUS, selector)
        assert state["shown"], f"no visible focus on {state['what']}"
        if state["matches"]:
            return
    raise AssertionError(f"{selector} not reached in {limit} tabs")


async def made_game(stack: Stack, owner: str, **fields: Any) -> dict[str, Any]:
    """A game made through the API by `owner` (a token), as `game_body` fills it in."""
    made = await stack.client.post(
        "/api/v1/user/games", json=game_body(**fields), headers=bearer(owner)
    )
    assert made.status_code == 201, made.text
    game: dict[str, Any] = made.json()
    return game


async def enrolled_game(
    stack: Stack, owner: str, player: str, *, race_name: str, **fields: Any
) -> dict[str, Any]:
    """A game made by `owner` with `player` applied as `race_name` and approved (tokens)."""
    game = await made_game(stack, owner, **fields)
    applied = await stack.client.post(
        f"/api/v1/user/games/{game['id']}/applications",
        json={"race_name": race_name},
        headers=bearer(player),
    )
    assert applied.status_code == 201, applied.text
    approved = await stack.client.post(
        f"/api/v1/user/games/{game['id']}/applications/{applied.json()['id']}/approve",
        headers=bearer(owner),
    )
    assert approved.status_code == 200, approved.text
    return game


async def started_game(stack: Stack, owner: str, game_id: str) -> None:
    """The owner starts the game; back once it runs."""
    started = await stack.client.post(f"/api/v1/user/games/{game_id}/start", headers=bearer(owner))
    assert started.status_code == 202, started.text

    async def running() -> bool:
        found = await stack.client.get(f"/api/v1/user/games/{game_id}", headers=bearer(owner))
        return bool(found.json()["status"] == "running")

    await eventually(running, timeout=60, message="the game running")


async def running_game(stack: Stack, owner: str, player: str) -> str:
    """A two-race game started through the API (`owner` and `player` are tokens)."""
    game = await enrolled_game(
        stack,
        owner,
        player,
        race_name="Keyboarders",
        name="Keys Cup",
        min_players=2,
        max_players=2,
        turn_schedule="@every 1h",
        owner_race_name="Owners",
        settings={},
    )
    await started_game(stack, owner, game["id"])
    return str(game["id"])
