"""The console on a phone's screen: the sections above the page rather than beside it,
and a game named as one long word wrapping rather than widening the page."""

from collections.abc import Awaitable, Callable

from tests.console.conftest import NewOperator
from tests.support.api import Api, bearer
from tests.support.lobby import LOBBY_ENV, game_body

StartApi = Callable[..., Awaitable[Api]]
PHONE = {"width": 390, "height": 844}
# 64 characters without a space: the longest game name, and no place to wrap.
LONG_NAME = "Andromeda" + "x" * 55
FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


async def test_the_console_keeps_a_phones_width(
    start_api: StartApi, new_operator: NewOperator
) -> None:
    api = await start_api(**LOBBY_ENV)
    owner = await api.sign_in("long-names@example.org")
    made = await api.client.post(
        "/api/v1/user/games", json=game_body(name=LONG_NAME), headers=bearer(owner["token"])
    )
    assert made.status_code == 201, made.text
    operator = await new_operator(api)
    await operator.page.set_viewport_size(PHONE)
    await operator.sign_in()
    assert await operator.page.evaluate(FITS)
    # The navigation sits above the page, every section in reach.
    nav = await operator.testid("nav-games").bounding_box()
    content = await operator.page.locator(".content").bounding_box()
    assert nav is not None and content is not None
    assert nav["y"] + nav["height"] <= content["y"]
    assert content["width"] >= PHONE["width"] - 1

    await operator.open("games")
    await operator.page.get_by_role("link", name=LONG_NAME).click()
    await operator.page.get_by_role("heading", name=LONG_NAME).wait_for()
    assert await operator.page.evaluate(FITS)
    await operator.screenshot("game-phone")
    await operator.clean()
