"""The hot reads keep their principal and replies with the cache entries they came from;
every check (revocation, expiry, blocks, changes on another replica) still holds at once."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support import eventually
from tests.support.api import Api, bearer


async def read_both(api: Api, token: str, times: int = 3) -> tuple[httpx.Response, httpx.Response]:
    """`GET /me` and the gateway's resolve, a few times over (what they derive is kept)."""
    internal = bearer(api.backend.internal_token)
    for _ in range(times):
        me = await api.client.get("/api/v1/user/me", headers=bearer(token))
        resolved = await api.client.post(
            "/api/v1/internal/sessions/resolve", json={"token": token}, headers=internal
        )
    return me, resolved


async def test_an_expired_session_is_refused_at_once_by_both_reads(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_SESSION_TTL="4s")
    signed = await api.sign_in("brief@example.org")
    me, resolved = await read_both(api, signed["token"])
    assert me.status_code == resolved.status_code == 200
    expires_at = datetime.fromisoformat(resolved.json()["expires_at"])

    async def expired() -> bool:
        me, resolved = await read_both(api, signed["token"], times=1)
        for reply, refused in ((me, 401), (resolved, 404)):
            if reply.status_code == 200:
                assert datetime.now(UTC) < expires_at + timedelta(seconds=1)
            else:
                assert reply.status_code == refused
                assert datetime.now(UTC) >= expires_at
        return me.status_code == 401 and resolved.status_code == 404

    await eventually(expired, timeout=15, message="the session expires")


async def test_a_temporary_block_holds_at_once_and_ends_on_its_own(api: Api) -> None:
    signed = await api.sign_in("cooling@example.org")
    me, _ = await read_both(api, signed["token"])
    assert me.status_code == 200
    until = datetime.now(UTC) + timedelta(seconds=3)
    blocked = await api.client.post(
        f"/api/v1/admin/users/{signed['user']['id']}/block",
        json={"kind": "temporary", "reason": "cooling off", "until": until.isoformat()},
        headers=bearer(await api.admin_token()),
    )
    assert blocked.status_code == 200, blocked.text
    me, resolved = await read_both(api, signed["token"])
    assert me.status_code == 403
    assert me.json()["error"]["code"] == "account_blocked"
    assert resolved.status_code == 403

    async def over() -> bool:
        me = await api.client.get("/api/v1/user/me", headers=bearer(signed["token"]))
        if me.status_code == 403:
            return False
        assert me.status_code == 200
        assert datetime.now(UTC) >= until
        # The reply shows the user as they are now, the block (ended) included.
        assert me.json()["block"]["reason"] == "cooling off"
        return True

    await eventually(over, timeout=15, message="the block ends")


async def test_a_change_on_another_replica_shows_in_the_next_reply(start_api) -> None:  # type: ignore[no-untyped-def]
    first: Api = await start_api()
    second: Api = await start_api()
    signed = await first.sign_in("renamed@example.org")
    headers = bearer(signed["token"])
    me, _ = await read_both(second, signed["token"])
    assert me.status_code == 200
    before: dict[str, Any] = me.json()
    changed = await first.client.patch(
        "/api/v1/user/me", json={"display_name": "New Name"}, headers=headers
    )
    assert changed.status_code == 200, changed.text

    async def renamed() -> bool:
        reply = await second.client.get("/api/v1/user/me", headers=headers)
        assert reply.status_code == 200
        return bool(reply.json()["display_name"] == "New Name")

    await eventually(renamed, timeout=5, message="the other replica shows the change")
    after = (await second.client.get("/api/v1/user/me", headers=headers)).json()
    assert {**before, "display_name": "New Name"} == after


async def test_logout_refuses_both_reads_at_once(api: Api) -> None:
    signed = await api.sign_in("leaving@example.org")
    me, resolved = await read_both(api, signed["token"])
    assert me.status_code == resolved.status_code == 200
    logout = await api.client.post("/api/v1/user/auth/logout", headers=bearer(signed["token"]))
    assert logout.status_code == 204
    me, resolved = await read_both(api, signed["token"], times=1)
    assert (me.status_code, resolved.status_code) == (401, 404)
