"""SQL for operator accounts, their sessions, and reading the audit trail."""

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from galaxy_backend.admin.models import AdminAccount, AdminSession, AuditEntry
from galaxy_backend.postgres import Connection

_ACCOUNT_COLUMNS = """
    id, username, role, failed_logins, locked_until, created_at, last_login_at, disabled_at
"""


def to_account(row: asyncpg.Record) -> AdminAccount:
    return AdminAccount(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        failed_logins=row["failed_logins"],
        locked_until=row["locked_until"],
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


async def record_failure(
    conn: Connection, admin_id: UUID, *, threshold: int, lockout: timedelta
) -> None:
    """Count a wrong password in one statement, so parallel failures all count."""
    await conn.execute(
        """
        UPDATE admin_accounts
        SET failed_logins = failed_logins + 1,
            locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + $3::interval
                                ELSE locked_until END
        WHERE id = $1
        """,
        admin_id,
        threshold,
        lockout,
    )


async def record_success(conn: Connection, admin_id: UUID, new_hash: str | None) -> datetime | None:
    """Clear the failures unless the account is locked now; returns the lock's end if it is."""
    cleared = await conn.fetchval(
        """
        UPDATE admin_accounts
        SET failed_logins = 0, locked_until = NULL, last_login_at = now(),
            password_hash = coalesce($2, password_hash)
        WHERE id = $1 AND (locked_until IS NULL OR locked_until <= now())
        RETURNING true
        """,
        admin_id,
        new_hash,
    )
    if cleared:
        return None
    locked_until: datetime | None = await conn.fetchval(
        "SELECT locked_until FROM admin_accounts WHERE id = $1", admin_id
    )
    return locked_until


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


async def load_live_sessions(conn: Connection) -> list[AdminSession]:
    return [to_session(row) for row in await conn.fetch(_LIVE_SESSIONS)]


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


async def audit_entries(conn: Connection, *, before: int | None, limit: int) -> list[AuditEntry]:
    rows = await conn.fetch(
        """
        SELECT id, admin_username, action, target_type, target_id, details,
               host(client_ip) AS client_ip, created_at
        FROM admin_audit
        WHERE $1::bigint IS NULL OR id < $1
        ORDER BY id DESC
        LIMIT $2
        """,
        before,
        limit,
    )
    return [
        AuditEntry(
            id=row["id"],
            admin_username=row["admin_username"],
            action=row["action"],
            target_type=row["target_type"],
            target_id=row["target_id"],
            details=row["details"],
            client_ip=row["client_ip"],
            created_at=row["created_at"],
        )
        for row in rows
    ]
