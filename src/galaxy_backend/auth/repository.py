"""SQL for sign-in challenges and player sessions."""

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from galaxy_backend.auth.models import Session
from galaxy_backend.postgres import Connection
from galaxy_backend.user import repository as user_repository

_SESSION_COLUMNS = """
    id, user_id, token_hash, device_name, host(client_ip) AS client_ip, user_agent,
    created_at, expires_at, last_seen_at
"""


def to_session(row: asyncpg.Record) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        token_hash=bytes(row["token_hash"]),
        device_name=row["device_name"],
        client_ip=row["client_ip"],
        user_agent=row["user_agent"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_seen_at=row["last_seen_at"],
    )


async def recent_challenges(
    conn: Connection, *, email_normalized: str, client_ip: str | None, window: timedelta
) -> asyncpg.Record:
    """How many codes this email and this address asked for within the window, and when first."""
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE email_normalized = $1) AS by_email,
               min(created_at) FILTER (WHERE email_normalized = $1) AS first_by_email,
               count(*) FILTER (WHERE client_ip = $2::inet) AS by_ip,
               min(created_at) FILTER (WHERE client_ip = $2::inet) AS first_by_ip
        FROM auth_challenges
        WHERE created_at > now() - $3::interval
          AND (email_normalized = $1 OR client_ip = $2::inet)
        """,
        email_normalized,
        client_ip,
        window,
    )
    assert row is not None
    return row


async def insert_challenge(
    conn: Connection,
    *,
    challenge_id: UUID,
    email: str,
    email_normalized: str,
    code_hash: bytes,
    max_attempts: int,
    client_ip: str | None,
    ttl: timedelta,
) -> datetime:
    expires_at: datetime = await conn.fetchval(
        """
        INSERT INTO auth_challenges
            (id, email, email_normalized, code_hash, max_attempts, client_ip, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6::inet, now() + $7::interval)
        RETURNING expires_at
        """,
        challenge_id,
        email,
        email_normalized,
        code_hash,
        max_attempts,
        client_ip,
        ttl,
    )
    return expires_at


async def sign_in(
    conn: Connection,
    *,
    challenge_id: UUID,
    code_hash: bytes,
    user_id: UUID,
    country: str | None,
    session_id: UUID,
    token_hash: bytes,
    device_name: str | None,
    client_ip: str | None,
    user_agent: str | None,
    ttl: timedelta,
) -> asyncpg.Record | None:
    """The whole confirmation in one statement, so one round trip and one transaction.

    Counts the attempt; on a matching code finds or creates the account (the first sign-in
    creates it) and, unless the account is blocked, opens a session. None when the challenge
    is unknown, expired, used or out of attempts; `matched` false for a wrong code; session
    columns null for a blocked account. Sign-in is auth's one write to `users`, kept here
    because it is the hottest write of the platform.
    """
    return await conn.fetchrow(
        f"""
        WITH attempt AS (
            UPDATE auth_challenges
            SET attempts = attempts + 1,
                consumed_at = CASE WHEN code_hash = $2 THEN now() END
            WHERE id = $1 AND consumed_at IS NULL AND expires_at > now()
              AND attempts < max_attempts
            RETURNING email, email_normalized, consumed_at IS NOT NULL AS matched,
                      max_attempts - attempts AS attempts_left
        ), account AS (
            INSERT INTO users (id, email, email_normalized, country, last_sign_in_at)
            SELECT $3, email, email_normalized, $4, now() FROM attempt WHERE matched
            ON CONFLICT (email_normalized) DO UPDATE SET last_sign_in_at = now()
            RETURNING {user_repository.COLUMNS}, (xmax = 0) AS created
        ), opened AS (
            INSERT INTO sessions
                (id, user_id, token_hash, device_name, client_ip, user_agent, expires_at)
            SELECT $5, account.id, $6, $7, $8::inet, $9, now() + $10::interval FROM account
            WHERE account.block_kind IS NULL
               OR (account.block_kind = 'temporary' AND account.blocked_until <= now())
            RETURNING id AS session_id, created_at AS session_created_at,
                      expires_at AS session_expires_at, last_seen_at AS session_last_seen_at,
                      host(client_ip) AS session_client_ip
        )
        SELECT attempt.matched, attempt.attempts_left, account.*, opened.*
        FROM attempt LEFT JOIN account ON true LEFT JOIN opened ON true
        """,
        challenge_id,
        code_hash,
        user_id,
        country,
        session_id,
        token_hash,
        device_name,
        client_ip,
        user_agent,
        ttl,
    )


async def live_session_by_hash(conn: Connection, token_hash: bytes) -> Session | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_SESSION_COLUMNS} FROM sessions
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
        """,
        token_hash,
    )
    return to_session(row) if row else None


async def load_live_sessions(conn: Connection) -> list[Session]:
    rows = await conn.fetch(
        f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE revoked_at IS NULL AND expires_at > now()"
    )
    return [to_session(row) for row in rows]


async def live_sessions_of(conn: Connection, user_id: UUID) -> list[Session]:
    rows = await conn.fetch(
        f"""
        SELECT {_SESSION_COLUMNS} FROM sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
        ORDER BY created_at DESC
        """,
        user_id,
    )
    return [to_session(row) for row in rows]


async def revoke(
    conn: Connection, *, user_id: UUID, session_id: UUID | None, reason: str
) -> list[Session]:
    """Revoke one session of the user, or all of them when `session_id` is None."""
    rows = await conn.fetch(
        f"""
        UPDATE sessions SET revoked_at = now(), revoke_reason = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id = $2)
        RETURNING {_SESSION_COLUMNS}
        """,
        user_id,
        session_id,
        reason,
    )
    return [to_session(row) for row in rows]


async def touch(conn: Connection, seen: dict[UUID, datetime]) -> None:
    await conn.execute(
        """
        UPDATE sessions SET last_seen_at = t.seen
        FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, seen)
        WHERE sessions.id = t.id AND sessions.last_seen_at < t.seen
        """,
        list(seen),
        list(seen.values()),
    )
