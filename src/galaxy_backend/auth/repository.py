"""SQL for sign-in challenges and player sessions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from galaxy_backend.auth.models import Session
from galaxy_backend.postgres import Connection

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


@dataclass(frozen=True, slots=True)
class CodeAttempt:
    """What one guess at a challenge's code did: refused outright, matched, or counted."""

    throttled: bool
    retry_after: timedelta | None
    live: bool
    matched: bool
    attempts_left: int
    # Not live because every attempt was spent on wrong codes (rather than expired or used).
    exhausted: bool
    email: str | None
    email_normalized: str | None


async def attempt_code(
    conn: Connection,
    *,
    challenge_id: UUID,
    code_hash: bytes,
    client_ip: str | None,
    address_limit: int,
    window: timedelta,
) -> CodeAttempt:
    """Count one guess, in one statement: on the challenge and, when wrong, on the address.

    An address past `address_limit` wrong guesses in the current window is refused before
    its guess is even looked at. A challenge that is unknown, expired, used or out of
    attempts is not live.
    """
    row = await conn.fetchrow(
        """
        WITH bucket AS (
            SELECT date_bin($5::interval, now(), timestamptz 'epoch') AS start
        ), guard AS (
            SELECT coalesce(sum(f.failures), 0) >= $4 AS throttled
            FROM auth_address_failures f, bucket
            WHERE f.client_ip = $3::inet AND f.window_start = bucket.start
        ), attempt AS (
            UPDATE auth_challenges
            SET attempts = attempts + 1,
                consumed_at = CASE WHEN code_hash = $2 THEN now() END
            WHERE id = $1 AND consumed_at IS NULL AND expires_at > now()
              AND attempts < max_attempts AND NOT (SELECT throttled FROM guard)
            RETURNING email, email_normalized, consumed_at IS NOT NULL AS matched,
                      max_attempts - attempts AS attempts_left
        ), failed AS (
            INSERT INTO auth_address_failures (client_ip, window_start, failures)
            SELECT $3::inet, bucket.start, 1 FROM attempt, bucket
            WHERE NOT attempt.matched AND $3::inet IS NOT NULL
            ON CONFLICT (client_ip, window_start)
                DO UPDATE SET failures = auth_address_failures.failures + 1
        )
        SELECT guard.throttled, bucket.start + $5::interval - now() AS retry_after,
               attempt.email IS NOT NULL AS live, attempt.*,
               (SELECT c.consumed_at IS NULL AND c.attempts >= c.max_attempts
                FROM auth_challenges c WHERE c.id = $1) AS exhausted
        FROM guard, bucket LEFT JOIN attempt ON true
        """,
        challenge_id,
        code_hash,
        client_ip,
        address_limit,
        window,
    )
    assert row is not None
    return CodeAttempt(
        throttled=bool(row["throttled"]),
        retry_after=row["retry_after"],
        live=bool(row["live"]),
        matched=bool(row["matched"]),
        attempts_left=int(row["attempts_left"] or 0),
        exhausted=bool(row["exhausted"]),
        email=row["email"],
        email_normalized=row["email_normalized"],
    )


async def open_session(
    conn: Connection,
    *,
    session_id: UUID,
    user_id: UUID,
    token_hash: bytes,
    device_name: str | None,
    client_ip: str | None,
    user_agent: str | None,
    ttl: timedelta,
) -> Session:
    row = await conn.fetchrow(
        f"""
        INSERT INTO sessions
            (id, user_id, token_hash, device_name, client_ip, user_agent, expires_at)
        VALUES ($1, $2, $3, $4, $5::inet, $6, now() + $7::interval)
        RETURNING {_SESSION_COLUMNS}
        """,
        session_id,
        user_id,
        token_hash,
        device_name,
        client_ip,
        user_agent,
        ttl,
    )
    assert row is not None
    return to_session(row)


async def lock_code_requests(
    conn: Connection, *, email_normalized: str, client_ip: str | None
) -> None:
    """Serialise code requests per email and per address until this transaction ends, so a
    limit is counted and then kept (check-then-insert is otherwise a race).

    Taken in one fixed order (email, then address) so that two requests never deadlock.
    """
    await conn.execute(
        """
        WITH by_email AS MATERIALIZED (
            SELECT pg_advisory_xact_lock(hashtextextended('auth.code.email:' || $1, 0))
        )
        SELECT pg_advisory_xact_lock(hashtextextended('auth.code.ip:' || $2, 0))
        FROM by_email WHERE $2::text IS NOT NULL
        """,
        email_normalized,
        client_ip,
    )


async def prune(conn: Connection, *, keep: timedelta) -> int:
    """Drop challenges and failure counts older than `keep`: they only served the limits."""
    deleted = await conn.fetchval(
        """
        WITH challenges AS (
            DELETE FROM auth_challenges WHERE expires_at < now() - $1::interval RETURNING 1
        ), failures AS (
            DELETE FROM auth_address_failures WHERE window_start < now() - $1::interval
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM challenges) + (SELECT count(*) FROM failures)
        """,
        keep,
    )
    return int(deleted or 0)


async def live_session_by_hash(conn: Connection, token_hash: bytes) -> Session | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_SESSION_COLUMNS} FROM sessions
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
        """,
        token_hash,
    )
    return to_session(row) if row else None


async def recent_live_sessions(conn: Connection, limit: int) -> list[Session]:
    """The live sessions seen most recently: the working set a cache warms with."""
    rows = await conn.fetch(
        f"""
        SELECT {_SESSION_COLUMNS} FROM sessions
        WHERE revoked_at IS NULL AND expires_at > now()
        ORDER BY last_seen_at DESC
        LIMIT $1
        """,
        limit,
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
