"""Several tabs of one browser: a tab opened beside a signed-in one takes its session, a tab
showing the sign-in page follows a sign-in made in another, and signing out ends them all.
Another browser (another context) never gets the session."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.gateway import Stack
from tests.web.conftest import WEB_ENV, NewPlayer, WebPlayer

StartStack = Callable[..., Awaitable[Stack]]

SESSION = "() => JSON.parse(sessionStorage.getItem('galaxy.session') || 'null')"


async def another_tab(player: WebPlayer, path: str = "/") -> Any:
    page = await player.page.context.new_page()
    page.on("pageerror", lambda error: player.errors.append(f"page error: {error}"))
    await page.goto(f"{player.base}{path}")
    return page


async def test_tabs_share_the_session_and_sign_out_together(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    ann = await new_player(stack, "ann@example.org")
    stranger = await new_player(stack, "stranger@example.org")

    # A tab open on the sign-in page before anyone signed in.
    await ann.open_signin()
    waiting = await another_tab(ann)
    await waiting.get_by_test_id("signin-email").wait_for()

    # Signing in on one tab brings the waiting tab in too, without a reload.
    await ann.testid("signin-email").fill(ann.email)
    await ann.sign_in()
    await waiting.get_by_test_id("lobby").wait_for()
    first = await ann.page.evaluate(SESSION)
    assert (await waiting.evaluate(SESSION))["session_id"] == first["session_id"]

    # A tab opened later, on a game's address, goes straight to the page: no code asked.
    later = await another_tab(ann, "/#/inbox")
    await later.get_by_test_id("inbox").wait_for()
    assert await later.get_by_test_id("signin-email").count() == 0
    assert (await later.evaluate(SESSION))["token"] == first["token"]
    await later.locator('.live-state[data-state="live"]').wait_for()

    # Another browser is not told: it still asks for a code.
    await stranger.open_signin()
    assert await stranger.page.evaluate(SESSION) is None

    # Signing out in one tab ends the session, so every tab returns to sign-in.
    await ann.testid("signout").click()
    await ann.testid("signin-email").wait_for()
    for page in (waiting, later):
        await page.get_by_test_id("signin-email").wait_for()
        await page.locator('[data-testid="signin-message"]', has_text="sign in again").wait_for()
        assert await page.evaluate(SESSION) is None
    await ann.clean()
    await stranger.clean()
