"""SQL for operator accounts and their sessions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from galaxy_backend.admin.models import AdminAccount, AdminSession
from galaxy_backend.postgres import Connection

_ACCOUNT_COLUMNS = """
    id, username, role, created_at, last_login_at, disabled_at
"""


def to_account(row: asyncpg.Record) -> AdminAccount:
    return AdminAccount(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        created_at=row["created_at"],
        last_login_at=row["last_login_at"],
        disabled_at=row["disabled_at"],
    )


def to_session(row: asyncpg.Record) -> AdminSession:
    return AdminSession(
        id=row["id"],
        admin_id=row["admin_id"],
        username=row["username"],
        role=row["role"],
        token_hash=bytes(row["token_hash"]),
        expires_at=row["expires_at"],
    )


async def any_admin(conn: Connection) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM admin_accounts)"))


async def insert_account(
    conn: Connection, *, admin_id: UUID, username: str, password_hash: str, role: str
) -> AdminAccount:
    row = await conn.fetchrow(
        f"""
        INSERT INTO admin_accounts (id, username, username_normalized, password_hash, role)
        VALUES ($1, $2, lower($2), $3, $4)
        RETURNING {_ACCOUNT_COLUMNS}
        """,
        admin_id,
        username,
        password_hash,
        role,
    )
    assert row is not None
    return to_account(row)


async def accounts(
    conn: Connection, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[AdminAccount]:
    """Operators, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_ACCOUNT_COLUMNS} FROM admin_accounts
        WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2)
        ORDER BY created_at DESC, id DESC LIMIT $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_account(row) for row in rows]


async def lock_accounts(conn: Connection) -> list[AdminAccount]:
    """Every operator, locked until the transaction ends: changes that could leave no
    enabled admin are decided one at a time."""
    rows = await conn.fetch(f"SELECT {_ACCOUNT_COLUMNS} FROM admin_accounts ORDER BY id FOR UPDATE")
    return [to_account(row) for row in rows]


async def account_by_username(conn: Connection, username: str) -> AdminAccount | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM admin_accounts WHERE username_normalized = lower($1)",
        username,
    )
    return to_account(row) if row else None


async def update_account(
    conn: Connection,
    admin_id: UUID,
    *,
    disabled: bool | None = None,
    role: str | None = None,
    password_hash: str | None = None,
) -> AdminAccount:
    """Change what is given (None keeps it)."""
    row = await conn.fetchrow(
        f"""
        UPDATE admin_accounts
        SET disabled_at = CASE WHEN $2::boolean IS NULL THEN disabled_at
                               WHEN $2 THEN coalesce(disabled_at, now()) END,
            role = coalesce($3, role),
            password_hash = coalesce($4, password_hash)
        WHERE id = $1
        RETURNING {_ACCOUNT_COLUMNS}
        """,
        admin_id,
        disabled,
        role,
        password_hash,
    )
    assert row is not None
    return to_account(row)


async def revoke_sessions_of(
    conn: Connection, admin_id: UUID, *, keep: UUID | None = None
) -> list[bytes]:
    """End every live session of the operator (but `keep`); their token hashes."""
    rows = await conn.fetch(
        """
        UPDATE admin_sessions SET revoked_at = now()
        WHERE admin_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
        RETURNING token_hash
        """,
        admin_id,
        keep,
    )
    return [bytes(row["token_hash"]) for row in rows]


async def live_session_hashes_of(conn: Connection, admin_id: UUID) -> list[bytes]:
    rows = await conn.fetch(
        "SELECT token_hash FROM admin_sessions"
        " WHERE admin_id = $1 AND revoked_at IS NULL AND expires_at > now()",
        admin_id,
    )
    return [bytes(row["token_hash"]) for row in rows]


async def account_for_login(conn: Connection, username: str) -> tuple[AdminAccount, str] | None:
    """The account and its password hash."""
    row = await conn.fetchrow(
        f"""
        SELECT {_ACCOUNT_COLUMNS}, password_hash FROM admin_accounts
        WHERE username_normalized = lower($1)
        """,
        username,
    )
    return (to_account(row), row["password_hash"]) if row else None


# Failures of the address as a whole are kept under this username.
ANY_USERNAME = ""


@dataclass(frozen=True, slots=True)
class LoginStanding:
    """What a network's past says about a login from it."""

    # A lock on the network, or on the username tried from it, and its end.
    locked_until: datetime | None
    # It failed a login (any username) within the lockout window.
    failed: bool
    # An operator signed in from it within KNOWN_NETWORK_DAYS.
    known: bool


KNOWN_NETWORK_DAYS = 90


