"""Sign-in by emailed code, through the HTTP API, with the code read out of a real mail."""

import asyncio
import json
import re
from datetime import timedelta

import asyncpg
import pytest

from tests.support import eventually, free_port
from tests.support.api import Api, bearer


async def count_rows(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM backend.{table}"))
    finally:
        await conn.close()


async def test_first_sign_in_creates_the_user_and_the_second_finds_it(api: Api) -> None:
    first = await api.sign_in("Ada.Lovelace@Example.org")
    assert first["created"] is True
    assert first["token"].startswith("gsu_")
    # The domain is normalised to lower case; the local part keeps its case.
    assert first["user"]["email"] == "Ada.Lovelace@example.org"
    message = api.inbox.to("Ada.Lovelace@Example.org")[-1]
    assert "sign-in code" in str(message["Subject"]).lower()
    assert message.get_body(preferencelist=("html",)) is not None

    me = await api.client.get("/api/v1/user/me", headers=bearer(first["token"]))
    assert me.status_code == 200
    assert me.json()["id"] == first["user"]["id"]
    assert me.json()["entitlements"] == {
        "tier": "free",
        "max_owned_games": 3,
        "max_active_games": 10,
    }

    # Emails compare case-insensitively: the same account, a second session.
    second = await api.sign_in("ada.lovelace@EXAMPLE.org")
    assert second["created"] is False
    assert second["user"]["id"] == first["user"]["id"]
    assert second["session_id"] != first["session_id"]


async def test_a_wrong_code_counts_and_the_budget_then_kills_the_challenge(api: Api) -> None:
    response = await api.request_code("brute@example.org")
    challenge = response.json()["challenge_id"]
    code = await api.wait_code("brute@example.org")
    wrong = "000000" if code != "000000" else "111111"
    lefts = []
    for _ in range(5):
        attempt = await api.client.post(
            "/api/v1/public/auth/email-code/confirm",
            json={"challenge_id": challenge, "code": wrong},
        )
        assert attempt.status_code == 401
        if attempt.json()["error"]["code"] == "invalid_code":
            lefts.append(attempt.json()["error"]["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    # Out of attempts: even the right code no longer works, and the answer says why.
    late = await api.client.post(
        "/api/v1/public/auth/email-code/confirm", json={"challenge_id": challenge, "code": code}
    )
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "too_many_attempts"
    assert "ask for a new code" in late.json()["error"]["message"]


async def test_a_code_works_once(api: Api) -> None:
    response = await api.request_code("once@example.org")
    challenge = response.json()["challenge_id"]
    code = await api.wait_code("once@example.org")
    body = {"challenge_id": challenge, "code": code}
    assert (
        await api.client.post("/api/v1/public/auth/email-code/confirm", json=body)
    ).status_code == 200
    again = await api.client.post("/api/v1/public/auth/email-code/confirm", json=body)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "challenge_expired"


async def test_an_expired_code_is_refused(start_api, db_dsn: str) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_CODE_TTL="1s")
    response = await api.request_code("late@example.org")
    code = await api.wait_code("late@example.org")
    challenge = response.json()["challenge_id"]

    async def expired() -> bool:
        # Asked of the database, whose clock decides; confirming would use the challenge up.
        conn = await asyncpg.connect(db_dsn)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT expires_at <= now() FROM backend.auth_challenges WHERE id = $1",
                    challenge,
                )
            )
        finally:
            await conn.close()

    await eventually(expired, timeout=10, interval=0.1, message="the code expires")
    attempt = await api.client.post(
        "/api/v1/public/auth/email-code/confirm", json={"challenge_id": challenge, "code": code}
    )
    assert attempt.status_code == 401
    assert attempt.json()["error"]["code"] == "challenge_expired"
    assert await count_rows(db_dsn, "sessions") == 0


async def test_codes_are_rate_limited_per_email(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_EMAIL_RATE_LIMIT="2")
    assert (await api.request_code("limited@example.org")).status_code == 202
    assert (await api.request_code("LIMITED@example.org")).status_code == 202
    third = await api.request_code("limited@example.org")
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(third.headers["retry-after"]) <= 15 * 60
    # Another address is not affected.
    assert (await api.request_code("other@example.org")).status_code == 202


