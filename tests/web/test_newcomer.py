"""What a newcomer met walking through the client on a phone: sign-in news told as news
and a refusal as an error; names chosen as one long word wrapping rather than widening
the page; a running game's one next turn, the scheduler's; messages about the game as it
was ("Starting…", "The next turn runs now.") gone once it moved on; sessions named by
browser and system; a complaint in the validator's own words."""

from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx
from playwright.async_api import expect

from tests.support import eventually
from tests.support.api import ADMIN_PASSWORD, ADMIN_USER, bearer
from tests.support.gateway import Stack
from tests.support.lobby import game_body
from tests.web.conftest import PHONE, WEB_ENV, NewPlayer, WebPlayer, enrolled_game

StartStack = Callable[..., Awaitable[Stack]]
# 64 characters without a space: the longest game name, and no place to wrap.
LONG_NAME = "Andromeda" + "x" * 55
# The page as wide as the screen: nothing pushes it sideways.
DRAFT = "d Drone 1 0 0 0 0\n"
FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
COLOUR = "(e) => getComputedStyle(e).color"
# Each fact of the game's page: {"Status": "running", ...}.
FACTS = """() => Object.fromEntries([...document.querySelectorAll(".facts dt")]
  .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))"""


async def sign_in_by_hand(player: WebPlayer) -> None:
    """As WebPlayer.sign_in, with a wrong code first; the colours of what is said."""
    inbox = player.stack.inbox
    await player.open_signin()
    await player.testid("signin-email").fill(player.email)
    await player.testid("signin-send").click()
    message = player.testid("signin-message")
    await player.wait_text("signin-message", "on its way")
    assert await message.get_attribute("data-kind") == "note"
    news = await message.evaluate(COLOUR)
    await player.testid("signin-code").fill("000000")
    await player.testid("signin-confirm").click()
    await player.page.locator('[data-testid="signin-message"][data-kind="error"]').wait_for()
    refusal = await message.evaluate(COLOUR)
    assert news != refusal
    assert refusal == "rgb(255, 123, 114)"  # --bad
    await player.screenshot("signin-refused-phone")

    await eventually(
        lambda: len(inbox.sign_in_mails(player.email)) > 0,
        timeout=20,
        message=f"a code to {player.email}",
    )
    await player.testid("signin-code").fill(inbox.code_for(player.email))
    await player.testid("signin-confirm").click()
    await player.testid("lobby").wait_for()


async def long_named_game(stack: Stack, owner: str, player: str) -> str:
    """Enrolled through the API, not started: its owner starts it on the page."""
    game = await enrolled_game(
        stack,
        owner,
        player,
        race_name="Guests",
        name=LONG_NAME,
        max_players=2,
        turn_schedule="@every 1h",
        turn_time_zone="UTC",
        owner_race_name="Owners",
        settings={"max_turns": 2},
    )
    return str(game["id"])


