"""The lobby's filters besides the text (status, free seats) and a game page's schedule
preview, in Chromium, against games made, filled, started and cancelled through the API."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import eventually
from tests.support.gateway import Stack
from tests.support.lobby import game_body
from tests.web.conftest import WEB_ENV, NewPlayer, WebPlayer

StartStack = Callable[..., Awaitable[Stack]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_game(stack: Stack, owner: WebPlayer, **fields: Any) -> dict[str, Any]:
    made = await stack.client.post(
        "/api/v1/user/games",
        json=game_body(**fields),
        headers=bearer(await owner.token()),
    )
    assert made.status_code == 201, made.text
    game: dict[str, Any] = made.json()
    return game


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
    opened = await make_game(stack, owner, name="Open Filter Cup", owner_race_name="Openers")
    # Two seats: the owner's and another player's.
    full = await make_game(
        stack, owner, name="Full Filter Cup", min_players=2, max_players=2, owner_race_name="Fulls"
    )
    other = await new_player(stack, "other@example.org")
    await other.sign_in()
    applied = await stack.client.post(
        f"/api/v1/user/games/{full['id']}/applications",
        json={"race_name": "Others"},
        headers=bearer(await other.token()),
    )
    assert applied.status_code == 201, applied.text
    approved = await stack.client.post(
        f"/api/v1/user/games/{full['id']}/applications/{applied.json()['id']}/approve",
        headers=bearer(await owner.token()),
    )
    assert approved.status_code == 200, approved.text
    started = await stack.client.post(
        f"/api/v1/user/games/{full['id']}/start", headers=bearer(await owner.token())
    )
    assert started.status_code == 202, started.text

    async def running() -> bool:
        game = await stack.client.get(
            f"/api/v1/user/games/{full['id']}", headers=bearer(await owner.token())
        )
        return bool(game.json()["status"] == "running")

    await eventually(running, timeout=30, message="the full game running")
    gone = await make_game(stack, owner, name="Cancelled Filter Cup")
    cancelled = await stack.client.post(
        f"/api/v1/user/games/{gone['id']}/cancel", headers=bearer(await owner.token())
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
