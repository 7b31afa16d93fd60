"""The pages besides the game's turn, in Chromium: a private game joined by its invite code
and the owner's rejection seen by the applicant; the notification preferences and the
profile kept across a reload; a session ended from the account page; a `resync` (the
backend, restarted, answers the gateway's cursor with `push.reset`) refetching what the
page shows."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import eventually
from tests.support.api import bearer
from tests.support.gateway import Stack
from tests.support.lobby import game_body
from tests.web.conftest import PHONE, WEB_ENV, NewPlayer, WebPlayer, running_game

StartStack = Callable[..., Awaitable[Stack]]


async def private_game(stack: Stack, owner: WebPlayer) -> tuple[str, str]:
    """Made through the API (the create page has its own test): its id and invite code."""
    made = await stack.client.post(
        "/api/v1/user/games",
        json=game_body(name="Hidden Cup", visibility="private", owner_race_name="Owners"),
        headers=bearer(await owner.token()),
    )
    assert made.status_code == 201, made.text
    game = made.json()
    assert game["invite_code"]
    return game["id"], game["invite_code"]


async def test_a_private_game_by_its_invite_code_and_the_owners_rejection(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    owner = await new_player(stack, "owner@example.org")
    bob = await new_player(stack, "bob@example.org", PHONE)
    await owner.sign_in()
    await bob.sign_in()
    game_id, code = await private_game(stack, owner)

    # Not listed; a wrong code is said so next to the form; the right one opens the game.
    await bob.testid("lobby-search").fill("Hidden Cup")
    await bob.page.locator('[data-testid="lobby"] li.muted', has_text="No games match").wait_for()
    await bob.testid("invite-code").fill("not-the-code")
    await bob.testid("invite-submit").click()
    await bob.page.locator(".form-message", has_text="no game has this invite code").wait_for()
    await bob.testid("invite-code").fill(code)
    await bob.testid("invite-submit").click()
    await bob.wait_text("game-status", "enrollment open")
    assert bob.page.url.endswith(f"#/games/{game_id}")
    await bob.testid("apply-race-name").fill("Bobbians")
    await bob.testid("apply-submit").click()
    # As an applicant he sees the game without the code (it stays out of the address).
    await bob.testid("application-pending").wait_for()
    await bob.screenshot("game-applicant-phone")

    await owner.page.goto(f"{owner.base}/#/games/{game_id}")
    assert await owner.text("invite-code-value") == code
    row = owner.testid("application-row")
    await row.wait_for()
    await row.get_by_test_id("reject").click()
    await row.wait_for(state="detached")

    # Bob's page hears of it without a reload: the verdict, the form to apply again.
    await bob.wait_text("application-rejected", "not accepted")
    await bob.testid("apply-race-name").wait_for()
    assert await bob.testid("application-pending").count() == 0
    await bob.testid("toast").first.wait_for()
    await bob.screenshot("game-rejected-phone")
    for player in (owner, bob):
        assert not [u for u in player.urls if code in u]
        await player.clean()


async def test_preferences_and_profile_are_kept_and_a_session_is_ended_here(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    erin = await new_player(stack, "erin@example.org")
    await erin.sign_in()
    elsewhere = await stack.sign_in("erin@example.org")  # her phone, say

    # Notification preferences: one kind by mail off, another in the browser off.
    await erin.page.get_by_role("link", name="Inbox").click()
    prefs = erin.testid("notification-preferences")
    mail = prefs.locator('input[data-kind="runtime.turn.ready"][data-channel="email"]')
    push = prefs.locator('input[data-kind="lobby.application.rejected"][data-channel="push"]')
    assert await mail.is_checked() and await push.is_checked()
    await mail.uncheck()
    await push.uncheck()

    async def saved() -> bool:
        found = await stack.client.get(
            "/api/v1/user/me/notification-preferences", headers=bearer(elsewhere["token"])
        )
        kinds = {k["kind"]: k for k in found.json()["items"]}
        return (
            kinds["runtime.turn.ready"]["email"] is False
            and kinds["lobby.application.rejected"]["push"] is False
            and kinds["runtime.turn.ready"]["push"] is True
        )

    await eventually(saved, message="the preferences saved")
    await erin.page.reload()
    await mail.wait_for()
    assert not await mail.is_checked() and not await push.is_checked()
    assert await prefs.locator(
        'input[data-kind="runtime.turn.ready"][data-channel="push"]'
    ).is_checked()
    await erin.screenshot("inbox-preferences")

    # The profile: a bad time zone is named next to its field; good values are kept.
    await erin.page.get_by_role("link", name="Account").click()
    await erin.testid("profile-name").fill("Erin of Vega")
    await erin.testid("profile-time-zone").fill("Mars/Olympus")
    await erin.testid("profile-save").click()
    complaint = erin.page.locator('[data-field="time_zone"] .field-error')
    await complaint.wait_for()
    assert "IANA" in await complaint.inner_text()
    await erin.testid("profile-time-zone").fill("Europe/Lisbon")
    await erin.testid("profile-language").fill("pt-BR")
    await erin.testid("profile-save").click()
    await erin.wait_text("who", "Erin of Vega")
    assert await complaint.inner_text() == ""
    await erin.page.reload()
    await erin.wait_text("who", "Erin of Vega")
    assert await erin.testid("profile-name").input_value() == "Erin of Vega"
    assert await erin.testid("profile-time-zone").input_value() == "Europe/Lisbon"
    assert await erin.testid("profile-language").input_value() == "pt-BR"

    # Two sessions listed; she ends the other one here, and its token stops working.
    rows = erin.testid("session-row")
    await eventually(lambda: _count(rows, 2), message="both sessions listed")
    await erin.screenshot("account")
    other = erin.page.locator(
        f'[data-testid="session-row"][data-session-id="{elsewhere["session_id"]}"]'
    )
    assert await other.get_attribute("data-current") == "false"
    await other.get_by_test_id("session-end").click()
    await other.wait_for(state="detached")
    assert await rows.count() == 1
    assert await rows.first.get_attribute("data-current") == "true"
    gone = await stack.client.get("/api/v1/user/me", headers=bearer(elsewhere["token"]))
    assert gone.status_code == 401
    await erin.clean()


async def _count(locator: Any, expected: int) -> bool:
    return bool(await locator.count() == expected)


async def test_a_resync_refetches_what_the_page_shows(
    start_stack: StartStack, start_backend: Callable[..., Awaitable[Any]], new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    fay = await new_player(stack, "fay@example.org")
    sockets: list[Any] = []
    frames: list[str] = []

    def opened(socket: Any) -> None:
        sockets.append(socket)
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    fay.page.on("websocket", opened)
    await fay.sign_in()
    await fay.page.get_by_role("link", name="Account").click()
    await fay.page.locator('.live-state[data-state="live"]').wait_for()
    rows = fay.testid("session-row")
    await eventually(lambda: _count(rows, 1), message="her one session")
    # A change no push tells of: a second session, and a new name.
    second = await stack.sign_in("fay@example.org")
    renamed = await stack.client.patch(
        "/api/v1/user/me", json={"display_name": "Fay Two"}, headers=bearer(second["token"])
    )
    assert renamed.status_code == 200, renamed.text
    assert await rows.count() == 1
    # A session ended elsewhere: an event through the stream, so the gateway holds a cursor.
    third = await stack.sign_in("fay@example.org")
    ended = await stack.client.post("/api/v1/user/auth/logout", headers=bearer(third["token"]))
    assert ended.status_code == 204
    await eventually(
        lambda: stack.gateway.dispatcher.events["session.revoked"] >= 1, message="an event"
    )

    # The backend restarts on its ports: its new ring does not hold the gateway's cursor,
    # so it answers with `push.reset`, and every client is told to resync (the page's
    # socket stays open).
    old = stack.backend
    await old.app.stop()
    await eventually(lambda: not stack.gateway.subscribers[0].live, message="stream down")
    stack.backend = await start_backend(
        **WEB_ENV,
        BACKEND_HTTP_ADDR=f"127.0.0.1:{old.http.port}",
        BACKEND_GRPC_PUSH_ADDR=f"127.0.0.1:{old.grpc.port}",
        BACKEND_SMTP_ADDR=stack.inbox.address,
    )
    await eventually(lambda: _count(rows, 2), timeout=30, message="the sessions refetched")
    await eventually(
        lambda: _value_is(fay.testid("profile-name"), "Fay Two"), message="the profile refetched"
    )
    assert len(sockets) == 1, "a resync, not a reconnect"
    assert stack.gateway.dispatcher.events["push.reset"] == 1
    assert '{"type":"resync"}' in frames
    # The push stream is back before the API listens: a read may meet a 503, and is retried.
    fay.errors[:] = [e for e in fay.errors if "status of 503" not in e]
    await fay.clean()


async def _value_is(locator: Any, expected: str) -> bool:
    return bool(await locator.input_value() == expected)


async def test_a_refused_check_is_said_calmly_and_asked_again_when_allowed(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    # One live check in five seconds: the second one typed is refused (429).
    env = {
        **WEB_ENV,
        "BACKEND_RUNTIME_ORDERS_CHECK_RATE": "0.2",
        "BACKEND_RUNTIME_ORDERS_CHECK_BURST": "1",
    }
    stack = await start_stack(env)
    gil = await new_player(stack, "gil@example.org", PHONE)
    await gil.sign_in()
    owner = await stack.sign_in("owner@example.org")
    game_id = await running_game(stack, owner["token"], await gil.token())
    await gil.page.goto(f"{gil.base}/#/games/{game_id}/play")
    await gil.wait_text("orders-status", "No orders sent")
    await gil.testid("orders-editor").fill("d Alpha 1 0 0 0 0\n")
    await gil.wait_text("orders-forecast", "Alpha")
    await gil.testid("orders-editor").fill("d Beta 1 0 0 0 0\n")
    await gil.wait_text("orders-check-pace", "Checking again in")
    # The last verdict stays meanwhile, and no error is shown for the refusal.
    assert "Alpha" in await gil.text("orders-forecast")
    assert "too many" not in (await gil.text("orders-errors")).lower()
    await gil.page.locator('[data-testid="orders-forecast"]', has_text="Beta").wait_for(
        timeout=30_000
    )
    assert await gil.text("orders-check-pace") == ""
    # The map, the editor and the reports, one under the other, at a phone's width.
    await gil.screenshot("play-phone")
    width = await gil.page.evaluate("() => document.documentElement.scrollWidth")
    wide = await gil.page.evaluate(
        """() => [...document.querySelectorAll("main *")]
        .filter((e) => e.getBoundingClientRect().right > innerWidth + 1
          && !e.closest(".table-wrap"))
        .slice(0, 5).map((e) => e.tagName + "." + e.className)"""
    )
    assert width <= PHONE["width"], wide
    await gil.clean()