async def test_a_newcomer_on_a_phone(start_stack: StartStack, new_player: NewPlayer) -> None:
    stack = await start_stack(WEB_ENV)
    olga = await new_player(stack, "olga@example.org", PHONE)
    guest = await new_player(stack, "guest@example.org")
    await sign_in_by_hand(olga)
    await guest.sign_in()
    game_id = await long_named_game(stack, await olga.token(), await guest.token())

    # The lobby and the game's page keep the phone's width.
    await olga.page.reload()
    await olga.page.locator(f'[data-testid="my-game"][data-game-id="{game_id}"]').wait_for()
    assert await olga.page.evaluate(FITS)
    await olga.screenshot("lobby-long-name-phone")
    await olga.page.goto(f"{olga.base}/#/games/{game_id}")
    await olga.wait_text("game-status", "enrollment open")
    assert await olga.page.evaluate(FITS)
    before = await olga.page.evaluate(FACTS)
    assert "Next turns" in before and "Enrolment closes" in before

    # Started here: the message about starting goes once the game runs.
    await olga.testid("start-game").click()
    await olga.page.locator(".flash", has_text="Starting").wait_for()
    await olga.wait_text("game-status", "running")
    await olga.page.locator(".flash").wait_for(state="detached")
    # One next turn, the scheduler's; nothing about the enrolment that is over.
    status = await stack.client.get(
        f"/api/v1/user/games/{game_id}/status", headers=bearer(await olga.token())
    )
    assert status.status_code == 200, status.text
    due = datetime.fromisoformat(status.json()["next_turn_at"])
    shown = await olga.page.evaluate(
        "(iso) => new Date(iso).toLocaleString(undefined,"
        " { dateStyle: 'medium', timeStyle: 'short' })",
        due.isoformat(),
    )
    await olga.page.locator(".facts dd", has_text=shown).wait_for()
    after = await olga.page.evaluate(FACTS)
    assert after["Next turn"] == shown
    assert "Next turns" not in after and "Enrolment closes" not in after
    assert await olga.page.evaluate(FITS)
    await olga.screenshot("game-long-name-phone")

    # A forced turn: its message goes when the turn has run.
    await olga.testid("force-turn").click()
    await olga.page.locator(".flash", has_text="runs now").wait_for()
    await olga.wait_text("current-turn", "1")
    await olga.page.locator(".flash").wait_for(state="detached")
    # The owner pauses the turns and resumes them.
    await olga.testid("pause-game").click()
    await olga.wait_text("game-status", "paused")
    await olga.page.locator(".flash", has_text="Paused").wait_for()
    assert await olga.testid("force-turn").count() == 0
    await olga.testid("resume-game").click()
    await olga.wait_text("game-status", "running")
    await olga.page.locator(".flash", has_text="Resumed").wait_for()
    await olga.testid("game-play").click()
    await olga.testid("map-planet").first.wait_for()
    assert await olga.page.evaluate(FITS)
    await olga.screenshot("play-long-name-phone")

    # Orders typed, not sent, and a look at the game's page: they are still there after.
    await olga.wait_text("orders-status", "No orders sent")
    await olga.testid("orders-editor").fill(DRAFT)
    await olga.wait_text("orders-status", "not sent yet")
    await olga.page.get_by_role("link", name="the game's page").click()
    await olga.testid("game-play").click()
    await olga.wait_text("orders-status", "not sent yet")
    assert await olga.testid("orders-editor").input_value() == DRAFT

    # Someone who does not play in it, at the play page's address: told so, and no empty
    # map or orders editor to type into.
    await guest.page.goto(f"{guest.base}/#/games/{game_id}/play")
    await guest.testid("map-planet").first.wait_for()
    stranger = await new_player(stack, "stranger@example.org", PHONE)
    await stranger.sign_in()
    await stranger.page.goto(f"{stranger.base}/#/games/{game_id}/play")
    await stranger.wait_text("play-message", "do not play")
    assert not await stranger.testid("orders-editor").is_visible()
    assert not await stranger.testid("galaxy-map").is_visible()
    assert not await stranger.testid("report-view").is_visible()
    await stranger.screenshot("play-stranger-phone")
    await stranger.clean()

    # The last turn (max_turns 2): no orders editor any more; the game's page names the
    # winner.
    forced = await stack.client.post(
        f"/api/v1/user/games/{game_id}/force-next-turn", headers=bearer(await olga.token())
    )
    assert forced.status_code == 202, forced.text
    await olga.wait_text("game-status", "finished")
    await olga.testid("game-over").wait_for()
    assert not await olga.testid("orders-editor").is_visible()
    await olga.screenshot("play-finished-phone")
    await olga.page.get_by_role("link", name="the game's page").click()
    winner = await olga.text("game-winner")
    assert winner in ("Owners", "Guests"), winner

    # Sessions by browser and system (the whole string in the tooltip); a complaint in
    # the validator's words.
    await olga.page.get_by_role("link", name="Account").click()
    device = olga.page.locator(
        '[data-testid="session-row"][data-current="true"] [data-testid="session-device"]'
    )
    assert await device.inner_text() == "Chrome on Linux"
    assert "Mozilla/5.0" in (await device.get_attribute("title") or "")
    await olga.testid("profile-time-zone").fill("Mars/Olympus")
    await olga.testid("profile-save").click()
    complaint = olga.page.locator('[data-field="time_zone"] .field-error')
    await complaint.wait_for()
    assert await complaint.inner_text() == "not an IANA time zone, e.g. Europe/Berlin"
    assert await olga.page.evaluate(FITS)
    await olga.screenshot("account-phone-devices")

    # The preferences' boxes are named by their columns' words.
    await olga.page.get_by_role("link", name="Inbox").click()
    await olga.page.get_by_role("checkbox", name="A new turn ran").first.wait_for()
    names = (
        await olga.testid("notification-preferences")
        .locator("input")
        .evaluate_all("(boxes) => boxes.map((b) => b.getAttribute('aria-label'))")
    )
    assert names and all(n.endswith((": in the browser", ": by mail")) for n in names), names
    await olga.clean()
    await guest.clean()


