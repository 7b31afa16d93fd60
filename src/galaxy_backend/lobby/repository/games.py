"""SQL of games."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from galaxy_backend.lobby.models import Game
from galaxy_backend.lobby.repository.rows import (
    GAME_COLUMNS,
    GAME_WITH_PLAYERS,
    GAMES,
    PLAYERS,
    UPDATABLE,
    to_game,
)
from galaxy_backend.postgres import Connection, Tx

# --- games ------------------------------------------------------------------------------


async def lock_user(conn: Connection, user_id: UUID) -> None:
    """Serialise, until this transaction ends, the changes that count a player's games."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('lobby.user:' || $1::uuid::text, 0))",
        user_id,
    )


async def insert_game(tx: Tx, game_id: UUID, owner_id: UUID, fields: Mapping[str, Any]) -> Game:
    names = list(fields)
    if not set(names) <= UPDATABLE:
        raise ValueError(f"not settable: {sorted(set(names) - UPDATABLE)}")
    columns = ", ".join(["id", "owner_id", "status", *names])
    values = ", ".join(f"${i}" for i in range(1, len(names) + 4))
    tx.changed(GAMES, game_id)
    row = await tx.conn.fetchrow(
        f"""
        WITH g AS (
            INSERT INTO games ({columns}) VALUES ({values}) RETURNING *
        )
        SELECT {GAME_COLUMNS} FROM g
        """,
        game_id,
        owner_id,
        "enrollment_open",
        *fields.values(),
    )
    assert row is not None
    return to_game(row, ())


async def get_game(conn: Connection, game_id: UUID, *, lock: bool = False) -> Game | None:
    """The game with its players; `lock` holds its row until the transaction ends."""
    suffix = " FOR UPDATE OF g" if lock else ""
    row = await conn.fetchrow(f"{GAME_WITH_PLAYERS} WHERE g.id = $1{suffix}", game_id)
    return to_game(row) if row else None


async def share_game(conn: Connection, game_id: UUID) -> Game | None:
    """The game, its row held against status changes (not against other applicants)."""
    row = await conn.fetchrow(
        f"SELECT {GAME_COLUMNS} FROM games g WHERE g.id = $1 FOR SHARE", game_id
    )
    return to_game(row, ()) if row else None


async def games_by_ids(conn: Connection, ids: Sequence[UUID]) -> list[Game]:
    rows = await conn.fetch(f"{GAME_WITH_PLAYERS} WHERE g.id = ANY($1::uuid[])", list(ids))
    return [to_game(row) for row in rows]


async def game_by_invite(conn: Connection, invite_code: str) -> Game | None:
    row = await conn.fetchrow(f"{GAME_WITH_PLAYERS} WHERE g.invite_code = $1", invite_code)
    return to_game(row) if row else None


async def recent_games(conn: Connection, limit: int) -> list[Game]:
    """The games changed most recently: the working set the game cache warms with."""
    rows = await conn.fetch(
        f"""
        {GAME_WITH_PLAYERS}
        WHERE g.id IN (SELECT id FROM games ORDER BY updated_at DESC LIMIT $1)
        """,
        limit,
    )
    return [to_game(row) for row in rows]


async def newest_listed(conn: Connection, limit: int) -> list[Game]:
    """The newest public games that are not cancelled (the listing index), without players."""
    rows = await conn.fetch(
        f"""
        SELECT {GAME_COLUMNS} FROM games g
        WHERE g.visibility = 'public' AND g.status <> 'cancelled'
        ORDER BY g.created_at DESC, g.id DESC
        LIMIT $1
        """,
        limit,
    )
    return [to_game(row, ()) for row in rows]


