"""SQL for players; every function takes a connection and returns `User` values."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from galaxy_backend.postgres import Connection
from galaxy_backend.user.models import Block, User

COLUMNS = """
    id, email, display_name, language, time_zone, country, tier, max_owned_games,
    max_active_games, block_kind, block_reason, blocked_until, blocked_at, created_at,
    updated_at, last_sign_in_at, deleted_at
"""


_UPDATABLE = frozenset(
    {"display_name", "language", "time_zone", "tier", "max_owned_games", "max_active_games"}
)


def to_user(row: asyncpg.Record) -> User:
    block = None
    if row["block_kind"] is not None:
        block = Block(
            kind=row["block_kind"],
            reason=row["block_reason"] or "",
            until=row["blocked_until"],
            since=row["blocked_at"],
        )
    return User(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        language=row["language"],
        time_zone=row["time_zone"],
        country=row["country"],
        tier=row["tier"],
        max_owned_games=row["max_owned_games"],
        max_active_games=row["max_active_games"],
        block=block,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_sign_in_at=row["last_sign_in_at"],
        deleted_at=row["deleted_at"],
    )


async def get(conn: Connection, user_id: UUID) -> User | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM users WHERE id = $1", user_id)
    return to_user(row) if row else None


async def record_sign_in(
    conn: Connection, *, user_id: UUID, email: str, email_normalized: str, country: str | None
) -> tuple[User, bool]:
    """Find the account of this email, or create it (the first sign-in); and whether it was."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO users (id, email, email_normalized, country, last_sign_in_at)
        VALUES ($1, $2, $3, $4, now())
        ON CONFLICT (email_normalized) DO UPDATE SET last_sign_in_at = now()
        RETURNING {COLUMNS}, (xmax = 0) AS created
        """,
        user_id,
        email,
        email_normalized,
        country,
    )
    assert row is not None
    return to_user(row), bool(row["created"])


async def recent_live(conn: Connection, limit: int) -> list[User]:
    """The accounts signed in most recently: the working set a cache warms with."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM users WHERE deleted_at IS NULL
        ORDER BY last_sign_in_at DESC NULLS LAST
        LIMIT $1
        """,
        limit,
    )
    return [to_user(row) for row in rows]


async def update(conn: Connection, user_id: UUID, changes: dict[str, Any]) -> User | None:
    """Set the given columns (names come from code, never from input)."""
    names = list(changes)
    if not set(names) <= _UPDATABLE:
        raise ValueError(f"not updatable: {sorted(set(names) - _UPDATABLE)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    row = await conn.fetchrow(
        f"""
        UPDATE users SET {assignments}, updated_at = now()
        WHERE id = $1 AND deleted_at IS NULL
        RETURNING {COLUMNS}
        """,
        user_id,
        *changes.values(),
    )
    return to_user(row) if row else None


async def set_block(
    conn: Connection,
    user_id: UUID,
    *,
    kind: str | None,
    reason: str | None,
    until: datetime | None,
) -> User | None:
    row = await conn.fetchrow(
        f"""
        UPDATE users
        SET block_kind = $2, block_reason = $3, blocked_until = $4,
            blocked_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END,
            updated_at = now()
        WHERE id = $1 AND deleted_at IS NULL
        RETURNING {COLUMNS}
        """,
        user_id,
        kind,
        reason,
        until,
    )
    return to_user(row) if row else None


async def anonymize(conn: Connection, user_id: UUID) -> User | None:
    """Remove personal data; the row stays so that games keep a consistent history."""
    row = await conn.fetchrow(
        f"""
        UPDATE users
        SET email = 'deleted-' || id || '@deleted.invalid',
            email_normalized = 'deleted-' || id || '@deleted.invalid',
            display_name = '', country = NULL, time_zone = 'UTC',
            deleted_at = now(), updated_at = now()
        WHERE id = $1 AND deleted_at IS NULL
        RETURNING {COLUMNS}
        """,
        user_id,
    )
    return to_user(row) if row else None


async def search(
    conn: Connection,
    *,
    query: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> Sequence[User]:
    """Newest first, keyset-paginated on (created_at, id); `query` matches email or name."""
    pattern = None
    if query:
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM users
        WHERE ($1::text IS NULL OR email_normalized LIKE $1 OR lower(display_name) LIKE $1)
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
        ORDER BY created_at DESC, id DESC
        LIMIT $4
        """,
        pattern,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_user(row) for row in rows]
