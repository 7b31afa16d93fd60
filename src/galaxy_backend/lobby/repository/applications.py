"""SQL of game applications."""

from datetime import datetime
from uuid import UUID

from galaxy_backend.lobby.models import Application
from galaxy_backend.lobby.repository.rows import (
    APPLICATION_COLUMNS,
    GAMES,
    to_application,
)
from galaxy_backend.postgres import Connection, Tx

# --- applications -----------------------------------------------------------------------


async def insert_application(
    tx: Tx, application_id: UUID, game_id: UUID, user_id: UUID, race_name: str
) -> Application | None:
    """None when the player already has a live application to this game (an application
    alone leaves the game as it is: counted when it is decided)."""
    row = await tx.conn.fetchrow(
        f"""
        INSERT INTO game_applications (id, game_id, user_id, race_name, status)
        VALUES ($1, $2, $3, $4, 'pending')
        ON CONFLICT (game_id, user_id) WHERE status IN ('pending', 'approved') DO NOTHING
        RETURNING {APPLICATION_COLUMNS}
        """,
        application_id,
        game_id,
        user_id,
        race_name,
    )
    return to_application(row) if row else None


async def get_application(
    conn: Connection, application_id: UUID, *, lock: bool = False
) -> Application | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {APPLICATION_COLUMNS} FROM game_applications WHERE id = $1{suffix}",
        application_id,
    )
    return to_application(row) if row else None


async def live_application_of(
    conn: Connection, game_id: UUID, user_id: UUID, *, lock: bool = False
) -> Application | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"""
        SELECT {APPLICATION_COLUMNS} FROM game_applications
        WHERE game_id = $1 AND user_id = $2 AND status IN ('pending', 'approved'){suffix}
        """,
        game_id,
        user_id,
    )
    return to_application(row) if row else None


async def set_application_status(tx: Tx, application_id: UUID, status: str) -> Application:
    row = await tx.conn.fetchrow(
        f"""
        UPDATE game_applications SET status = $2, decided_at = now(), updated_at = now()
        WHERE id = $1
        RETURNING {APPLICATION_COLUMNS}
        """,
        application_id,
        status,
    )
    assert row is not None
    application = to_application(row)
    tx.changed(GAMES, application.game_id)
    return application


async def applications_of_game(
    conn: Connection,
    game_id: UUID,
    *,
    user_id: UUID | None = None,
    after: tuple[datetime, UUID] | None = None,
    limit: int | None = None,
) -> list[Application]:
    """Oldest first; only `user_id`'s when given."""
    rows = await conn.fetch(
        f"""
        SELECT {APPLICATION_COLUMNS} FROM game_applications
        WHERE game_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4))
        ORDER BY created_at, id
        LIMIT $5
        """,
        game_id,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_application(row) for row in rows]


async def close_applications(
    tx: Tx, game_id: UUID, from_status: str, to_status: str
) -> list[Application]:
    tx.changed(GAMES, game_id)
    rows = await tx.conn.fetch(
        f"""
        UPDATE game_applications SET status = $3, decided_at = now(), updated_at = now()
        WHERE game_id = $1 AND status = $2
        RETURNING {APPLICATION_COLUMNS}
        """,
        game_id,
        from_status,
        to_status,
    )
    return [to_application(row) for row in rows]
