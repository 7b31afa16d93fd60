"""SQL of the Race Name Directory."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from galaxy_backend.lobby.models import RaceName
from galaxy_backend.lobby.repository.rows import (
    NAMES,
    RACE_NAME_COLUMNS,
    to_race_name,
)
from galaxy_backend.postgres import Connection, Tx

# --- race names -------------------------------------------------------------------------


async def claim_race_name(
    tx: Tx,
    *,
    entry_id: UUID,
    name: str,
    canonical: str,
    skeleton: str,
    user_id: UUID,
    game_id: UUID,
    application_id: UUID,
) -> RaceName | None:
    """A `pending_registration` entry; None when a live entry has either form."""
    row = await tx.conn.fetchrow(
        f"""
        INSERT INTO race_names
            (id, name, canonical, skeleton, status, user_id, game_id, application_id)
        VALUES ($1, $2, $3, $4, 'pending_registration', $5, $6, $7)
        ON CONFLICT DO NOTHING
        RETURNING {RACE_NAME_COLUMNS}
        """,
        entry_id,
        name,
        canonical,
        skeleton,
        user_id,
        game_id,
        application_id,
    )
    return _name_changed(tx, to_race_name(row)) if row else None


async def live_race_name(
    conn: Connection, *, canonical: str | None = None, skeleton: str | None = None
) -> RaceName | None:
    row = await conn.fetchrow(
        f"""
        SELECT {RACE_NAME_COLUMNS} FROM race_names
        WHERE status <> 'released' AND (canonical = $1 OR skeleton = $2)
        LIMIT 1
        """,
        canonical,
        skeleton,
    )
    return to_race_name(row) if row else None


async def reserve_race_name(tx: Tx, application_id: UUID) -> RaceName | None:
    row = await tx.conn.fetchrow(
        f"""
        UPDATE race_names SET status = 'reserved', reserved_at = now()
        WHERE application_id = $1 AND status = 'pending_registration'
        RETURNING {RACE_NAME_COLUMNS}
        """,
        application_id,
    )
    return _name_changed(tx, to_race_name(row)) if row else None


async def release_race_names(
    tx: Tx, application_ids: Sequence[UUID], reason: str
) -> list[RaceName]:
    if not application_ids:
        return []
    rows = await tx.conn.fetch(
        f"""
        UPDATE race_names SET status = 'released', released_at = now(), release_reason = $2
        WHERE application_id = ANY($1::uuid[]) AND status <> 'released'
        RETURNING {RACE_NAME_COLUMNS}
        """,
        list(application_ids),
        reason,
    )
    return [_name_changed(tx, to_race_name(row)) for row in rows]


def _name_changed(tx: Tx, entry: RaceName) -> RaceName:
    tx.changed(NAMES, entry.id, entry)
    return entry


async def get_race_name(conn: Connection, entry_id: UUID, *, lock: bool = False) -> RaceName | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {RACE_NAME_COLUMNS} FROM race_names WHERE id = $1{suffix}", entry_id
    )
    return to_race_name(row) if row else None


async def race_names_of_user(
    conn: Connection,
    user_id: UUID,
    *,
    after: tuple[datetime, UUID] | None = None,
    limit: int | None = None,
) -> list[RaceName]:
    """The names a user holds, newest first: every one, or a page after a keyset cursor."""
    rows = await conn.fetch(
        f"""
        SELECT {RACE_NAME_COLUMNS} FROM race_names
        WHERE user_id = $1 AND status <> 'released'
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
        ORDER BY created_at DESC, id DESC
        LIMIT $4
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_race_name(row) for row in rows]


async def recent_race_names(conn: Connection, limit: int) -> list[RaceName]:
    rows = await conn.fetch(
        f"""
        SELECT {RACE_NAME_COLUMNS} FROM race_names WHERE status <> 'released'
        ORDER BY created_at DESC LIMIT $1
        """,
        limit,
    )
    return [to_race_name(row) for row in rows]


async def expired_registrations(
    conn: Connection, ttl: timedelta, now: datetime, limit: int
) -> list[RaceName]:
    """Pending registrations older than `ttl` (the sweeper locks each as it expires it)."""
    rows = await conn.fetch(
        f"""
        SELECT {RACE_NAME_COLUMNS} FROM race_names
        WHERE status = 'pending_registration' AND created_at <= $1
        ORDER BY created_at
        LIMIT $2
        """,
        now - ttl,
        limit,
    )
    return [to_race_name(row) for row in rows]
