"""Managing operators: list, create, disable, enable, role, password, each audited; a
disabled operator's sessions end at once on every replica, from the API or the CLI."""

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import backend_env, cli, eventually
from tests.support.api import ADMIN_USER, Api, bearer

OPERATORS = "/api/v1/admin/operators"
PASSWORD = "operator password 42"


async def create(api: Api, admin: str, username: str, role: str = "admin") -> dict[str, Any]:
    made = await api.client.post(
        OPERATORS,
        json={"username": username, "password": PASSWORD, "role": role},
        headers=bearer(admin),
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def refused(api: Api, token: str) -> bool:
    return (await api.client.get("/api/v1/admin/me", headers=bearer(token))).status_code == 401


async def audit(api: Api, admin: str) -> list[tuple[str, str | None]]:
    items = (await api.client.get("/api/v1/admin/audit", headers=bearer(admin))).json()["items"]
    return [(e["action"], e["target_id"]) for e in reversed(items)]


async def test_an_admin_manages_operators_and_every_change_is_audited(api: Api) -> None:
    root = await api.admin_token()
    ops = await create(api, root, "night-shift", role="viewer")
    assert (ops["role"], ops["disabled_at"]) == ("viewer", None)
    listed = (await api.client.get(OPERATORS, headers=bearer(root))).json()
    assert [o["username"] for o in listed["items"]] == ["night-shift", ADMIN_USER]
    path = f"{OPERATORS}/{ops['id']}"

    # A viewer reads the list but changes nothing.
    viewer = await api.admin_token("night-shift", PASSWORD)
    assert (await api.client.get(OPERATORS, headers=bearer(viewer))).status_code == 200
    denied = await api.client.post(f"{path}/disable", headers=bearer(viewer))
    assert denied.status_code == 403

    # Promoted, the same session may change things at once.
    promoted = await api.client.put(f"{path}/role", json={"role": "admin"}, headers=bearer(root))
    assert promoted.json()["role"] == "admin"
    me = await api.client.get("/api/v1/admin/me", headers=bearer(viewer))
    assert me.json()["role"] == "admin"

    # A new password ends the operator's sessions; only the new one logs in.
    reset = await api.client.post(
        f"{path}/password", json={"password": "a brand new password"}, headers=bearer(root)
    )
    assert reset.status_code == 200, reset.text
    assert await refused(api, viewer)
    wrong = await api.client.post(
        "/api/v1/admin/auth/login", json={"username": "night-shift", "password": PASSWORD}
    )
    assert wrong.status_code == 401
    session = await api.admin_token("night-shift", "a brand new password")

    disabled = await api.client.post(f"{path}/disable", headers=bearer(root))
    assert disabled.json()["disabled_at"] is not None
    assert await refused(api, session)
    login = await api.client.post(
        "/api/v1/admin/auth/login",
        json={"username": "night-shift", "password": "a brand new password"},
    )
    assert login.status_code == 401
    enabled = await api.client.post(f"{path}/enable", headers=bearer(root))
    assert enabled.json()["disabled_at"] is None
    await api.admin_token("night-shift", "a brand new password")

    assert [a for a in await audit(api, root) if a[0].startswith("admin.operator.")] == [
        ("admin.operator.create", ops["id"]),
        ("admin.operator.role", ops["id"]),
        ("admin.operator.password", ops["id"]),
        ("admin.operator.disable", ops["id"]),
        ("admin.operator.enable", ops["id"]),
    ]


async def test_the_last_enabled_admin_stays_and_bad_input_is_refused(api: Api) -> None:
    root = await api.admin_token()
    me = (await api.client.get("/api/v1/admin/me", headers=bearer(root))).json()
    path = f"{OPERATORS}/{me['id']}"
    for method, suffix, body in (("POST", "disable", None), ("PUT", "role", {"role": "viewer"})):
        answer = await api.client.request(
            method, f"{path}/{suffix}", json=body, headers=bearer(root)
        )
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "last_admin"
    assert (await api.client.get("/api/v1/admin/me", headers=bearer(root))).status_code == 200
    # Operators changing their own password keep the session they did it from.
    own = await api.client.post(
        f"{path}/password", json={"password": "root's new password"}, headers=bearer(root)
    )
    assert own.status_code == 200
    assert not await refused(api, root)

    cases = [
        ({"username": "short", "password": "tiny", "role": "admin"}, "password"),
        ({"username": "x", "password": PASSWORD, "role": "owner"}, "role"),
        ({"username": "\u0000", "password": PASSWORD}, "username"),
        ({"username": ADMIN_USER.upper(), "password": PASSWORD}, None),
    ]
    for body, field in cases:
        answer = await api.client.post(OPERATORS, json=body, headers=bearer(root))
        if field is None:
            assert (answer.status_code, answer.json()["error"]["code"]) == (409, "username_taken")
        else:
            assert answer.status_code == 422, answer.text
            assert field in answer.text
    missing = await api.client.post(
        f"{OPERATORS}/00000000-0000-0000-0000-000000000000/disable", headers=bearer(root)
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "operator_not_found")


def run_admin_cli(db_dsn: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli("admin", *args),
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
        env=backend_env({"BACKEND_POSTGRES_DSN": db_dsn}),
        timeout=60,
    )


async def test_disabling_ends_sessions_at_once_on_every_replica_from_api_and_cli(
    start_api: Callable[..., Awaitable[Api]], db_dsn: str
) -> None:
    first, second = await start_api(), await start_api()
    root = await first.admin_token()
    await create(first, root, "roamer")
    session = await first.admin_token("roamer", PASSWORD)
    # Cached on both replicas.
    for replica in (first, second):
        assert not await refused(replica, session)

    ops = (await second.client.get(OPERATORS, headers=bearer(root))).json()["items"][0]
    disabled = await second.client.post(f"{OPERATORS}/{ops['id']}/disable", headers=bearer(root))
    assert disabled.status_code == 200
    assert await refused(second, session)
    await eventually(lambda: refused(first, session), timeout=5, message="refused on the other")

    # The CLI on the server does the same, to every replica, and is audited as itself.
    enabled = await asyncio.to_thread(run_admin_cli, db_dsn, "enable", "--username", "roamer")
    assert enabled.returncode == 0, enabled.stderr
    session = await first.admin_token("roamer", PASSWORD)
    assert not await refused(second, session)
    done = await asyncio.to_thread(run_admin_cli, db_dsn, "disable", "--username", "roamer")
    assert done.returncode == 0, done.stderr
    for replica in (first, second):
        await eventually(lambda r=replica: refused(r, session), timeout=5, message="CLI disable")
    listed = await asyncio.to_thread(run_admin_cli, db_dsn, "list")
    assert "roamer\tadmin\tdisabled" in listed.stdout

    role = await asyncio.to_thread(
        run_admin_cli, db_dsn, "role", "--username", "roamer", "--role", "viewer"
    )
    assert role.returncode == 0, role.stderr
    password = await asyncio.to_thread(
        run_admin_cli, db_dsn, "password", "--username", "roamer", stdin="cli set password 1\n"
    )
    assert password.returncode == 0, password.stderr
    assert "cli set password" not in password.stdout + password.stderr
    await asyncio.to_thread(run_admin_cli, db_dsn, "enable", "--username", "roamer")
    me = await first.client.get(
        "/api/v1/admin/me", headers=bearer(await first.admin_token("roamer", "cli set password 1"))
    )
    assert me.json()["role"] == "viewer"
    missing = await asyncio.to_thread(run_admin_cli, db_dsn, "disable", "--username", "nobody")
    assert missing.returncode == 1
    assert "no such operator" in missing.stderr
    # The outcome alone, not buried under routine log lines (migrations, start-up).
    assert '"level":"info"' not in (password.stderr + missing.stderr).replace(" ", "")
    entries = (await first.client.get("/api/v1/admin/audit", headers=bearer(root))).json()["items"]
    by_cli = [e for e in entries if e["admin_username"].startswith("cli")]
    assert {e["action"] for e in by_cli} == {
        "admin.operator.enable",
        "admin.operator.disable",
        "admin.operator.role",
        "admin.operator.password",
    }


async def test_a_disabled_session_is_refused_even_where_it_was_cached_long(
    start_api: Callable[..., Awaitable[Api]],
) -> None:
    # The cache would trust the entry for an hour: only the bus can end it sooner.
    first = await start_api(BACKEND_CACHE_MAX_AGE="1h")
    second = await start_api(BACKEND_CACHE_MAX_AGE="1h")
    root = await first.admin_token()
    made = await create(first, root, "cached")
    session = await second.admin_token("cached", PASSWORD)
    assert not await refused(first, session)
    await second.client.post(f"{OPERATORS}/{made['id']}/disable", headers=bearer(root))
    await eventually(lambda: refused(first, session), timeout=5, message="refused at once")