async def test_a_refused_code_says_when_to_try_again(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    stack = await start_stack(WEB_ENV)
    pushy = await new_player(stack, "pushy@example.org", PHONE)
    # Five codes already asked for this email from this address: the sixth is refused.
    for _ in range(5):
        asked = await stack.client.post(
            "/api/v1/public/auth/email-code", json={"email": pushy.email}
        )
        assert asked.status_code == 202, asked.text
    await pushy.open_signin()
    await expect(pushy.page).to_have_title("Sign in · Galaxy")
    await pushy.testid("signin-email").fill(pushy.email)
    await pushy.testid("signin-send").click()
    refused = pushy.page.locator('[data-testid="signin-message"][data-kind="error"]')
    await refused.wait_for()
    assert (await refused.inner_text()).endswith(": try again in 15 min.")
    await pushy.screenshot("signin-rate-limited-phone")
    await pushy.clean()


async def test_minds_changed_before_the_start(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    """An applicant withdraws, a player leaves, the owner calls the game off: each from
    the game's page, the last two with a second press."""
    stack = await start_stack(WEB_ENV)
    owner = await new_player(stack, "host@example.org")
    ivan = await new_player(stack, "ivan@example.org", PHONE)
    await owner.sign_in()
    await ivan.sign_in()
    made = await stack.client.post(
        "/api/v1/user/games",
        json=game_body(name="Maybe Cup", owner_race_name="Hosts"),
        headers=bearer(await owner.token()),
    )
    assert made.status_code == 201, made.text
    game_id = made.json()["id"]

    # Each page titled by its heading: the history's back list tells them apart.
    await expect(ivan.page).to_have_title("Lobby · Galaxy")
    await expect(owner.page).to_have_title("Lobby · Galaxy")
    await ivan.page.goto(f"{ivan.base}/#/games/{game_id}")
    await expect(ivan.page).to_have_title("Maybe Cup · Galaxy")
    await ivan.page.go_back()
    await expect(ivan.page).to_have_title("Lobby · Galaxy")
    await ivan.page.go_forward()
    await ivan.testid("apply-race-name").fill("Ivanians")
    await ivan.testid("apply-submit").click()
    await ivan.testid("withdraw-application").click()
    await ivan.page.locator(".flash", has_text="Application withdrawn").wait_for()
    await ivan.testid("apply-race-name").wait_for()
    mine = await stack.client.get(
        f"/api/v1/user/games/{game_id}/applications", headers=bearer(await ivan.token())
    )
    assert [a["status"] for a in mine.json()["items"]] == ["withdrawn"]

    # Applied again and approved: one press arms the button, the second leaves.
    await ivan.testid("apply-race-name").fill("Ivanians")
    await ivan.testid("apply-submit").click()
    await ivan.testid("application-pending").wait_for()
    row = owner.page.locator('[data-testid="application-row"]')
    await owner.page.goto(f"{owner.base}/#/games/{game_id}")
    await row.get_by_test_id("approve").click()
    await ivan.testid("leave-game").wait_for()
    await ivan.testid("leave-game").click()
    await ivan.wait_text("leave-game", "Press again")
    await ivan.screenshot("leave-armed-phone")
    await ivan.testid("leave-game").click()
    await ivan.page.locator(".flash", has_text="You left the game").wait_for()
    await ivan.testid("apply-race-name").wait_for()

    # A game of his own under a race name that is taken: told beside that field.
    await ivan.page.goto(f"{ivan.base}/#/games/new")
    await ivan.testid("game-name").fill("Ivan's Cup")
    await ivan.testid("game-owner-race").fill("HOSTS")
    await ivan.testid("game-submit").click()
    taken = ivan.page.locator('[data-field="owner_race_name"] .field-error')
    await taken.filter(has_text="taken").wait_for()
    assert await ivan.testid("game-owner-race").get_attribute("aria-invalid") == "true"
    assert await ivan.testid("create-message").inner_text() == ""

    # The owner's cancel, armed then pressed.
    cancel = owner.testid("cancel-game")
    await cancel.click()
    await owner.wait_text("cancel-game", "for good")
    await cancel.click()
    await owner.wait_text("game-status", "cancelled")
    assert await owner.testid("start-game").count() == 0
    await owner.clean()
    await ivan.clean()


async def test_a_burst_of_notices_leaves_the_screen_readable(
    start_stack: StartStack, new_player: NewPlayer
) -> None:
    """Five notices at once: the newest three as toasts, all five in the inbox."""
    stack = await start_stack(
        {
            **WEB_ENV,
            "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN_USER,
            "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
        }
    )
    kim = await new_player(stack, "kim@example.org", PHONE)
    await kim.sign_in()
    await kim.page.locator('.live-state[data-state="live"]').wait_for()
    backend = f"http://127.0.0.1:{stack.backend.http.port}"
    async with httpx.AsyncClient(base_url=backend) as admin:
        login = await admin.post(
            "/api/v1/admin/auth/login",
            json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
        )
        assert login.status_code == 200, login.text
        me = await kim.page.evaluate(
            "() => JSON.parse(sessionStorage.getItem('galaxy.session')).user.id"
        )
        for n in range(1, 6):
            sent = await admin.post(
                "/api/v1/admin/notifications",
                json={
                    "user_ids": [me],
                    "kind": "admin.message",
                    "title": f"Notice {n}",
                    "body": "From the operators.",
                    "payload": {},
                    "channels": ["push"],
                },
                headers=bearer(login.json()["token"]),
            )
            assert sent.status_code == 202, sent.text
    await kim.wait_text("toast", "Notice 5")
    await kim.wait_text("inbox-unread", "5")
    assert await kim.testid("toast").count() == 3
    shown = await kim.testid("toast").locator("a").all_inner_texts()
    assert shown == ["Notice 3", "Notice 4", "Notice 5"]
    await kim.screenshot("toasts-phone")
    await kim.clean()
