"""Operators: login, roles, lockout, logout."""

import httpx
import pytest

from tests.support.api import ADMIN_PASSWORD, ADMIN_USER, Api, bearer
from tests.support.operators import create_viewer


async def test_bootstrap_admin_logs_in_and_a_wrong_password_is_401(api: Api) -> None:
    token = await api.admin_token()
    assert token.startswith("gsa_")
    me = await api.client.get("/api/v1/admin/me", headers=bearer(token))
    assert me.json()["username"] == ADMIN_USER
    assert me.json()["role"] == "admin"
    wrong = await api.client.post(
        "/api/v1/admin/auth/login", json={"username": ADMIN_USER, "password": "nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    unknown = await api.client.post(
        "/api/v1/admin/auth/login", json={"username": "ghost", "password": "nope"}
    )
    assert unknown.status_code == 401
    assert unknown.json() == wrong.json()


async def login(api: Api, username: str, password: str, address: str) -> httpx.Response:
    return await api.client.post(
        "/api/v1/admin/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_a_strangers_wrong_passwords_lock_only_the_stranger_out(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_ADMIN_LOCKOUT_THRESHOLD="3")
    stranger, operator = "198.51.100.66", "192.0.2.10"
    for _ in range(3):
        assert (await login(api, ADMIN_USER, "guess", stranger)).status_code == 401
    locked = await login(api, ADMIN_USER, ADMIN_PASSWORD, stranger)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_failed_logins"
    assert int(locked.headers["retry-after"]) > 0
    # The real operator, from their own address, is not locked out.
    assert (await login(api, ADMIN_USER, ADMIN_PASSWORD, operator)).status_code == 200


async def test_an_unknown_username_is_throttled_exactly_like_a_real_one(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_ADMIN_LOCKOUT_THRESHOLD="2")
    answers: dict[str, list[tuple[int, str]]] = {}
    for username in (ADMIN_USER, "ghost-operator"):
        answers[username] = []
        for _ in range(3):
            response = await login(api, username, "wrong password", "198.51.100.70")
            answers[username].append((response.status_code, response.json()["error"]["code"]))
    assert answers[ADMIN_USER] == answers["ghost-operator"]
    assert answers[ADMIN_USER][-1] == (429, "too_many_failed_logins")


async def test_an_address_trying_many_usernames_is_locked_out(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(
        BACKEND_ADMIN_LOCKOUT_THRESHOLD="5", BACKEND_ADMIN_ADDRESS_LOCKOUT_THRESHOLD="4"
    )
    for n in range(4):
        assert (await login(api, f"user{n}", "x", "198.51.100.80")).status_code == 401
    assert (await login(api, ADMIN_USER, ADMIN_PASSWORD, "198.51.100.80")).status_code == 429
    assert (await login(api, ADMIN_USER, ADMIN_PASSWORD, "198.51.100.81")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "root\u0000", "password": "x"}, "username"),
        ({"username": "root", "password": "a\u0000b"}, "password"),
        ({"username": "\u0007", "password": "x"}, "username"),
    ],
)
async def test_bad_logins_are_422(api: Api, body: dict[str, str], field: str) -> None:
    response = await api.client.post("/api/v1/admin/auth/login", json=body)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]


async def test_admin_logout_ends_the_admin_session(api: Api) -> None:
    token = await api.admin_token()
    assert (
        await api.client.post("/api/v1/admin/auth/logout", headers=bearer(token))
    ).status_code == 204
    assert (await api.client.get("/api/v1/admin/me", headers=bearer(token))).status_code == 401


async def test_a_viewer_reads_but_cannot_change(api: Api, db_dsn: str) -> None:
    player = await api.sign_in("watched@example.org")
    viewer = await create_viewer(api, db_dsn)
    listed = await api.client.get("/api/v1/admin/users", headers=bearer(viewer))
    assert listed.status_code == 200
    assert [u["email"] for u in listed.json()["items"]] == ["watched@example.org"]
    blocked = await api.client.post(
        f"/api/v1/admin/users/{player['user']['id']}/block",
        json={"kind": "permanent", "reason": "spam"},
        headers=bearer(viewer),
    )
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "insufficient_role"