def _like(text: str) -> str:
    """A LIKE pattern for `lower(column)` containing `text` (casefold would not match it: ß)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_public(
    conn: Connection,
    *,
    statuses: Sequence[str] | None,
    free_seats: bool,
    engine_version: str | None,
    query: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Game]:
    """The public listing from the table (pages the in-memory index does not hold)."""
    rows = await conn.fetch(
        f"""
        SELECT {GAME_COLUMNS} FROM games g
        WHERE g.visibility = 'public' AND g.status <> 'cancelled'
          AND ($1::text[] IS NULL OR g.status = ANY($1))
          AND (NOT $2 OR g.approved_count < g.max_players)
          AND ($3::text IS NULL OR g.engine_version = $3)
          AND ($4::text IS NULL OR lower(g.name) LIKE $4)
          AND ($5::timestamptz IS NULL OR (g.created_at, g.id) < ($5, $6))
        ORDER BY g.created_at DESC, g.id DESC
        LIMIT $7
        """,
        list(statuses) if statuses else None,
        free_seats,
        engine_version,
        _like(query) if query else None,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_game(row, ()) for row in rows]


async def search_games(
    conn: Connection,
    *,
    query: str | None,
    statuses: Sequence[str] | None,
    owner_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Game]:
    """Every game, newest first (operators): by name or id text, status, owner."""
    rows = await conn.fetch(
        f"""
        SELECT {GAME_COLUMNS} FROM games g
        WHERE ($1::text IS NULL OR lower(g.name) LIKE $1 OR g.id::text = $2)
          AND ($3::text[] IS NULL OR g.status = ANY($3))
          AND ($4::uuid IS NULL OR g.owner_id = $4)
          AND ($5::timestamptz IS NULL OR (g.created_at, g.id) < ($5, $6))
        ORDER BY g.created_at DESC, g.id DESC
        LIMIT $7
        """,
        _like(query) if query else None,
        query.strip().lower() if query else None,
        list(statuses) if statuses else None,
        owner_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_game(row, ()) for row in rows]


async def games_of_user(
    conn: Connection, user_id: UUID, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[Game]:
    """Games the player owns or plays in, or has a live application to; newest first."""
    rows = await conn.fetch(
        f"""
        {GAME_WITH_PLAYERS}
        WHERE (g.owner_id = $1 OR EXISTS (
            SELECT 1 FROM game_applications a
            WHERE a.game_id = g.id AND a.user_id = $1 AND a.status IN ('pending', 'approved')))
          AND ($2::timestamptz IS NULL OR (g.created_at, g.id) < ($2, $3))
        ORDER BY g.created_at DESC, g.id DESC
        LIMIT $4
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_game(row) for row in rows]


async def count_owned_live(conn: Connection, owner_id: UUID) -> int:
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM games
        WHERE owner_id = $1 AND status NOT IN ('finished', 'cancelled')
        """,
        owner_id,
    )
    return count


async def count_playing(conn: Connection, user_id: UUID) -> int:
    """Live games the player is approved in."""
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM game_applications a JOIN games g ON g.id = a.game_id
        WHERE a.user_id = $1 AND a.status = 'approved'
          AND g.status NOT IN ('finished', 'cancelled')
        """,
        user_id,
    )
    return count


