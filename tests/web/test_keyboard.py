"""The client with the keyboard only: sign in, open a game and its map, go from planet to
planet with the arrow keys and open one's details with Enter or Space; every focus stop on
the way shows the focus, and every control of the main pages has a name."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import eventually
from tests.support.gateway import Stack
from tests.web.conftest import UNLABELLED, WEB_ENV, NewPlayer, running_game, tab_to

StartStack = Callable[..., Awaitable[Stack]]


async def test_the_map_with_the_keyboard_only(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    kim = await new_player(stack, "kim@example.org")
    keys = kim.page.keyboard

    # Signing in: the page puts the focus where the typing goes; Enter sends each form.
    await kim.open_signin()
    await keys.type(kim.email)
    await keys.press("Enter")
    await eventually(lambda: kim.stack.inbox.sign_in_mails(kim.email), message="the code")
    await kim.testid("signin-code").wait_for()
    await keys.type(kim.stack.inbox.code_for(kim.email))
    await keys.press("Enter")
    await kim.testid("lobby").wait_for()
    owner = await stack.sign_in("owner@example.org")
    game_id = await running_game(stack, owner["token"], await kim.token())

    await kim.page.reload()
    await kim.page.locator(f'[data-testid="my-game"][data-game-id="{game_id}"]').wait_for()
    assert await kim.page.evaluate(UNLABELLED) == []
    await tab_to(kim.page, f'[data-testid="my-game"][data-game-id="{game_id}"] a')
    await keys.press("Enter")
    await kim.testid("game-play").wait_for()
    assert await kim.page.evaluate(UNLABELLED) == []
    await tab_to(kim.page, '[data-testid="game-play"]')
    await keys.press("Enter")
    await kim.testid("map-planet").first.wait_for()

    # One tab stop for all the planets: her home planet first.
    planets = kim.page.locator('[data-testid="map-planet"][tabindex="0"]')
    assert await planets.count() == 1
    await tab_to(kim.page, '[data-testid="map-planet"]')
    home = await focused_planet(kim.page)
    assert home["status"] == "planet planet-yours"
    await keys.press("Enter")
    await kim.wait_text("planet-details", f"(#{home['number']})")

    # Arrow keys go to the nearest planet that way; Space shows it.
    await keys.press("ArrowRight")
    east = await focused_planet(kim.page)
    assert east["x"] > home["x"], (home, east)
    await keys.press("Space")
    await kim.wait_text("planet-details", f"(#{east['number']})")
    await keys.press("ArrowLeft")
    west = await focused_planet(kim.page)
    assert west["x"] < east["x"], (east, west)
    await keys.press("ArrowDown")
    south = await focused_planet(kim.page)
    assert south["y"] > west["y"], (west, south)
    await keys.press("Enter")
    await kim.wait_text("planet-details", f"(#{south['number']})")
    # The tab stop stays on the planet last visited; the one shown is marked.
    assert await planets.count() == 1
    assert await planets.get_attribute("data-planet-number") == str(south["number"])
    assert "planet-selected" in (await planets.get_attribute("class") or "")
    await kim.screenshot("play-keyboard")

    # Back to the map itself: arrows pan it, + zooms it.
    await tab_to(kim.page, '[data-testid="galaxy-map"]', back=True)
    view = "(e) => e.getAttribute('viewBox')"
    before = await kim.testid("galaxy-map").evaluate(view)
    await keys.press("+")
    await keys.press("ArrowRight")
    await eventually(
        lambda: _changed(kim.testid("galaxy-map"), view, before), message="the view moved"
    )
    assert await kim.page.evaluate(UNLABELLED) == []

    for page in ("#/games/new", "#/inbox", "#/account"):
        await kim.page.goto(f"{kim.base}/{page}")
        await kim.page.locator("main h1").wait_for()
        await kim.page.locator("main input").first.wait_for()
        assert await kim.page.evaluate(UNLABELLED) == [], page
    await kim.clean()


async def focused_planet(page: Any) -> dict[str, float | str]:
    found: dict[str, float | str] = await page.evaluate(
        """() => { const e = document.activeElement;
        if (!e || !e.dataset.planetNumber) return null;
        return { number: Number(e.dataset.planetNumber), x: Number(e.getAttribute("cx")),
          y: Number(e.getAttribute("cy")),
          status: e.getAttribute("class").replace(" planet-selected", "") }; }"""
    )
    assert found, "the focus is on no planet"
    return found


async def _changed(locator: Any, script: str, before: str) -> bool:
    return bool(await locator.evaluate(script) != before)
