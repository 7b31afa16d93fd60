"""The lobby's filters besides the text (status, free seats) and a game page's schedule
preview, in Chromium, against games made, filled, started and cancelled through the API."""

from collections.abc import Awaitable, Callable

from tests.support.api import bearer
from tests.support.gateway import Stack
from tests.web.conftest import WEB_ENV, NewPlayer, WebPlayer, enrolled_game, made_game, started_game

StartStack = Callable[..., Awaitable[Stack]]


async def shown(player: WebPlayer) -> set[str]:
    """The names of the public games the lobby lists, once its answer is drawn."""
    await player.page.locator('[data-testid="lobby"][aria-busy="false"]').wait_for()
    names = await player.page.locator('[data-testid="game-card"] a.game-link').all_inner_texts()
    return set(names)


async def test_status_and_free_seat_filters_and_the_schedule_preview(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    owner = await new_player(stack, "owner@example.org")
    await owner.sign_in()
    token = await owner.token()
    opened = await made_game(stack, token, name="Open Filter Cup", owner_race_name="Openers")
    # Two seats: the owner's and another player's.
    other = await new_player(stack, "other@example.org")
    await other.sign_in()
    full = await enrolled_game(
        stack,
        token,
        await other.token(),
        race_name="Others",
        name="Full Filter Cup",
        min_players=2,
        max_players=2,
        owner_race_name="Fulls",
    )
    await started_game(stack, token, full["id"])
    gone = await made_game(stack, token, name="Cancelled Filter Cup")
    cancelled = await stack.client.post(
        f"/api/v1/user/games/{gone['id']}/cancel", headers=bearer(token)
    )
    assert cancelled.status_code == 200, cancelled.text

    await owner.page.reload()
    # Any status: every listed game; a cancelled one is never listed, nor offered as a filter.
    everything = {"Open Filter Cup", "Full Filter Cup"}
    assert await shown(owner) == everything
    assert await owner.testid("lobby-status").locator("option[value=cancelled]").count() == 0
    await owner.testid("lobby-status").select_option("running")
    assert await shown(owner) == {"Full Filter Cup"}
    await owner.testid("lobby-status").select_option("enrollment_open")
    assert await shown(owner) == {"Open Filter Cup"}
    await owner.testid("lobby-status").select_option("")
    await owner.testid("lobby-free-seats").check()
    assert "Full Filter Cup" not in await shown(owner)
    assert "Open Filter Cup" in await shown(owner)
    await owner.testid("lobby-free-seats").uncheck()
    assert await shown(owner) == everything

    # The open game's page lists its next turns as the API previews them.
    await owner.page.locator("a.game-link", has_text="Open Filter Cup").first.click()
    await owner.testid("game-status").wait_for()
    preview = owner.page.locator("dt", has_text="Next turns").locator(
        "xpath=following-sibling::dd[1]//li"
    )
    await preview.first.wait_for()
    assert await preview.count() == len(opened["schedule_preview"]) > 0
    await owner.clean()
    await other.clean()