async def test_codes_are_rate_limited_per_client_address(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_IP_RATE_LIMIT="2")
    # The test client connects from 127.0.0.1, a trusted proxy: X-Forwarded-For is believed.
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    assert (await api.request_code("a@example.org", **spoofed)).status_code == 202
    assert (await api.request_code("b@example.org", **spoofed)).status_code == 202
    assert (await api.request_code("c@example.org", **spoofed)).status_code == 429
    other = {"X-Forwarded-For": "203.0.113.8"}
    assert (await api.request_code("c@example.org", **other)).status_code == 202


async def test_the_per_email_limit_holds_under_concurrent_requests(start_api, db_dsn: str) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_EMAIL_RATE_LIMIT="5")
    responses = await asyncio.gather(*(api.request_code("racer@example.org") for _ in range(30)))
    assert sorted(r.status_code for r in responses) == [202] * 5 + [429] * 25
    assert await count_rows(db_dsn, "auth_challenges") == 5


async def test_wrong_codes_are_limited_per_client_address(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_IP_GUESS_LIMIT="3")
    guesser = {"X-Forwarded-For": "203.0.113.50"}
    refused = []
    for n in range(4):
        # Each challenge allows 5 tries; the address runs out first, across challenges.
        response = await api.request_code(f"target{n}@example.org", **guesser)
        code = await api.wait_code(f"target{n}@example.org")
        wrong = "000000" if code != "000000" else "111111"
        attempt = await api.client.post(
            "/api/v1/public/auth/email-code/confirm",
            json={"challenge_id": response.json()["challenge_id"], "code": wrong},
            headers=guesser,
        )
        refused.append(attempt.json()["error"]["code"])
    assert refused == ["invalid_code", "invalid_code", "invalid_code", "too_many_guesses"]
    # Even the right code is refused from that address now, with a time to come back...
    blocked = await api.client.post(
        "/api/v1/public/auth/email-code/confirm",
        json={"challenge_id": response.json()["challenge_id"], "code": code},
        headers=guesser,
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    # ...and the challenge was not used up by the refusal: another address may still confirm.
    other = await api.client.post(
        "/api/v1/public/auth/email-code/confirm",
        json={"challenge_id": response.json()["challenge_id"], "code": code},
        headers={"X-Forwarded-For": "203.0.113.51"},
    )
    assert other.status_code == 200, other.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "nul\u0000@example.org"}, "email"),
        ({"email": "a@" + "b" * 250 + ".org"}, "email"),
        ({"email": 42}, "email"),
        ({}, "email"),
        ({"email": "x@example.org", "admin": True}, "admin"),
    ],
)
async def test_bad_code_requests_are_422_naming_the_field_and_write_nothing(
    api: Api, db_dsn: str, body: dict[str, object], field: str
) -> None:
    response = await api.client.post("/api/v1/public/auth/email-code", json=body)
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert await count_rows(db_dsn, "auth_challenges") == 0
    assert await count_rows(db_dsn, "mail_deliveries") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"challenge_id": "nope", "code": "123456"}, "challenge_id"),
        ({"challenge_id": "00000000-0000-0000-0000-000000000000", "code": "12345"}, "code"),
        ({"challenge_id": "00000000-0000-0000-0000-000000000000", "code": "abcdef"}, "code"),
        (
            {
                "challenge_id": "00000000-0000-0000-0000-000000000000",
                "code": "123456",
                "device_name": "x" * 65,
            },
            "device_name",
        ),
        (
            {
                "challenge_id": "00000000-0000-0000-0000-000000000000",
                "code": "123456",
                "device_name": "phone\u0000",
            },
            "device_name",
        ),
    ],
)
async def test_bad_confirmations_are_422(api: Api, body: dict[str, object], field: str) -> None:
    # Sent as ASCII JSON, so a lone surrogate travels as the escape a hostile client would send.
    response = await api.client.post(
        "/api/v1/public/auth/email-code/confirm",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"challenge_id": "00000000-0000-0000-0000-000000000000", "code": "123456",'
        b' "device_name": "\\ud800"}',
        b'{"challenge_id": "00000000-0000-0000-0000-000000000000", "code": "123456",'
        b' "device_name": "\xff\xfe"}',
    ],
)
async def test_bodies_that_are_not_unicode_are_malformed_json(api: Api, raw: bytes) -> None:
    response = await api.client.post(
        "/api/v1/public/auth/email-code/confirm",
        content=raw,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def database_dump(dsn: str) -> str:
    """Every row of every table of the backend schema, as text."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'backend' ORDER BY tablename"
        )
        dumps = []
        for table in tables:
            rows = await conn.fetch(f'SELECT * FROM backend."{table["tablename"]}"')
            dumps.append(repr([dict(row) for row in rows]))
    finally:
        await conn.close()
    return "\n".join(dumps)


async def test_nothing_that_grants_access_stays_readable_in_the_database(
    api: Api, db_dsn: str
) -> None:
    signed = await api.sign_in("hashes@example.org")
    code = api.inbox.code_for("hashes@example.org")
    admin_token = await api.admin_token()

    async def recorded_sent() -> bool:
        return await mail_statuses(db_dsn) == {"sent"}

    await eventually(recorded_sent, message="the sign-in mail is recorded as sent")
    dump = await database_dump(db_dsn)
    assert "sign_in_code" in dump  # the mail row is there...
    assert code not in re.sub(r"[0-9a-f-]{36}|\d{4}-\d\d-\d\d[^,)]*", "", dump)  # ...not its code
    for secret in (signed["token"], signed["token"].removeprefix("gsu_"), admin_token):
        assert secret not in dump


async def mail_statuses(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT status FROM backend.mail_deliveries")
    finally:
        await conn.close()
    return {row["status"] for row in rows}


async def test_a_code_mail_that_expires_unsent_is_failed_and_redacted(
    start_api,
    db_dsn: str,  # type: ignore[no-untyped-def]
) -> None:
    # No SMTP server answers here, so the mail cannot leave before its code expires.
    api: Api = await start_api(
        BACKEND_AUTH_CODE_TTL="1s", BACKEND_SMTP_ADDR=f"127.0.0.1:{free_port()}"
    )
    await api.request_code("unlucky@example.org")
    pool = api.backend.database.pool

    async def redacted() -> bool:
        await api.backend.mail.redact_expired()
        row = await pool.fetchrow("SELECT status, body_text, last_error FROM mail_deliveries")
        return row is not None and row["status"] == "failed"

    await eventually(redacted, timeout=15, interval=0.2, message="the expired mail is redacted")
    row = await pool.fetchrow("SELECT body_text, body_html, last_error FROM mail_deliveries")
    assert not re.search(r"\b\d{6}\b", row["body_text"] + row["body_html"])
    assert "expired" in row["last_error"]
    # An operator cannot send it again: what it carried is gone.
    admin = bearer(await api.admin_token())
    delivery = await pool.fetchval("SELECT id FROM mail_deliveries")
    retry = await api.client.post(f"/api/v1/admin/mail/deliveries/{delivery}/retry", headers=admin)
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "mail_delivery_redacted"


async def test_old_challenges_and_guess_counts_are_pruned(api: Api, db_dsn: str) -> None:
    await api.request_code("fresh@example.org")
    await api.request_code("stale@example.org")
    pool = api.backend.database.pool
    await pool.execute(
        "UPDATE auth_challenges SET expires_at = now() - interval '2 days'"
        " WHERE email_normalized = 'stale@example.org'"
    )
    await pool.execute(
        "INSERT INTO auth_address_failures VALUES ('203.0.113.1', now() - interval '3 days', 4),"
        " ('203.0.113.2', date_bin('15 minutes', now(), timestamptz 'epoch'), 1)"
    )
    assert await api.backend.auth.prune(keep=timedelta(days=1)) == 2
    left = await pool.fetch("SELECT email_normalized FROM auth_challenges")
    assert [row["email_normalized"] for row in left] == ["fresh@example.org"]
    assert await count_rows(db_dsn, "auth_address_failures") == 1
