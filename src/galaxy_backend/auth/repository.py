"""SQL for sign-in challenges and player sessions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from galaxy_backend.auth.models import Session
from galaxy_backend.postgres import Connection

# A network an email signed in from stays known this long after the last sign-in there.
KNOWN_NETWORK_KEPT = timedelta(days=90)

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
    conn: Connection,
    *,
    email_normalized: str,
    network: str | None,
    window: timedelta,
    day: timedelta,
) -> asyncpg.Record:
    """Codes asked for within the window: for this email from this network (`here`), from
    this network (`network`); and within `day`, for this email from networks it had not
    signed in from (`strangers`). With when the first of each was."""
    row = await conn.fetchrow(
        """
        WITH here AS (
            SELECT created_at FROM auth_challenges
            WHERE email_normalized = $1 AND created_at > now() - $3::interval
              AND CASE WHEN $2::inet IS NULL THEN client_ip IS NULL
                       ELSE client_ip <<= $2::inet END
        ), network AS (
            SELECT created_at FROM auth_challenges
            WHERE client_ip <<= $2::inet AND created_at > now() - $3::interval
        ), strangers AS (
            SELECT created_at FROM auth_challenges
            WHERE email_normalized = $1 AND NOT from_known AND created_at > now() - $4::interval
        )
        SELECT (SELECT count(*) FROM here) AS by_email_here,
               (SELECT min(created_at) FROM here) AS first_by_email_here,
               (SELECT count(*) FROM network) AS by_network,
               (SELECT min(created_at) FROM network) AS first_by_network,
               (SELECT count(*) FROM strangers) AS by_strangers,
               (SELECT min(created_at) FROM strangers) AS first_by_strangers
        """,
        email_normalized,
        network,
        window,
        day,
    )
    assert row is not None
    return row


async def known_network(conn: Connection, *, email_normalized: str, network: str | None) -> bool:
    """Whether this email has signed in from this network (its player, most likely)."""
    if network is None:
        return False
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM auth_known_networks"
            " WHERE email_normalized = $1 AND network = $2::inet)",
            email_normalized,
            network,
        )
    )


async def remember_network(conn: Connection, *, email_normalized: str, network: str) -> None:
    await conn.execute(
        """
        INSERT INTO auth_known_networks (email_normalized, network) VALUES ($1, $2::inet)
        ON CONFLICT (email_normalized, network) DO UPDATE SET last_signed_in_at = now()
        """,
        email_normalized,
        network,
    )


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
    from_known: bool = False,
) -> datetime:
    expires_at: datetime = await conn.fetchval(
        """
        INSERT INTO auth_challenges
            (id, email, email_normalized, code_hash, max_attempts, client_ip, expires_at,
             from_known)
        VALUES ($1, $2, $3, $4, $5, $6::inet, now() + $7::interval, $8)
        RETURNING expires_at
        """,
        challenge_id,
        email,
        email_normalized,
        code_hash,
        max_attempts,
        client_ip,
        ttl,
        from_known,
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
    # Wrong codes for this email today from networks it has not signed in from, when this
    # guess was one of them.
    email_failures: int | None = None


# One guess counted in one statement (see attempt_code).
_ATTEMPT_CODE = """
    WITH bucket AS (
        SELECT date_bin($5::interval, now(), timestamptz 'epoch') AS start,
               (now() AT TIME ZONE 'UTC')::date AS day
    ), challenge AS (
        SELECT email_normalized FROM auth_challenges WHERE id = $1
    ), known AS (
        SELECT EXISTS (
            SELECT 1 FROM auth_known_networks k, challenge c
            WHERE k.email_normalized = c.email_normalized AND k.network = $3::inet
        ) AS known
    ), guard AS (
        SELECT coalesce((
                   SELECT sum(f.failures) FROM auth_address_failures f, bucket
                   WHERE f.client_ip = $3::inet AND f.window_start = bucket.start
               ), 0) >= $4 AS by_network,
               NOT known.known AND coalesce((
                   SELECT e.failures FROM auth_email_failures e, challenge c, bucket
                   WHERE e.email_normalized = c.email_normalized AND e.day = bucket.day
               ), 0) >= $6 AS by_email
        FROM known
    ), attempt AS (
        UPDATE auth_challenges
        SET attempts = attempts + 1,
            consumed_at = CASE WHEN code_hash = $2 THEN now() END
        WHERE id = $1 AND consumed_at IS NULL AND expires_at > now()
          AND attempts < max_attempts
          AND NOT (SELECT by_network OR by_email FROM guard)
        RETURNING email, email_normalized, consumed_at IS NOT NULL AS matched,
                  max_attempts - attempts AS attempts_left
    ), failed AS (
        INSERT INTO auth_address_failures (client_ip, window_start, failures)
        SELECT $3::inet, bucket.start, 1 FROM attempt, bucket
        WHERE NOT attempt.matched AND $3::inet IS NOT NULL
        ON CONFLICT (client_ip, window_start)
            DO UPDATE SET failures = auth_address_failures.failures + 1
    ), email_failed AS (
        INSERT INTO auth_email_failures (email_normalized, day, failures)
        SELECT attempt.email_normalized, bucket.day, 1 FROM attempt, bucket, known
        WHERE NOT attempt.matched AND NOT known.known
        ON CONFLICT (email_normalized, day)
            DO UPDATE SET failures = auth_email_failures.failures + 1
        RETURNING failures
    )
    SELECT guard.by_network, guard.by_email,
           bucket.start + $5::interval - now() AS network_retry_after,
           (bucket.day + 1)::timestamp AT TIME ZONE 'UTC' - now() AS email_retry_after,
           (SELECT failures FROM email_failed) AS email_failures,
           attempt.email IS NOT NULL AS live, attempt.*,
           (SELECT c.consumed_at IS NULL AND c.attempts >= c.max_attempts
            FROM auth_challenges c WHERE c.id = $1) AS exhausted
    FROM guard, bucket LEFT JOIN attempt ON true
