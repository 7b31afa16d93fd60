"""Operators acting on players: blocks, entitlements, sessions ended, each audited."""

from datetime import UTC, datetime, timedelta

from tests.support.api import Api, bearer
from tests.support.operators import audit_actions


async def test_a_temporary_block_is_403_with_its_end_and_unblock_restores(
    api: Api, db_dsn: str
) -> None:
    player = await api.sign_in("naughty@example.org")
    admin = bearer(await api.admin_token())
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    blocked = await api.client.post(
        f"/api/v1/admin/users/{player['user']['id']}/block",
        json={"kind": "temporary", "reason": "cooling off", "until": until.isoformat()},
        headers=admin,
    )
    assert blocked.status_code == 200, blocked.text
    me = await api.client.get("/api/v1/user/me", headers=bearer(player["token"]))
    assert me.status_code == 403
    assert me.json()["error"]["code"] == "account_blocked"
    assert datetime.fromisoformat(me.json()["error"]["details"]["until"]) == until

    unblocked = await api.client.post(
        f"/api/v1/admin/users/{player['user']['id']}/unblock", headers=admin
    )
    assert unblocked.status_code == 200
    assert (
        await api.client.get("/api/v1/user/me", headers=bearer(player["token"]))
    ).status_code == 200
    actions = await audit_actions(db_dsn)
    assert {"admin.login", "user.block", "user.unblock"} <= set(actions)


async def test_a_permanent_block_kills_every_session_at_once(api: Api) -> None:
    first = await api.sign_in("banned@example.org")
    second = await api.sign_in("banned@example.org")
    admin = bearer(await api.admin_token())
    response = await api.client.post(
        f"/api/v1/admin/users/{first['user']['id']}/block",
        json={"kind": "permanent", "reason": "cheating"},
        headers=admin,
    )
    assert response.status_code == 200
    for signed in (first, second):
        me = await api.client.get("/api/v1/user/me", headers=bearer(signed["token"]))
        assert me.status_code == 401
        resolved = await api.client.post(
            "/api/v1/internal/sessions/resolve",
            json={"token": signed["token"]},
            headers=bearer(api.backend.internal_token),
        )
        assert resolved.status_code == 404
    # Signing in again is refused while the block lasts.
    challenge = await api.request_code("banned@example.org")
    code = await api.wait_code("banned@example.org", 3)
    confirm = await api.client.post(
        "/api/v1/public/auth/email-code/confirm",
        json={"challenge_id": challenge.json()["challenge_id"], "code": code},
    )
    assert confirm.status_code == 403
    assert confirm.json()["error"]["details"]["kind"] == "permanent"


async def test_block_input_is_validated(api: Api) -> None:
    player = await api.sign_in("validated@example.org")
    admin = bearer(await api.admin_token())
    url = f"/api/v1/admin/users/{player['user']['id']}/block"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases = [
        ({"kind": "forever", "reason": "x"}, 422, "kind"),
        ({"kind": "temporary", "reason": "x"}, 422, "until"),
        ({"kind": "temporary", "reason": "x", "until": past}, 422, "until"),
        ({"kind": "permanent", "reason": ""}, 422, "reason"),
    ]
    for body, status, field in cases:
        response = await api.client.post(url, json=body, headers=admin)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        named = [f["field"] for f in error["details"].get("fields", [])] or [
            error["details"].get("field")
        ]
        assert field in named, (body, error)
    missing = await api.client.post(
        "/api/v1/admin/users/00000000-0000-0000-0000-000000000000/block",
        json={"kind": "permanent", "reason": "x"},
        headers=admin,
    )
    assert missing.status_code == 404


async def test_entitlements_grant_and_search_pagination(api: Api, db_dsn: str) -> None:
    for n in range(5):
        await api.sign_in(f"paged{n}@example.org")
    admin = bearer(await api.admin_token())
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", "query": "paged"}
        if cursor:
            params["cursor"] = cursor
        page = await api.client.get("/api/v1/admin/users", params=params, headers=admin)
        assert page.status_code == 200
        seen += [u["email"] for u in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"paged{n}@example.org" for n in range(5)]
    assert len(set(seen)) == 5

    target = (
        await api.client.get("/api/v1/admin/users", params={"query": "paged3"}, headers=admin)
    ).json()["items"][0]
    granted = await api.client.put(
        f"/api/v1/admin/users/{target['id']}/entitlements",
        json={"tier": "patron", "max_owned_games": 10, "max_active_games": None},
        headers=admin,
    )
    assert granted.status_code == 200
    assert granted.json()["entitlements"] == {
        "tier": "patron",
        "max_owned_games": 10,
        "max_active_games": 10,
    }
    bad = await api.client.get("/api/v1/admin/users", params={"cursor": "garbage"}, headers=admin)
    assert bad.status_code == 422
    assert "user.entitlements" in await audit_actions(db_dsn)


async def test_admin_revokes_a_players_sessions(api: Api, db_dsn: str) -> None:
    player = await api.sign_in("revoked@example.org")
    admin = bearer(await api.admin_token())
    response = await api.client.post(
        f"/api/v1/admin/users/{player['user']['id']}/sessions/revoke", headers=admin
    )
    assert response.json() == {"revoked": 1}
    assert (
        await api.client.get("/api/v1/user/me", headers=bearer(player["token"]))
    ).status_code == 401
    audit = await api.client.get("/api/v1/admin/audit", headers=admin)
    assert audit.status_code == 200
    assert audit.json()["items"][0]["action"] == "user.sessions.revoke"
    assert "user.sessions.revoke" in await audit_actions(db_dsn)
