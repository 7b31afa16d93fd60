"""The console's page and the admin routes it added, over the real HTTP listener: headers,
offline files, the status overview, a player's and a game's detail, a mail's attempts,
broadcasts, the audit trail's filters; viewers read and are refused changes."""

import re
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from galaxy_backend.console.pages import console_files
from tests.console.conftest import VIEWER_PASSWORD, VIEWER_USER, add_viewer
from tests.support import eventually
from tests.support.api import Api, bearer
from tests.support.faults import REFUSE_MAIL
from tests.support.lobby import LOBBY_ENV, Lobby

StartApi = Callable[..., Awaitable[Api]]


async def _admin(api: Api) -> dict[str, str]:
    return bearer(await api.admin_token())


async def test_the_console_page_is_served_under_a_strict_policy(api: Api) -> None:
    page = await api.client.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "require-trusted-types-for 'script'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    bare = await api.client.get("/console")
    assert bare.status_code == 308
    assert bare.headers["location"] == "/console/"

    files = console_files()
    assert "index.html" in files
    assert "assets/js/main.js" in files
    for name in files:
        if name == "index.html":
            continue
        served = await api.client.get(f"/console/{name}")
        assert served.status_code == 200, name
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.content == files[name]
    assert (await api.client.get("/console/assets/js/missing.js")).status_code == 404