async def update_game(tx: Tx, game_id: UUID, changes: Mapping[str, Any]) -> None:
    """Set the given columns (names come from code, never from input)."""
    names = list(changes)
    if not set(names) <= UPDATABLE:
        raise ValueError(f"not updatable: {sorted(set(names) - UPDATABLE)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    tx.changed(GAMES, game_id)
    await tx.conn.execute(
        f"""
        UPDATE games SET {assignments}, updated_at = now()
        WHERE id = $1
        """,
        game_id,
        *changes.values(),
    )


async def set_status(
    tx: Tx,
    game_id: UUID,
    status: str,
    *,
    steps: int = 1,
    cancel_reason: str | None = None,
) -> None:
    """Move the game to `status`; `steps` status changes are counted (one notice each key)."""
    tx.changed(GAMES, game_id)
    await tx.conn.execute(
        """
        UPDATE games
        SET status = $2, status_seq = status_seq + $3, updated_at = now(),
            started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now())
                              ELSE started_at END,
            finished_at = CASE WHEN $2 IN ('finished', 'cancelled') THEN now()
                               ELSE finished_at END,
            cancel_reason = coalesce($4, cancel_reason)
        WHERE id = $1
        """,
        game_id,
        status,
        steps,
        cancel_reason,
    )


async def save_runtime_report(
    tx: Tx,
    game_id: UUID,
    *,
    runtime_status: str,
    message: str | None,
    turn: int | None,
    ranking: Sequence[Mapping[str, Any]] | None,
    detail: str | None = None,
) -> None:
    tx.changed(GAMES, game_id)
    await tx.conn.execute(
        """
        UPDATE games
        SET runtime_status = $2, runtime_message = $3, runtime_updated_at = now(),
            current_turn = coalesce($4, current_turn),
            final_ranking = coalesce($5, final_ranking),
            runtime_detail = $6,
            updated_at = now()
        WHERE id = $1
        """,
        game_id,
        runtime_status,
        message,
        turn,
        list(ranking) if ranking is not None else None,
        detail,
    )


async def add_approved(tx: Tx, game_id: UUID) -> bool:
    """One more approved player, unless the game is full (the row lock makes it exact)."""
    tx.changed(GAMES, game_id)
    done = await tx.conn.fetchval(
        """
        UPDATE games SET approved_count = approved_count + 1, updated_at = now()
        WHERE id = $1 AND approved_count < max_players
        RETURNING true
        """,
        game_id,
    )
    return bool(done)


async def drop_approved(tx: Tx, game_id: UUID) -> None:
    tx.changed(GAMES, game_id)
    await tx.conn.execute(
        """
        UPDATE games SET approved_count = approved_count - 1, updated_at = now()
        WHERE id = $1
        """,
        game_id,
    )


async def touch_game(conn: Connection, game_id: UUID) -> Game:
    """Count a change (of the row or of its applications) and read the game as it now is:
    the one place `version` moves, once per transaction (the writes above only mark)."""
    row = await conn.fetchrow(
        f"""
        WITH g AS (
            UPDATE games SET updated_at = now(), version = version + 1 WHERE id = $1
            RETURNING *
        )
        SELECT {GAME_COLUMNS}, {PLAYERS} FROM g
        """,
        game_id,
    )
    assert row is not None
    return to_game(row)


async def mark_below_min_notified(conn: Connection, game_id: UUID) -> bool:
    """True for the one caller that marks it (the owner is told once)."""
    done = await conn.fetchval(
        """
        UPDATE games SET below_min_notified_at = now()
        WHERE id = $1 AND below_min_notified_at IS NULL
        RETURNING true
        """,
        game_id,
    )
    return bool(done)


async def expired_enrollments(conn: Connection, now: datetime, limit: int) -> list[UUID]:
    """Open games past their deadline that still need the sweeper."""
    rows = await conn.fetch(
        """
        SELECT id FROM games
        WHERE status = 'enrollment_open' AND enrollment_deadline <= $1
          AND (approved_count >= min_players OR below_min_notified_at IS NULL)
        ORDER BY enrollment_deadline
        LIMIT $2
        """,
        now,
        limit,
    )
    return [row["id"] for row in rows]


async def lock_game(conn: Connection, game_id: UUID) -> None:
    """Hold the game's row until the transaction ends (waiting for whoever holds it now)."""
    await conn.execute("SELECT 1 FROM games WHERE id = $1 FOR UPDATE", game_id)


async def try_lock_game(conn: Connection, game_id: UUID) -> bool:
    """Lock the game's row unless another transaction holds it (another sweeper)."""
    found = await conn.fetchval(
        "SELECT true FROM games WHERE id = $1 FOR UPDATE SKIP LOCKED", game_id
    )
    return bool(found)


async def try_lock_application(conn: Connection, application_id: UUID) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM game_applications WHERE id = $1 FOR UPDATE SKIP LOCKED",
        application_id,
    )
    return bool(found)
