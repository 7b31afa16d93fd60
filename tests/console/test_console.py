"""Operators at the console in Chromium, against the real backend: finding and blocking a
player (for good or for a while), ending their sessions, forcing a turn of a running game,
stopping and restarting its engine, filtering the games, a notification to a player's inbox,
dead letters requeued one by one and by kind, a viewer who sees every page and no action.
Each main page is photographed."""

from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from playwright.async_api import expect

from tests.console.conftest import VIEWER_PASSWORD, VIEWER_USER, NewOperator, add_viewer
from tests.support import eventually
from tests.support.api import Api, bearer
from tests.support.faults import ACCEPT_MAIL, REFUSE_MAIL
from tests.support.lobby import LOBBY_ENV, Lobby
from tests.support.table import Table

StartApi = Callable[..., Awaitable[Api]]
# What only an admin may press, on every page (a viewer's pages hold none of them).
ACTIONS = (
    "block-player",
    "unblock-player",
    "notify-player",
    "edit-entitlements",
    "revoke-session",
    "revoke-all-sessions",
    "force-turn",
    "pause-game",
    "resume-game",
    "stop-engine",
    "restart-engine",
    "cancel-game",
    "retry-mail",
    "send-notification",
    "requeue-dead-letter",
    "requeue-kind",
    "release-race-name",
    "operator-create",
    "operator-disable",
    "operator-password-reset",
    "operator-role-save",
)