async def login_standing(
    conn: Connection, *, network: str, username: str, window: timedelta
) -> LoginStanding:
    row = await conn.fetchrow(
        """
        SELECT
            (SELECT max(locked_until) FROM admin_login_failures
             WHERE client_ip = $1::inet AND username_normalized IN ($2, lower($3))
               AND locked_until > now()) AS locked_until,
            EXISTS (SELECT 1 FROM admin_login_failures
                    WHERE client_ip = $1::inet AND username_normalized = $2
                      AND last_failure_at > now() - $4::interval) AS failed,
            EXISTS (SELECT 1 FROM admin_sessions
                    WHERE client_ip <<= $1::inet
                      AND created_at > now() - make_interval(days => $5)) AS known
        """,
        network,
        ANY_USERNAME,
        username,
        window,
        KNOWN_NETWORK_DAYS,
    )
    assert row is not None
    return LoginStanding(
        locked_until=row["locked_until"], failed=bool(row["failed"]), known=bool(row["known"])
    )


async def record_login_failure(
    conn: Connection,
    *,
    client_ip: str,
    username: str,
    pair_threshold: int,
    address_threshold: int,
    lockout: timedelta,
) -> None:
    """Count a failed login for the address and for (address, username), in one statement;
    failures older than `lockout` are forgotten, and reaching a threshold locks that key."""
    await conn.execute(
        """
        INSERT INTO admin_login_failures AS f
            (client_ip, username_normalized, failures, last_failure_at, locked_until)
        SELECT $1::inet, k.name, 1, now(),
               CASE WHEN k.threshold <= 1 THEN now() + $5::interval END
        FROM (VALUES ($2, $6::int), (lower($3), $4::int)) AS k(name, threshold)
        ON CONFLICT (client_ip, username_normalized) DO UPDATE
        SET failures = CASE WHEN f.last_failure_at < now() - $5::interval THEN 1
                            ELSE f.failures + 1 END,
            last_failure_at = now(),
            locked_until = CASE
                WHEN (CASE WHEN f.last_failure_at < now() - $5::interval THEN 1
                           ELSE f.failures + 1 END)
                     >= (CASE WHEN f.username_normalized = $2 THEN $6::int ELSE $4::int END)
                THEN now() + $5::interval
                ELSE f.locked_until END
        """,
        client_ip,
        ANY_USERNAME,
        username,
        pair_threshold,
        lockout,
        address_threshold,
    )


async def clear_login_failures(conn: Connection, *, client_ip: str, username: str) -> None:
    """A good password from this address forgets its failures for that username only (the
    address's own count stays, or one known account would reset a guesser's budget)."""
    await conn.execute(
        "DELETE FROM admin_login_failures WHERE client_ip = $1::inet"
        " AND username_normalized = lower($2)",
        client_ip,
        username,
    )


async def record_login(conn: Connection, admin_id: UUID, new_hash: str | None) -> None:
    await conn.execute(
        """
        UPDATE admin_accounts
        SET last_login_at = now(), password_hash = coalesce($2, password_hash)
        WHERE id = $1
        """,
        admin_id,
        new_hash,
    )


async def prune_login_failures(conn: Connection, *, keep: timedelta) -> int:
    deleted = await conn.fetchval(
        """
        WITH gone AS (
            DELETE FROM admin_login_failures
            WHERE last_failure_at < now() - $1::interval
              AND (locked_until IS NULL OR locked_until < now())
            RETURNING 1
        )
        SELECT count(*) FROM gone
        """,
        keep,
    )
    return int(deleted or 0)


async def insert_session(
    conn: Connection,
    *,
    session_id: UUID,
    admin_id: UUID,
    token_hash: bytes,
    client_ip: str | None,
    user_agent: str | None,
    ttl: timedelta,
) -> AdminSession:
    row = await conn.fetchrow(
        """
        WITH inserted AS (
            INSERT INTO admin_sessions
                (id, admin_id, token_hash, client_ip, user_agent, expires_at)
            VALUES ($1, $2, $3, $4::inet, $5, now() + $6::interval)
            RETURNING id, admin_id, token_hash, expires_at
        )
        SELECT inserted.*, a.username, a.role
        FROM inserted JOIN admin_accounts a ON a.id = inserted.admin_id
        """,
        session_id,
        admin_id,
        token_hash,
        client_ip,
        user_agent,
        ttl,
    )
    assert row is not None
    return to_session(row)


_LIVE_SESSIONS = """
    SELECT s.id, s.admin_id, s.token_hash, s.expires_at, a.username, a.role
    FROM admin_sessions s JOIN admin_accounts a ON a.id = s.admin_id
    WHERE s.revoked_at IS NULL AND s.expires_at > now() AND a.disabled_at IS NULL
"""


async def live_session_by_hash(conn: Connection, token_hash: bytes) -> AdminSession | None:
    row = await conn.fetchrow(_LIVE_SESSIONS + " AND s.token_hash = $1", token_hash)
    return to_session(row) if row else None


async def recent_live_sessions(conn: Connection, limit: int) -> list[AdminSession]:
    rows = await conn.fetch(_LIVE_SESSIONS + " ORDER BY s.created_at DESC LIMIT $1", limit)
    return [to_session(row) for row in rows]


async def revoke_session(conn: Connection, session_id: UUID) -> bytes | None:
    value = await conn.fetchval(
        """
        UPDATE admin_sessions SET revoked_at = now()
        WHERE id = $1 AND revoked_at IS NULL
        RETURNING token_hash
        """,
        session_id,
    )
    return bytes(value) if value is not None else None
