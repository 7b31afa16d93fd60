"""Two players in two browsers play a game through the gateway: sign in from the mails,
create, apply, approve, start, see the map, send orders (one with a mistake shown next to
its line), a forced turn that reaches both pages without a reload, the report of its
effects. Each main page is photographed."""

from collections.abc import Awaitable, Callable

import httpx
import pytest

from galaxy_gateway.wiring import Gateway
from tests.support.gateway import Stack
from tests.support.lobby import game_body
from tests.web.conftest import PHONE, WEB_ENV, NewPlayer, WebPlayer

StartStack = Callable[..., Awaitable[Stack]]
ALICE_ORDERS = "d Colonist 2 0 0 0 1\nk nonsense\n"
BOB_ORDERS = "d Scout 1 0 0 0 0\n"


async def create_game(alice: WebPlayer) -> str:
    """Alice creates a game she plays in; a bad field first, shown next to it."""
    await alice.testid("create-game").click()
    await alice.testid("game-name").fill("Web Cup")
    await alice.testid("game-min-players").fill("2")
    await alice.testid("game-max-players").fill("1")
    await alice.testid("game-schedule").fill("@every 1h")
    await alice.testid("game-owner-race").fill("Alicians")
    await alice.testid("game-submit").click()
    complaint = alice.page.locator('[data-field="max_players"] .field-error')
    await complaint.wait_for()
    assert "greater than or equal to 2" in await complaint.inner_text()
    assert await alice.testid("game-max-players").get_attribute("aria-invalid") == "true"
    await alice.screenshot("create-game")
    await alice.testid("game-max-players").fill("2")
    await alice.testid("game-submit").click()
    await alice.testid("game-status").wait_for()
    game_id = str(alice.page.url).rsplit("/", 1)[-1]
    assert await alice.text("game-status") == "enrollment open"
    return game_id


async def apply(bob: WebPlayer, game_id: str) -> None:
    """Bob finds the game by its name, checks his race name as he types, applies."""
    await bob.testid("lobby-search").fill("Web Cup")
    card = bob.page.locator(f'[data-testid="game-card"][data-game-id="{game_id}"]')
    await card.wait_for()
    await bob.screenshot("lobby")
    await card.get_by_role("link").click()
    await bob.testid("apply-race-name").fill("Alicians")
    await bob.wait_text("race-name-availability", "taken")
    await bob.testid("apply-race-name").fill("Bobbians")
    await bob.wait_text("race-name-availability", "free")
    await bob.testid("apply-submit").click()
    await bob.testid("application-pending").wait_for()