async def test_an_admin_finds_a_player_blocks_them_and_unblocks_them(
    start_api: StartApi, new_operator: NewOperator
) -> None:
    api = await start_api(**LOBBY_ENV)
    player = await api.sign_in("troublemaker@example.org")
    await api.sign_in("bystander@example.org")
    operator = await new_operator(api)
    await operator.sign_in()
    await operator.screenshot("status")

    await operator.open("players")
    await operator.testid("player-search").fill("troublemaker")
    await operator.testid("player-search").press("Enter")
    rows = operator.testid("player-row")
    # The unfiltered list may still be drawing when the search is sent: wait for its answer.
    await expect(rows).to_have_count(1)
    assert await rows.first.get_attribute("data-user-id") == player["user"]["id"]
    await operator.screenshot("players")
    await rows.first.click()
    await operator.testid("player-email").wait_for()
    assert await operator.testid("player-email").inner_text() == "troublemaker@example.org"

    await operator.testid("block-player").click()
    await operator.testid("block-reason").fill("Spamming the lobby")
    assert await operator.testid("block-kind").input_value() == "permanent"
    await operator.testid("block-confirm").click()
    await operator.testid("unblock-player").wait_for()
    assert "Spamming the lobby" in await operator.testid("player-block-status").inner_text()
    await operator.screenshot("player")

    # The block is real: the player's session stops working, and signing in is refused.
    me = await api.client.get("/api/v1/user/me", headers=bearer(player["token"]))
    assert me.status_code == 401
    asked = await api.request_code("troublemaker@example.org")
    assert asked.status_code == 202
    code = await api.wait_code("troublemaker@example.org", 2)
    refused = await api.client.post(
        "/api/v1/public/auth/email-code/confirm",
        json={"challenge_id": asked.json()["challenge_id"], "code": code},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_blocked"

    await operator.testid("unblock-player").click()
    await operator.testid("block-player").wait_for()
    assert "not blocked" in await operator.testid("player-block-status").inner_text()
    signed = await api.sign_in("troublemaker@example.org")
    me = await api.client.get("/api/v1/user/me", headers=bearer(signed["token"]))
    assert me.status_code == 200

    await operator.open("audit")
    await operator.testid("audit-action").fill("user.")
    await operator.testid("audit-filter").click()
    # The unfiltered trail may show first: wait for the filter's answer.
    rows = operator.page.locator('[data-testid="audit-row"]')
    await expect(rows).to_have_count(2)
    actions = await rows.evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions == ["user.unblock", "user.block"]
    await operator.screenshot("audit")

    # The token lives in this tab only: no cookie, no localStorage, never in a URL.
    token = await operator.token()
    assert await operator.page.evaluate("() => document.cookie") == ""
    assert await operator.page.evaluate("() => localStorage.length") == 0
    assert not [u for u in operator.urls if token in u]
    await operator.clean()

    await operator.testid("console-logout").click()
    await operator.testid("console-login").wait_for()
    after = await api.client.get("/api/v1/admin/me", headers=bearer(token))
    assert after.status_code == 401


async def test_an_admin_forces_a_turn_and_sees_it_move(
    start_table: Callable[..., Awaitable[Table]], new_operator: NewOperator
) -> None:
    table = await start_table(name="Orion Arm", turn_schedule="0 0 1 1 *")
    operator = await new_operator(table.api)
    await operator.sign_in()
    await operator.open("games")
    await operator.testid("game-search").fill("Orion")
    await operator.testid("game-search").press("Enter")
    row = operator.page.locator(f'[data-testid="game-row"][data-game-id="{table.game_id}"]')
    await row.wait_for()
    await operator.screenshot("games")
    await row.click()
    turn = operator.testid("game-turn")
    await turn.wait_for()
    before = int(await turn.inner_text())
    await operator.testid("engine-status").wait_for()
    # A started game's next turn is the engine's, not the schedule's preview from now.
    await operator.page.locator("dt", has_text="Next scheduled turn").wait_for()
    assert await operator.page.locator("dt", has_text="Next turns").count() == 0

    # Refused by the API while paused: the page says why, in the API's words.
    await operator.testid("pause-game").click()
    await operator.testid("action-done").wait_for()
    await operator.testid("force-turn").click()
    await operator.confirm()
    error = operator.testid("action-error")
    await error.wait_for()
    assert "only a running game's turn can be forced" in await error.inner_text()
    await operator.testid("resume-game").click()
    await operator.page.get_by_text("Resumed.").wait_for()

    await operator.testid("force-turn").click()
    await operator.testid("confirm").wait_for()
    await operator.screenshot("confirm")
    await operator.confirm()

    async def moved() -> bool:
        return int(await turn.inner_text()) == before + 1

    await eventually(moved, timeout=60, interval=0.2, message="the turn moves on the page")
    await operator.page.locator('[data-testid="turn-row"]').first.wait_for()
    assert int((await table.record())["current_turn"]) == before + 1
    await operator.screenshot("game")
    await operator.open("status")
    engines = operator.testid("status-engines")
    await engines.wait_for()
    assert await engines.inner_text() == "1"
    await operator.clean()


async def test_a_notification_reaches_the_inbox_and_a_dead_letter_is_requeued(
    start_api: StartApi, new_operator: NewOperator
) -> None:
    api = await start_api(
        **LOBBY_ENV,
        BACKEND_NOTIFICATION_MAX_ATTEMPTS="1",
        BACKEND_NOTIFICATION_BACKOFF_MIN="50ms",
        BACKEND_NOTIFICATION_BACKOFF_MAX="100ms",
    )
    lobby = Lobby(api=api)
    player = await lobby.player("reader")
    owner = await lobby.player("owner")
    await lobby.create(owner, name="Lyra Reach", owner_race_name="Lyrans")
    operator = await new_operator(api)
    await operator.sign_in()

    await operator.page.goto(f"{operator.base}/console/#/players/{player.user_id}")
    await operator.testid("notify-player").click()
    await operator.testid("notification-title").fill("Maintenance tonight")
    await operator.testid("notification-body").fill("The servers restart at 22:00 UTC.")
    await operator.testid("notification-send").click()
    await operator.confirm()
    await operator.testid("action-done").wait_for()

    async def in_inbox() -> bool:
        inbox = await api.client.get("/api/v1/user/notifications", headers=player.headers)
        return "Maintenance tonight" in [n["title"] for n in inbox.json()["items"]]

    await eventually(in_inbox, message="the notification is in the player's inbox")
    await eventually(lambda: api.inbox.to(player.email)[1:], message="and in their mailbox")
    await operator.page.reload()
    await operator.testid("player-notification-row").first.wait_for()

    # A real fault: PostgreSQL refuses every new mail, so the email route dies at once.
    await api.backend.database.pool.execute(REFUSE_MAIL)
    sent = await api.client.post(
        "/api/v1/admin/notifications",
        json={
            "user_ids": [player.user_id],
            "title": "Second try",
            "body": "b",
            "channels": ["email"],
        },
        headers=bearer(await api.admin_token()),
    )
    assert sent.status_code == 202
    admin = bearer(await api.admin_token())

    async def dead_letters() -> list[Any]:
        found = await api.client.get("/api/v1/admin/notifications/dead-letters", headers=admin)
        items: list[Any] = found.json()["items"]
        return items

    await eventually(dead_letters, timeout=30, message="the route is a dead letter")
    await operator.open("notifications")
    row = operator.testid("dead-letter-row")
    await row.wait_for()
    assert await row.count() == 1
    await operator.screenshot("notifications")
    await api.backend.database.pool.execute(ACCEPT_MAIL)
    mails = len(api.inbox.to(player.email))
    # Requeueing cannot be undone: the page asks first, and nothing moves until confirmed.
    await operator.testid("requeue-dead-letter").click()
    await expect(operator.testid("confirm")).to_have_text("Requeue")
    assert len(await dead_letters()) == 1
    await operator.confirm()
    await operator.testid("action-done").wait_for()
    await operator.page.get_by_text("No dead letter.").wait_for()
    assert await row.count() == 0
    assert await dead_letters() == []
    await eventually(
        lambda: len(api.inbox.to(player.email)) > mails, message="the requeued mail is sent"
    )

    await operator.open("mail")
    await operator.testid("mail-row").first.wait_for()
    await operator.screenshot("mail")
    await operator.testid("mail-row").first.locator("a").click()
    await operator.testid("mail-status").wait_for()
    await operator.screenshot("mail-delivery")

    await operator.open("race-names")
    await operator.testid("race-name-search").fill("LYRANS")
    await operator.testid("race-name-search").press("Enter")
    await operator.testid("race-name-row").wait_for()
    await operator.screenshot("race-names")
    await operator.open("operators")
    await operator.testid("operator-row").first.wait_for()
    await operator.screenshot("operators")
    await operator.clean()


async def test_a_viewer_sees_every_page_and_no_action(
    start_table: Callable[..., Awaitable[Table]], new_operator: NewOperator
) -> None:
    table = await start_table(name="Cygnus Loop", turn_schedule="0 0 1 1 *")
    api = table.api
    await add_viewer(api)
    player = table.players[0]
    operator = await new_operator(api)
    await operator.sign_in(VIEWER_USER, VIEWER_PASSWORD)
    assert "viewer" in await operator.testid("console-operator").inner_text()

    async def no_action_here() -> None:
        assert await operator.page.locator(".action").count() == 0
        for testid in ACTIONS:
            assert await operator.testid(testid).count() == 0, testid

    pages: dict[str, Any] = {
        "status": "status-ready",
        "players": "player-row",
        "games": "game-row",
        "mail": "mail-row",
        "notifications": "dead-letter-list",
        "race-names": "race-name-search",
        "audit": "audit-list",
        "operators": "operator-row",
    }
    for name, shown in pages.items():
        await operator.open(name)
        await operator.testid(shown).first.wait_for()
        await no_action_here()
    await operator.screenshot("viewer-operators")

    await operator.page.goto(f"{operator.base}/console/#/players/{player.user_id}")
    await operator.testid("session-row").first.wait_for()
    await operator.testid("player-games").locator("tbody tr").first.wait_for()
    await no_action_here()
    await operator.screenshot("viewer-player")
    await operator.page.goto(f"{operator.base}/console/#/games/{table.game_id}")
    await operator.testid("engine-status").wait_for()
    await operator.testid("game-players").wait_for()
    await no_action_here()
    await operator.screenshot("viewer-game")

    # The API refuses a viewer whatever the page shows.
    for method, path, body in (
        ("POST", f"/users/{player.user_id}/block", {"kind": "permanent", "reason": "x"}),
        ("POST", f"/games/{table.game_id}/force-next-turn", None),
        ("POST", f"/users/{player.user_id}/sessions/revoke", None),
    ):
        answer = await operator.call(method, path, body)
        assert answer["status"] == 403, answer
        assert answer["body"]["error"]["code"] == "insufficient_role"
    me = await api.client.get("/api/v1/user/me", headers=player.headers)
    assert me.status_code == 200
    await operator.clean()


async def test_the_rest_of_an_admins_actions(
    start_api: StartApi, new_operator: NewOperator
) -> None:
    api = await start_api(**LOBBY_ENV, BACKEND_MAIL_MAX_ATTEMPTS="1")
    lobby = Lobby(api=api)
    owner, player = await lobby.players(2)
    game = await lobby.create(owner, name="Perseus Gap", owner_race_name="Perseans")
    operator = await new_operator(api)
    await operator.sign_in()

    # The status page refreshes itself.
    updated = operator.testid("status-updated")
    first = await updated.get_attribute("data-generated-at")

    async def refreshed() -> bool:
        return await updated.get_attribute("data-generated-at") != first

    await eventually(refreshed, timeout=20, interval=0.5, message="the status page refreshes")

    # Entitlements, and one session ended at once.
    await operator.page.goto(f"{operator.base}/console/#/players/{player.user_id}")
    await operator.testid("edit-entitlements").click()
    await operator.testid("entitlement-tier").fill("patron")
    await operator.testid("entitlement-max-owned").fill("7")
    await operator.testid("entitlements-save").click()
    await operator.page.get_by_text("Entitlements saved.").wait_for()
    assert await operator.testid("entitlement-tier-value").inner_text() == "patron"
    mine = await api.client.get("/api/v1/user/me/entitlements", headers=player.headers)
    assert mine.json()["tier"] == "patron"
    assert mine.json()["max_owned_games"] == 7
    await operator.testid("revoke-session").click()
    await operator.confirm()
    await operator.page.get_by_text("Session ended.").wait_for()
    me = await api.client.get("/api/v1/user/me", headers=player.headers)
    assert me.status_code == 401

    # A failed mail, sent again from its page.
    api.inbox.handler.refuse[owner.email] = deque(["550 5.1.1 no such user"])
    await api.client.post(
        "/api/v1/admin/notifications",
        json={"user_ids": [owner.user_id], "title": "Bounce", "body": "b", "channels": ["email"]},
        headers=bearer(await api.admin_token()),
    )
    await operator.page.goto(f"{operator.base}/console/#/mail?status=failed")

    async def failed_shown() -> bool:
        await operator.page.reload()
        await operator.testid("mail-list").wait_for()
        return bool(await operator.testid("mail-row").count())

    await eventually(failed_shown, timeout=30, interval=0.5, message="the failed mail listed")
    await operator.testid("mail-row").first.locator("a").click()
    assert "no such user" in await operator.testid("mail-last-error").inner_text()
    # Sending again cannot be undone: the page asks first, and the mail stays failed till then.
    await operator.testid("retry-mail").click()
    await expect(operator.testid("confirm")).to_have_text("Send again")
    assert "failed" in await operator.testid("mail-status").inner_text()
    await operator.confirm()
    await operator.page.get_by_text("Queued again").wait_for()
    await eventually(lambda: api.inbox.to(owner.email)[1:], message="the mail is sent at last")

    # Everyone, with the broadcast's progress shown until it is written out.
    await operator.open("notifications")
    await operator.testid("send-notification").click()
    await operator.testid("notification-audience-all").check()
    await operator.testid("notification-title").fill("Season two")
    await operator.testid("notification-body").fill("It starts on Monday.")
    await operator.testid("notification-email").uncheck()
    await operator.testid("notification-send").click()
    await operator.confirm()
    progress = operator.page.locator('[data-testid="broadcast-progress"]', has_text="finished")
    await progress.wait_for()
    assert "2 player(s)" in await progress.inner_text()

    # A race name released, then the game cancelled with a reason.
    await operator.open("race-names")
    await operator.testid("race-name-search").fill("perseans")
    await operator.testid("race-name-search").press("Enter")
    await operator.testid("release-race-name").click()
    await operator.testid("release-reason").fill("Impersonates a staff race")
    await operator.testid("release-submit").click()
    await operator.confirm()
    await operator.page.get_by_text("“Perseans” released.").wait_for()
    assert await lobby.available("Perseans")
    await operator.page.goto(f"{operator.base}/console/#/games/{game['id']}")
    await operator.testid("cancel-game").click()
    await operator.testid("cancel-reason").fill("Abandoned")
    await operator.testid("cancel-submit").click()
    await operator.confirm()
    await operator.page.get_by_text("Game cancelled.").wait_for()
    assert "cancelled" in await operator.testid("game-status").inner_text()

    # Operators: one made a viewer, then an admin, its password reset, then disabled.
    await operator.open("operators")
    await operator.testid("operator-create").click()
    await operator.testid("operator-username").fill(VIEWER_USER)
    await operator.testid("operator-password").fill(VIEWER_PASSWORD)
    await operator.testid("operator-submit").click()
    row = operator.page.locator('[data-testid="operator-row"]', has_text=VIEWER_USER)
    await row.wait_for()
    token = await api.admin_token(VIEWER_USER, VIEWER_PASSWORD)
    assert (await api.client.get("/api/v1/admin/me", headers=bearer(token))).json()["role"] == (
        "viewer"
    )
    await row.get_by_test_id("operator-role-select").select_option("admin")
    await row.get_by_test_id("operator-role-save").click()
    await operator.page.get_by_text("Role changed.").wait_for()
    assert (await api.client.get("/api/v1/admin/me", headers=bearer(token))).json()["role"] == (
        "admin"
    )
    await row.get_by_test_id("operator-password-reset").click()
    await operator.testid("operator-new-password").fill("another long password")
    await operator.testid("operator-password-submit").click()
    await operator.confirm()
    await operator.page.get_by_text("Password set.").wait_for()
    assert (await api.client.get("/api/v1/admin/me", headers=bearer(token))).status_code == 401
    token = await api.admin_token(VIEWER_USER, "another long password")
    await row.get_by_test_id("operator-disable").click()
    await operator.confirm()
    await operator.page.get_by_text("Operator disabled.").wait_for()
    assert (await api.client.get("/api/v1/admin/me", headers=bearer(token))).status_code == 401
    await operator.clean()


async def test_an_admin_stops_and_restarts_an_engine_and_filters_the_games(
    start_table: Callable[..., Awaitable[Table]], new_operator: NewOperator
) -> None:
    table = await start_table(name="Carina Deep", turn_schedule="0 0 1 1 *")
    waiting = await table.lobby.create(table.owner, name="Carina Shallows")
    operator = await new_operator(table.api)
    await operator.sign_in()

    # The status filter lists only the games in that status.
    await operator.open("games")
    running = operator.page.locator(f'[data-testid="game-row"][data-game-id="{table.game_id}"]')
    open_ = operator.page.locator(f'[data-testid="game-row"][data-game-id="{waiting["id"]}"]')
    await running.wait_for()
    await open_.wait_for()
    await operator.testid("game-status-filter").select_option("running")
    await expect(open_).to_have_count(0)
    await expect(running).to_have_count(1)
    assert "status=running" in operator.page.url
    await operator.testid("game-status-filter").select_option("enrollment_open")
    await expect(running).to_have_count(0)
    await expect(open_).to_have_count(1)
    await operator.testid("game-status-filter").select_option("")
    await expect(operator.testid("game-row")).to_have_count(2)

    # Stopping the engine pauses the game; restarting it runs the game again.
    await operator.page.goto(f"{operator.base}/console/#/games/{table.game_id}")
    engine = operator.testid("engine-status")
    game_status = operator.testid("game-status")
    await expect(engine).to_have_text("running")
    await operator.testid("stop-engine").click()
    await expect(operator.testid("confirm")).to_have_text("Stop the engine")
    await operator.confirm()
    await operator.page.get_by_text("Stop the engine: done.").wait_for()
    await table.wait_status("paused", timeout=60)
    assert (await table.record())["status"] == "stopped"
    assert (await table.game())["runtime"]["status"] == "stopped"
    # The page follows by itself (it refreshes every few seconds).
    await expect(engine).to_have_text("stopped", timeout=30_000)
    await expect(game_status).to_have_text("paused", timeout=30_000)

    await operator.testid("restart-engine").click()
    await expect(operator.testid("confirm")).to_have_text("Restart the engine")
    await operator.confirm()
    await operator.page.get_by_text("Restart the engine: done.").wait_for()
    await table.wait_status("running", timeout=60)
    assert (await table.record())["status"] == "running"
    assert (await table.game())["runtime"]["status"] == "resumed"
    await expect(engine).to_have_text("running", timeout=30_000)
    await expect(game_status).to_have_text("running", timeout=30_000)
    await operator.clean()


async def test_an_admin_blocks_for_a_while_ends_every_session_and_requeues_a_kind(
    start_api: StartApi, new_operator: NewOperator
) -> None:
    api = await start_api(
        **LOBBY_ENV,
        BACKEND_AUTH_EMAIL_RATE_LIMIT="50",
        BACKEND_AUTH_EMAIL_DAILY_LIMIT="50",
        BACKEND_NOTIFICATION_MAX_ATTEMPTS="1",
        BACKEND_NOTIFICATION_BACKOFF_MIN="50ms",
        BACKEND_NOTIFICATION_BACKOFF_MAX="100ms",
    )
    lobby = Lobby(api=api)
    player = await lobby.player("roamer")
    # Twelve devices: more than the page's first page of sessions.
    tokens = [player.token] + [(await api.sign_in(player.email))["token"] for _ in range(11)]
    admin = bearer(await api.admin_token())
    # A real fault from here on: PostgreSQL refuses every new mail, so email routes die.
    await api.backend.database.pool.execute(REFUSE_MAIL)
    operator = await new_operator(api)
    await operator.sign_in()
    await operator.page.goto(f"{operator.base}/console/#/players/{player.user_id}")

    # A temporary block: the player's sessions are refused until it ends or is lifted.
    await operator.testid("block-player").click()
    await operator.testid("block-reason").fill("Cooling off")
    await operator.testid("block-kind").select_option("temporary")
    await operator.testid("block-until").fill("2099-06-01T12:00")
    until = await operator.page.evaluate("() => new Date('2099-06-01T12:00').toISOString()")
    await operator.testid("block-confirm").click()
    await operator.testid("unblock-player").wait_for()
    assert "blocked until" in await operator.testid("player-block-status").inner_text()
    shown = (await api.client.get(f"/api/v1/admin/users/{player.user_id}", headers=admin)).json()
    assert shown["block"]["kind"] == "temporary"
    assert datetime.fromisoformat(shown["block"]["until"]) == datetime.fromisoformat(until)
    refused = await api.client.get("/api/v1/user/me", headers=bearer(tokens[0]))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_blocked"
    await operator.testid("unblock-player").click()
    await operator.testid("block-player").wait_for()
    assert "not blocked" in await operator.testid("player-block-status").inner_text()
    me = await api.client.get("/api/v1/user/me", headers=bearer(tokens[0]))
    assert me.status_code == 200

    # Every session ended at once, the ones on the next page too.
    sessions = operator.page.locator(".paged", has=operator.testid("session-list"))
    rows = sessions.get_by_test_id("session-row")
    await expect(rows).to_have_count(10)
    await sessions.get_by_test_id("more").click()
    await expect(rows).to_have_count(12)
    await expect(sessions.get_by_test_id("more")).to_be_hidden()
    await operator.testid("revoke-all-sessions").click()
    await operator.confirm()
    await operator.page.get_by_text("12 session(s) ended.").wait_for()
    await expect(rows).to_have_count(0)
    await sessions.get_by_text("No live session.").wait_for()
    for token in tokens:
        gone = await api.client.get("/api/v1/user/me", headers=bearer(token))
        assert gone.status_code == 401

    # Two operators' messages die as dead letters beside the block's own notices.
    for title in ("First", "Second"):
        sent = await api.client.post(
            "/api/v1/admin/notifications",
            json={"user_ids": [player.user_id], "title": title, "body": "b", "channels": ["email"]},
            headers=admin,
        )
        assert sent.status_code == 202

    async def dead_kinds() -> list[str]:
        found = await api.client.get("/api/v1/admin/notifications/dead-letters", headers=admin)
        return sorted(d["kind"] for d in found.json()["items"])

    expected = ["account.blocked", "account.unblocked", "admin.message", "admin.message"]

    async def all_dead() -> bool:
        return await dead_kinds() == expected

    await eventually(all_dead, timeout=30, message="four dead letters")
    await api.backend.database.pool.execute(ACCEPT_MAIL)
    mails = len(api.inbox.to(player.email))

    # Requeued by kind: only the operators' messages go again.
    await operator.open("notifications")
    await operator.testid("dead-letter-kind").fill("admin.message")
    await operator.testid("dead-letter-filter").click()
    await operator.testid("requeue-kind").wait_for()
    await expect(operator.testid("dead-letter-row")).to_have_count(2)
    await operator.testid("requeue-kind").click()
    await expect(operator.testid("confirm")).to_have_text("Requeue them")
    await operator.confirm()
    await operator.page.get_by_text("2 requeued.").wait_for()
    await operator.page.get_by_text("No dead letter.").wait_for()
    assert await dead_kinds() == ["account.blocked", "account.unblocked"]
    await eventually(
        lambda: len(api.inbox.to(player.email)) >= mails + 2, message="both messages are sent"
    )
    await operator.clean()