"""


async def attempt_code(
    conn: Connection,
    *,
    challenge_id: UUID,
    code_hash: bytes,
    network: str | None,
    address_limit: int,
    window: timedelta,
    email_limit: int,
) -> CodeAttempt:
    """Count one guess, in one statement: on the challenge and, when wrong, on the network
    and (from a network the email has not signed in from) on the email's day.

    A network past `address_limit` wrong guesses in the current window, or a stranger's
    guess at an email past `email_limit` wrong guesses today, is refused before it is even
    looked at. A challenge that is unknown, expired, used or out of attempts is not live.
    """
    row = await conn.fetchrow(
        _ATTEMPT_CODE,
        challenge_id,
        code_hash,
        network,
        address_limit,
        window,
        email_limit,
    )
    assert row is not None
    retry_after = None
    if row["by_email"]:
        retry_after = row["email_retry_after"]
    elif row["by_network"]:
        retry_after = row["network_retry_after"]
    return CodeAttempt(
        throttled=bool(row["by_network"] or row["by_email"]),
        retry_after=retry_after,
        live=bool(row["live"]),
        matched=bool(row["matched"]),
        attempts_left=int(row["attempts_left"] or 0),
        exhausted=bool(row["exhausted"]),
        email=row["email"],
        email_normalized=row["email_normalized"],
        email_failures=row["email_failures"],
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
    conn: Connection, *, email_normalized: str, network: str | None
) -> None:
    """Serialise code requests per email and per network until this transaction ends, so a
    limit is counted and then kept (check-then-insert is otherwise a race).

    Taken in one fixed order (email, then network) so that two requests never deadlock.
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
        network,
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
        ), email_failures AS (
            DELETE FROM auth_email_failures
            WHERE day < ((now() - $1::interval) AT TIME ZONE 'UTC')::date RETURNING 1
        ), networks AS (
            DELETE FROM auth_known_networks WHERE last_signed_in_at < now() - $2::interval
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM challenges) + (SELECT count(*) FROM failures)
               + (SELECT count(*) FROM email_failures) + (SELECT count(*) FROM networks)
        """,
        keep,
        KNOWN_NETWORK_KEPT,
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


async def live_sessions_of(
    conn: Connection,
    user_id: UUID,
    *,
    after: tuple[datetime, UUID] | None = None,
    limit: int | None = None,
) -> list[Session]:
    """A user's live sessions, newest first: every one, or a page after a keyset cursor."""
    rows = await conn.fetch(
        f"""
        SELECT {_SESSION_COLUMNS} FROM sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
        ORDER BY created_at DESC, id DESC
        LIMIT $4
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
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
