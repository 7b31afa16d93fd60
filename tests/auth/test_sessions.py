"""Sessions: listing, logout, revocation, the gateway's resolve, and the push event."""

import asyncio

import asyncpg
import grpc

from galaxy_backend.auth.credentials import token_hash
from galaxy_proto.push_pb2 import SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub
from tests.support import eventually
from tests.support.api import Api, bearer


async def test_logout_ends_the_session_at_once(api: Api) -> None:
    signed = await api.sign_in("leaving@example.org")
    headers = bearer(signed["token"])
    assert (await api.client.get("/api/v1/user/me", headers=headers)).status_code == 200
    assert (await api.client.post("/api/v1/user/auth/logout", headers=headers)).status_code == 204
    after = await api.client.get("/api/v1/user/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "invalid_session"


async def test_a_user_lists_and_revokes_their_own_sessions(api: Api) -> None:
    phone = await api.sign_in("multi@example.org")
    laptop = await api.sign_in("multi@example.org")
    listed = await api.client.get("/api/v1/user/me/sessions", headers=bearer(laptop["token"]))
    assert listed.status_code == 200
    items = {item["id"]: item for item in listed.json()["items"]}
    assert set(items) == {phone["session_id"], laptop["session_id"]}
    assert items[laptop["session_id"]]["current"] is True
    assert items[phone["session_id"]]["current"] is False

    revoked = await api.client.delete(
        f"/api/v1/user/me/sessions/{phone['session_id']}", headers=bearer(laptop["token"])
    )
    assert revoked.status_code == 204
    assert (
        await api.client.get("/api/v1/user/me", headers=bearer(phone["token"]))
    ).status_code == 401
    assert (
        await api.client.get("/api/v1/user/me", headers=bearer(laptop["token"]))
    ).status_code == 200


async def test_the_client_is_read_from_the_right_of_the_gateways_chain(api: Api) -> None:
    # The test client is 127.0.0.1, a trusted proxy; the player wrote the junk on the left.
    signed = await api.sign_in(
        "chain@example.org", **{"X-Forwarded-For": "junk, 203.0.113.9", "User-Agent": "t"}
    )
    listed = await api.client.get("/api/v1/user/me/sessions", headers=bearer(signed["token"]))
    [session] = listed.json()["items"]
    assert session["client_ip"] == "203.0.113.9"


async def test_nobody_revokes_someone_elses_session(api: Api) -> None:
    alice = await api.sign_in("alice@example.org")
    mallory = await api.sign_in("mallory@example.org")
    response = await api.client.delete(
        f"/api/v1/user/me/sessions/{alice['session_id']}", headers=bearer(mallory["token"])
    )
    assert response.status_code == 404
    assert (
        await api.client.get("/api/v1/user/me", headers=bearer(alice["token"]))
    ).status_code == 200


async def test_the_gateway_resolves_tokens(api: Api) -> None:
    signed = await api.sign_in("resolve@example.org")
    internal = bearer(api.backend.internal_token)
    resolved = await api.client.post(
        "/api/v1/internal/sessions/resolve", json={"token": signed["token"]}, headers=internal
    )
    assert resolved.status_code == 200
    assert resolved.json()["user_id"] == signed["user"]["id"]
    assert resolved.json()["session_id"] == signed["session_id"]
    unknown = await api.client.post(
        "/api/v1/internal/sessions/resolve", json={"token": "gsu_nothing"}, headers=internal
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "session_not_found"
    bad = await api.client.post(
        "/api/v1/internal/sessions/resolve", json={"tok": 1}, headers=internal
    )
    assert bad.status_code == 422
    assert (
        await api.client.post("/api/v1/internal/sessions/resolve", json={"token": signed["token"]})
    ).status_code == 401


async def test_revocation_tells_the_gateway_over_push(api: Api) -> None:
    signed = await api.sign_in("pushed@example.org")
    after = api.backend.push.status().last_cursor
    async with grpc.aio.insecure_channel(f"127.0.0.1:{api.backend.grpc.port}") as channel:
        call = PushStub(channel).SubscribePush(
            SubscribePushRequest(gateway_id="gw", after_cursor=after),
            metadata=[("authorization", f"Bearer {api.backend.internal_token}")],
        )
        await eventually(lambda: api.backend.push.status().subscribers == 1)
        await api.client.post("/api/v1/user/auth/logout", headers=bearer(signed["token"]))
        batch = await asyncio.wait_for(call.read(), 10)
        call.cancel()
    event = batch.events[0]
    assert event.kind == "session.revoked"
    assert list(event.user_ids) == [signed["user"]["id"]]
    assert signed["session_id"] in event.payload.decode()


async def test_a_revocation_on_one_replica_holds_on_another_at_once(start_api) -> None:  # type: ignore[no-untyped-def]
    first: Api = await start_api()
    second: Api = await start_api()
    signed = await first.sign_in("replicated@example.org")
    headers = bearer(signed["token"])
    # The second replica learns the session from the database on first use.
    assert (await second.client.get("/api/v1/user/me", headers=headers)).status_code == 200
    assert (await first.client.post("/api/v1/user/auth/logout", headers=headers)).status_code == 204

    async def refused() -> bool:
        return (await second.client.get("/api/v1/user/me", headers=headers)).status_code == 401

    await eventually(refused, timeout=5, message="the other replica drops the session")


async def test_caches_warm_only_the_working_set_and_a_miss_reads_the_database(
    start_api,
    db_dsn: str,  # type: ignore[no-untyped-def]
) -> None:
    conn = await asyncpg.connect(db_dsn, server_settings={"search_path": "backend"})
    try:
        # 20,000 players with a session each; the oldest-seen one is the one we will use.
        await conn.execute(
            """
            INSERT INTO users (id, email, email_normalized, last_sign_in_at)
            SELECT gen_random_uuid(), 'p' || n || '@example.org', 'p' || n || '@example.org',
                   now() - n * interval '1 minute'
            FROM generate_series(1, 20000) AS n
            """
        )
        await conn.execute(
            """
            INSERT INTO sessions (id, user_id, token_hash, expires_at, last_seen_at)
            SELECT gen_random_uuid(), id, sha256(convert_to(email, 'UTF8')),
                   now() + interval '1 day', last_sign_in_at
            FROM users
            """
        )
    finally:
        await conn.close()
    api: Api = await start_api(BACKEND_CACHE_WARM_ENTRIES="100", BACKEND_CACHE_MAX_ENTRIES="500")
    assert len(api.backend.auth.cache) == 100
    assert len(api.backend.users.cache) == 100
    # The sessions' token is the email here (only its hash is stored, as for real tokens).
    oldest = "p20000@example.org"
    assert api.backend.auth.cache.get(token_hash(oldest)) is None
    me = await api.client.get("/api/v1/user/me", headers=bearer(oldest))
    assert me.status_code == 200
    assert me.json()["email"] == oldest
    assert api.backend.auth.cache.get(token_hash(oldest)) is not None
    for n in range(1, 1001):
        await api.backend.auth.resolve(f"p{n}@example.org")
    assert len(api.backend.auth.cache) == 500