async def test_two_players_play_a_turn_in_their_browsers(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    alice = await new_player(stack, "alice@example.org")
    bob = await new_player(stack, "bob@example.org")
    await alice.sign_in()
    await bob.sign_in()
    await alice.testid("signout").wait_for()

    game_id = await create_game(alice)
    await apply(bob, game_id)

    # The owner's page shows the application as it arrives, then starts the game.
    row = alice.testid("application-row")
    await row.wait_for()
    assert await row.get_attribute("data-application-id")
    await alice.screenshot("game-owner")
    await row.get_by_test_id("approve").click()
    await row.wait_for(state="detached")
    await alice.testid("start-game").click()
    for player in (alice, bob):
        await player.wait_text("game-status", "running")
        await player.testid("game-play").click()
        await player.testid("galaxy-map").wait_for()
        await player.testid("map-planet").first.wait_for()
        assert await player.testid("map-planet").count() > 10

    # A planet's details on click (the last drawn of one's own is on top of the others),
    # and from the list, for the keyboard.
    # A planet of one's own that no other is drawn over at its centre (maps vary).
    number = await bob.page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="map-planet"].planet-yours')]
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([el, r]) => el.contains(
                document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)))
            .map(([el]) => el.dataset.planetNumber)[0]"""
    )
    assert number is not None, "every planet of one's own is covered"
    await bob.page.locator(f'[data-testid="map-planet"][data-planet-number="{number}"]').click()
    await bob.wait_text("planet-details", f"(#{number})")
    await bob.testid("map-find").select_option("3")
    await bob.wait_text("planet-details", "(#3)")

    # Alice's mistake is named next to its line before anything is sent.
    await alice.testid("orders-editor").fill(ALICE_ORDERS)
    error = alice.page.locator('[data-testid="orders-errors"] li[data-line="2"]')
    await error.wait_for()
    assert "k nonsense" in await error.inner_text()
    marked = alice.page.locator('.gutter-line.gutter-error[data-line="2"]')
    await marked.wait_for()
    await alice.wait_text("orders-forecast", "Colonist")
    await alice.testid("orders-submit").click()
    await alice.wait_text("orders-status", "sent for turn 1")
    await alice.screenshot("play")

    await bob.testid("orders-editor").fill(BOB_ORDERS)
    await bob.wait_text("orders-forecast", "Scout")
    assert await bob.page.locator('[data-testid="orders-errors"] li[data-line]').count() == 0
    await bob.testid("orders-submit").click()
    await bob.wait_text("orders-status", "sent for turn 1")
    # The orders sent come back with the page.
    await bob.page.reload()
    await bob.wait_text("orders-status", "sent for turn 1")
    assert await bob.testid("orders-editor").input_value() == BOB_ORDERS

    # The owner forces the turn; both pages show it without a reload.
    forced = await stack.client.post(
        f"/api/v1/user/games/{game_id}/force-next-turn",
        headers={"Authorization": f"Bearer {await alice.token()}"},
    )
    assert forced.status_code == 202, forced.text
    for player, made in ((alice, "Colonist"), (bob, "Scout")):
        await player.wait_text("current-turn", "1")
        await player.page.locator('[data-testid="report-view"][data-turn="1"]').wait_for()
        await player.wait_text("report-view", made)
        await player.testid("toast").first.wait_for()
        assert await player.testid("orders-editor").input_value() == ""
    # The refused line is in Alice's report, as GalaxyNG reports mistakes.
    await alice.wait_text("report-messages", "k nonsense")
    await alice.screenshot("report")
    await alice.testid("report-format-text").click()
    await alice.wait_text("report-view", "Alicians")
    await alice.screenshot("report-text")

    # The inbox counts what came, live.
    badge = alice.testid("inbox-unread")
    assert int(await badge.inner_text()) >= 1
    await alice.page.get_by_role("link", name="Inbox").click()
    await alice.testid("inbox-item").first.wait_for()
    assert (
        await alice.page.locator(
            '[data-testid="inbox-item"][data-kind="runtime.turn.ready"]'
        ).count()
        == 1
    )
    await alice.screenshot("inbox")

    await bob.testid("signout").click()
    await bob.testid("signin-email").wait_for()
    await bob.screenshot("signin")
    for player in (alice, bob):
        await player.clean()


@pytest.mark.parametrize("viewport", [PHONE])
async def test_the_pages_fit_a_phone(
    start_stack: StartStack, new_player: NewPlayer, viewport: dict[str, int]
) -> None:
    stack = await start_stack(WEB_ENV)
    carol = await new_player(stack, "carol@example.org", viewport)
    await carol.sign_in()
    await carol.page.locator('[data-testid="lobby"][aria-busy="false"]').wait_for()
    await carol.screenshot("lobby-phone")
    # Nothing more to list: no button for more (the attribute beats the button's display).
    assert not await carol.page.get_by_role("button", name="More games").is_visible()
    width = await carol.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    await carol.page.get_by_role("link", name="Account").click()
    await carol.testid("session-row").first.wait_for()
    assert "this tab" in await carol.testid("session-row").first.inner_text()
    await carol.screenshot("account-phone")
    await carol.page.get_by_role("link", name="Inbox").click()
    await carol.testid("notification-preferences").locator("input").first.wait_for()
    assert not await carol.page.get_by_role("button", name="Older").is_visible()
    # Each kind's two boxes within the phone's width (the kind's words wrap).
    last = carol.testid("notification-preferences").locator("input").last
    box = await last.bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    await carol.screenshot("inbox-phone")
    # Her session ended elsewhere: the socket closes with 4401 and the page asks to sign in.
    await carol.page.locator('.live-state[data-state="live"]').wait_for()
    token = await carol.token()
    ended = await stack.client.post(
        "/api/v1/user/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert ended.status_code == 204
    await carol.testid("signin-email").wait_for()
    await carol.wait_text("signin-message", "sign in again")
    assert await carol.page.evaluate("() => sessionStorage.getItem('galaxy.session')") is None
    await carol.clean()


async def test_the_page_reconnects_after_a_gateway_restart_and_reloads_what_it_shows(
    start_stack: StartStack,
    start_gateway: Callable[..., Awaitable[Gateway]],
    new_player: NewPlayer,
    free_tcp_port: int,
) -> None:
    address = f"127.0.0.1:{free_tcp_port}"
    stack = await start_stack(WEB_ENV, GATEWAY_HTTP_ADDR=address)
    dave = await new_player(stack, "dave@example.org")
    await dave.sign_in()
    live = dave.page.locator('.live-state[data-state="live"]')
    await live.wait_for()
    await stack.gateway.app.stop()
    await dave.page.locator('.live-state[data-state="live"]').wait_for(state="detached")
    # Made while the page could not hear of it: the reconnect's reload shows it.
    backend = f"http://127.0.0.1:{stack.backend.http.port}"
    async with httpx.AsyncClient(base_url=backend) as client:
        made = await client.post(
            "/api/v1/user/games",
            json=game_body(name="Made Offline"),
            headers={"Authorization": f"Bearer {await dave.token()}"},
        )
        assert made.status_code == 201, made.text
    await start_gateway(stack.backend, GATEWAY_HTTP_ADDR=address)
    await live.wait_for(timeout=60_000)
    await dave.page.locator(
        f'[data-testid="my-game"][data-game-id="{made.json()["id"]}"]'
    ).wait_for()
    # The browser itself logs each attempt refused while the gateway was away.
    expected = ("WebSocket connection", "Failed to load resource: net::ERR_")
    assert all(any(x in e for x in expected) for e in dave.errors), dave.errors
    dave.errors.clear()
    await dave.clean()