def test_the_page_preloads_every_module() -> None:
    files = console_files()
    index = files["index.html"].decode()
    modules = {n for n in files if n.endswith(".js")}
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/console/([^"]+)">', index))
    assert preloaded == modules - {"assets/js/main.js"}


def test_the_console_fetches_nothing_from_elsewhere() -> None:
    # Offline: no CDN, no third-party origin, no inline script or style, no HTML strings.
    for name, body in console_files().items():
        # An XML namespace names, it fetches nothing.
        text = body.decode().replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, name
        assert "localStorage" not in text and "document.cookie" not in text, name
        if name == "index.html":
            assert "<script>" not in text and "<style" not in text and " style=" not in text


async def test_the_status_overview_counts_what_waits_and_what_failed(start_api: StartApi) -> None:
    api = await start_api(
        BACKEND_NOTIFICATION_MAX_ATTEMPTS="1",
        BACKEND_NOTIFICATION_BACKOFF_MIN="50ms",
        BACKEND_NOTIFICATION_BACKOFF_MAX="100ms",
    )
    admin = await _admin(api)
    player = await api.sign_in("counted@example.org")
    before = await api.client.get("/api/v1/admin/status", headers=admin)
    assert before.status_code == 200, before.text
    status = before.json()
    assert status["ready"] is True
    assert status["reasons"] == []
    assert {c["name"] for c in status["components"]} >= {"postgres", "http", "mail-worker"}
    assert all(c["started"] for c in status["components"])
    assert all(c["warm"] for c in status["caches"])
    assert "runtime-scheduler" in {loop["name"] for loop in status["loops"]}
    assert status["database_pool"]["max_size"] >= status["database_pool"]["size"] >= 1
    assert status["dead_letters"] == {"notifications": 0, "mail_failed": 0}
    assert status["runtime"]["driver"] == "process"
    assert status["runtime"]["engines_running"] == 0
    assert status["push"]["subscribers"] == []
    assert status["database_ms"] > 0

    # A real fault: PostgreSQL refuses every new mail, so an email route dies at once.
    await api.backend.database.pool.execute(REFUSE_MAIL)
    sent = await api.client.post(
        "/api/v1/admin/notifications",
        json={"user_ids": [player["user"]["id"]], "title": "t", "body": "b", "channels": ["email"]},
        headers=admin,
    )
    assert sent.status_code == 202

    async def dead() -> bool:
        found = (await api.client.get("/api/v1/admin/status", headers=admin)).json()
        return bool(found["dead_letters"]["notifications"] == 1)

    await eventually(dead, timeout=20, message="the dead letter is counted")

    anonymous = await api.client.get("/api/v1/admin/status")
    assert anonymous.status_code == 401


async def test_a_players_sessions_games_names_and_inbox(start_api: StartApi) -> None:
    lobby = Lobby(api=await start_api(**LOBBY_ENV))
    api = lobby.api
    admin = await _admin(api)
    owner, player = await lobby.players(2)
    game = await lobby.create(owner, name="Vega Open")
    await lobby.enrol(owner, game["id"], player, "Quasarites")

    sessions = await api.client.get(f"/api/v1/admin/users/{player.user_id}/sessions", headers=admin)
    assert sessions.status_code == 200
    [session] = sessions.json()["items"]

    games = await api.client.get(f"/api/v1/admin/users/{player.user_id}/games", headers=admin)
    assert games.status_code == 200
    [entry] = games.json()["items"]
    assert entry["id"] == game["id"]
    assert entry["role"] == "player"
    assert entry["race_name"] == "Quasarites"
    owned = await api.client.get(f"/api/v1/admin/users/{owner.user_id}/games", headers=admin)
    assert [g["role"] for g in owned.json()["items"]] == ["owner"]

    names = await api.client.get(f"/api/v1/admin/users/{player.user_id}/race-names", headers=admin)
    assert [(n["name"], n["status"]) for n in names.json()["items"]] == [("Quasarites", "reserved")]

    async def told() -> list[dict[str, Any]]:
        found = await api.client.get(
            f"/api/v1/admin/users/{player.user_id}/notifications",
            params={"limit": 1},
            headers=admin,
        )
        assert found.status_code == 200, found.text
        items: list[dict[str, Any]] = found.json()["items"]
        return items

    await eventually(told, message="the approval notice is in the inbox")
    [notice] = await told()
    assert {r["channel"] for r in notice["routes"]} <= {"push", "email"}

    # One session ends at once: its token no longer works; audited.
    revoked = await api.client.post(
        f"/api/v1/admin/users/{player.user_id}/sessions/{session['id']}/revoke", headers=admin
    )
    assert revoked.status_code == 204
    me = await api.client.get("/api/v1/user/me", headers=player.headers)
    assert me.status_code == 401
    again = await api.client.post(
        f"/api/v1/admin/users/{player.user_id}/sessions/{session['id']}/revoke", headers=admin
    )
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "session_not_found"
    audit = await api.client.get(
        "/api/v1/admin/audit", params={"action": "user.sessions"}, headers=admin
    )
    [row] = audit.json()["items"]
    assert row["details"] == {"revoked": 1, "session_id": session["id"]}

    unknown = "00000000-0000-4000-8000-000000000000"
    for path in ("sessions", "games", "race-names", "notifications"):
        missing = await api.client.get(f"/api/v1/admin/users/{unknown}/{path}", headers=admin)
        assert missing.status_code == 404, path
        assert missing.json()["error"]["code"] == "user_not_found"


async def _every_page(api: Api, path: str, admin: dict[str, str]) -> list[list[str]]:
    """The ids of each page of an admin list walked two at a time by its cursor."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        found = await api.client.get(path, params=params, headers=admin)
        assert found.status_code == 200, found.text
        pages.append([item["id"] for item in found.json()["items"]])
        cursor = found.json()["next_cursor"]
        if cursor is None:
            return pages


async def test_a_players_sessions_and_race_names_come_a_page_at_a_time(
    start_api: StartApi,
) -> None:
    lobby = Lobby(api=await start_api(**LOBBY_ENV))
    api = lobby.api
    admin = await _admin(api)
    player = await lobby.player()
    for _ in range(2):
        await api.sign_in(player.email)
    for n, owner in enumerate(await lobby.players(3, "owner")):
        game = await lobby.create(owner, name=f"Paged Cup {n}")
        applied = await lobby.apply(player, game["id"], f"Pagers{n}")
        assert applied.status_code == 201, applied.text

    for path, table in (("sessions", "sessions"), ("race-names", "race_names")):
        url = f"/api/v1/admin/users/{player.user_id}/{path}"
        pages = await _every_page(api, url, admin)
        # Newest first, each once: two pages of two and one.
        assert [len(page) for page in pages] == [2, 1], path
        rows = await lobby.sql(
            f"SELECT id FROM {table} WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
            player.user_id,
        )
        assert [i for page in pages for i in page] == [str(r["id"]) for r in rows], path
        whole = await api.client.get(url, headers=admin)
        assert whole.json()["next_cursor"] is None
        assert len(whole.json()["items"]) == 3
        forged = await api.client.get(url, params={"cursor": "not-ours"}, headers=admin)
        assert forged.status_code == 422, path
        assert forged.json()["error"]["code"] == "invalid_input"
        assert forged.json()["error"]["details"]["field"] == "cursor"
        too_many = await api.client.get(url, params={"limit": 201}, headers=admin)
        assert too_many.status_code == 422, path


async def test_a_games_applications_engine_and_turns(start_api: StartApi) -> None:
    lobby = Lobby(api=await start_api(**LOBBY_ENV))
    api = lobby.api
    admin = await _admin(api)
    owner, *players = await lobby.players(4)
    game = await lobby.create(owner, name="Draco Cup", owner_race_name="Dracs")
    for n, player in enumerate(players):
        applied = await lobby.apply(player, game["id"], f"Race{n}")
        assert applied.status_code == 201

    first = await api.client.get(
        f"/api/v1/admin/games/{game['id']}/applications", params={"limit": 2}, headers=admin
    )
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2
    rest = await api.client.get(
        f"/api/v1/admin/games/{game['id']}/applications",
        params={"cursor": page["next_cursor"], "limit": 10},
        headers=admin,
    )
    seen = [a["race_name"] for a in page["items"] + rest.json()["items"]]
    assert seen == ["Dracs", "Race0", "Race1", "Race2"]
    assert rest.json()["next_cursor"] is None

    # Not started: no engine, no turns.
    engine = await api.client.get(f"/api/v1/admin/games/{game['id']}/engine", headers=admin)
    assert engine.status_code == 404
    assert engine.json()["error"]["code"] == "runtime_not_found"
    turns = await api.client.get(f"/api/v1/admin/games/{game['id']}/turns", headers=admin)
    assert turns.status_code == 404
    bad = await api.client.get(
        f"/api/v1/admin/games/{game['id']}/turns", params={"cursor": "latest"}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "cursor"
    gone = await api.client.get(
        "/api/v1/admin/games/00000000-0000-4000-8000-000000000000/applications", headers=admin
    )
    assert gone.json()["error"]["code"] == "game_not_found"


async def test_a_failed_mail_shows_its_attempts_and_is_sent_again(start_api: StartApi) -> None:
    api = await start_api(BACKEND_MAIL_MAX_ATTEMPTS="1")
    admin = await _admin(api)
    player = await api.sign_in("bounced@example.org")
    api.inbox.handler.refuse["bounced@example.org"] = deque(["550 5.1.1 no such user"])
    await api.client.post(
        "/api/v1/admin/notifications",
        json={"user_ids": [player["user"]["id"]], "title": "Hello", "body": "b"},
        headers=admin,
    )

    async def failed() -> list[dict[str, Any]]:
        found = await api.client.get(
            "/api/v1/admin/mail/deliveries", params={"status": "failed"}, headers=admin
        )
        items: list[dict[str, Any]] = found.json()["items"]
        return items

    await eventually(failed, timeout=20, message="the mail failed for good")
    [delivery] = await failed()
    detail = await api.client.get(f"/api/v1/admin/mail/deliveries/{delivery['id']}", headers=admin)
    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "failed"
    [attempt] = body["attempts_made"]
    assert attempt["outcome"] == "permanent"
    assert attempt["smtp_code"] == 550
    assert "no such user" in attempt["error"]

    retried = await api.client.post(
        f"/api/v1/admin/mail/deliveries/{delivery['id']}/retry", headers=admin
    )
    assert retried.status_code == 200

    async def sent() -> bool:
        found = await api.client.get(
            f"/api/v1/admin/mail/deliveries/{delivery['id']}", headers=admin
        )
        return bool(found.json()["status"] == "sent")

    await eventually(sent, timeout=20, message="sent on the retry")
    attempts = (
        await api.client.get(f"/api/v1/admin/mail/deliveries/{delivery['id']}", headers=admin)
    ).json()["attempts_made"]
    assert [a["outcome"] for a in attempts] == ["permanent", "sent"]
    missing = await api.client.get(
        "/api/v1/admin/mail/deliveries/00000000-0000-4000-8000-000000000000", headers=admin
    )
    assert missing.json()["error"]["code"] == "delivery_not_found"


async def test_broadcasts_are_listed_newest_first_with_their_progress(api: Api) -> None:
    admin = await _admin(api)
    await api.sign_in("everyone@example.org")
    ids = []
    for title in ("First", "Second"):
        sent = await api.client.post(
            "/api/v1/admin/notifications",
            json={"audience": "all", "title": title, "body": "b", "channels": ["push"]},
            headers=admin,
        )
        assert sent.status_code == 202
        ids.append(sent.json()["broadcast_id"])

    async def finished() -> bool:
        found = await api.client.get("/api/v1/admin/notifications/broadcasts", headers=admin)
        return all(b["finished_at"] for b in found.json()["items"])

    await eventually(finished, timeout=20, message="both broadcasts written out")
    page = await api.client.get(
        "/api/v1/admin/notifications/broadcasts", params={"limit": 1}, headers=admin
    )
    [newest] = page.json()["items"]
    assert newest["id"] == ids[1]
    assert newest["recipients"] == 1
    older = await api.client.get(
        "/api/v1/admin/notifications/broadcasts",
        params={"cursor": page.json()["next_cursor"]},
        headers=admin,
    )
    assert [b["id"] for b in older.json()["items"]] == [ids[0]]


async def test_the_audit_trail_filters_by_operator_action_and_time(api: Api) -> None:
    admin = await _admin(api)
    player = await api.sign_in("audited@example.org")
    user_id = player["user"]["id"]
    await add_viewer(api)
    for verb in ("block", "unblock"):
        body = {"kind": "permanent", "reason": "spam"} if verb == "block" else None
        done = await api.client.post(
            f"/api/v1/admin/users/{user_id}/{verb}", json=body, headers=admin
        )
        assert done.status_code == 200, done.text

    async def actions(**params: str) -> list[str]:
        found = await api.client.get("/api/v1/admin/audit", params=params, headers=admin)
        assert found.status_code == 200, found.text
        return [e["action"] for e in found.json()["items"]]

    assert await actions(action="user.") == ["user.unblock", "user.block"]
    assert await actions(action="user.block") == ["user.block"]
    assert await actions(action="user_") == []
    assert "admin.operator.create" in await actions(operator="ROOT-operator")
    assert await actions(operator="nobody") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert await actions(since=future) == []
    assert await actions(until=past) == []
    assert await actions(since=past, until=future, action="user.unblock") == ["user.unblock"]
    naive = await api.client.get(
        "/api/v1/admin/audit", params={"since": "2026-01-01T00:00:00"}, headers=admin
    )
    assert naive.status_code == 422
    assert naive.json()["error"]["details"]["fields"][0]["field"] == "since"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/users/{user}/sessions/{session}/revoke"),
        ("POST", "/users/{user}/block"),
        ("POST", "/notifications/dead-letters/requeue"),
        ("POST", "/games/{game}/force-next-turn"),
    ],
)
async def test_a_viewer_reads_every_console_route_and_changes_nothing(
    api: Api, method: str, path: str
) -> None:
    await add_viewer(api)
    viewer = bearer(await api.admin_token(VIEWER_USER, VIEWER_PASSWORD))
    player = await api.sign_in("watched@example.org")
    ids = {
        "user": player["user"]["id"],
        "session": player["session_id"],
        "game": "00000000-0000-4000-8000-000000000000",
    }
    for read in (
        "/status",
        f"/users/{ids['user']}/sessions",
        f"/users/{ids['user']}/games",
        f"/users/{ids['user']}/notifications",
        "/notifications/broadcasts",
        "/audit",
    ):
        assert (await api.client.get(f"/api/v1/admin{read}", headers=viewer)).status_code == 200
    body = {"kind": "permanent", "reason": "x"} if "block" in path else {"kind": "k"}
    refused = await api.client.request(
        method, "/api/v1/admin" + path.format(**ids), json=body, headers=viewer
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_role"
    me = await api.client.get("/api/v1/user/me", headers=bearer(player["token"]))
    assert me.status_code == 200
