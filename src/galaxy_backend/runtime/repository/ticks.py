"""SQL of the turn schedule: due ticks, their leases, turns requested and run; and the
advisory locks one backend takes for a round."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.postgres import Connection
from galaxy_backend.runtime.models import (
    RuntimeRecord,
)
from galaxy_backend.runtime.repository.rows import to_record


async def due_ticks(conn: Connection, *, limit: int) -> list[tuple[UUID, datetime]]:
    """Running games whose tick is due (or whose turn is requested now)."""
    rows = await conn.fetch(
        """
        SELECT game_id, CASE WHEN turn_requested IS NOT NULL THEN now() ELSE next_tick_at END
               AS due
        FROM runtime_records
        WHERE status = 'running' AND (tick_until IS NULL OR tick_until < now())
          AND (turn_requested IS NOT NULL OR next_tick_at <= now())
        ORDER BY due LIMIT $1
        """,
        limit,
    )
    return [(r["game_id"], r["due"]) for r in rows]


async def claim_tick(
    conn: Connection, *, game_id: UUID, token: UUID, lease: timedelta
) -> RuntimeRecord | None:
    """Take the game's due tick (one backend only: the row is locked and leased)."""
    row = await conn.fetchrow(
        """
        UPDATE runtime_records SET tick_token = $2, tick_until = now() + $3::interval
        WHERE game_id = (
            SELECT game_id FROM runtime_records
            WHERE game_id = $1 AND status = 'running'
              AND (tick_until IS NULL OR tick_until < now())
              AND (turn_requested IS NOT NULL OR next_tick_at <= now())
            FOR UPDATE SKIP LOCKED
        )
        RETURNING *
        """,
        game_id,
        token,
        lease,
    )
    return to_record(row) if row else None


async def request_turn(
    conn: Connection, game_id: UUID, trigger: str, *, replace: bool, by_owner: bool = False
) -> bool:
    """Ask for a running game's next turn now; unless `replace`, only if none is asked.
    `by_owner` starts the owner's cooldown."""
    requested = await conn.fetchval(
        """
        UPDATE runtime_records
        SET turn_requested = $2, updated_at = now(),
            owner_forced_at = CASE WHEN $4 THEN now() ELSE owner_forced_at END
        WHERE game_id = $1 AND status = 'running' AND ($3 OR turn_requested IS NULL)
        RETURNING true
        """,
        game_id,
        trigger,
        replace,
        by_owner,
    )
    return bool(requested)


async def owner_force_wait(
    conn: Connection, game_id: UUID, *, cooldown: timedelta
) -> timedelta | None:
    """How long the owner must still wait to force a turn (the row is locked until the
    transaction ends, so two requests at once cannot both pass); None when they may."""
    wait: timedelta | None = await conn.fetchval(
        """
        SELECT CASE WHEN owner_forced_at + $2::interval > now()
                    THEN owner_forced_at + $2::interval - now() END
        FROM runtime_records WHERE game_id = $1
        FOR UPDATE
        """,
        game_id,
        cooldown,
    )
    return wait


async def fail_tick(
    conn: Connection, *, game_id: UUID, token: UUID, backoff: timedelta, error: str
) -> None:
    """Hand a failed tick back: the game's next try waits `backoff`."""
    await conn.execute(
        "UPDATE runtime_records SET tick_token = NULL,"
        " tick_until = now() + $3::interval, last_error = $4"
        " WHERE game_id = $1 AND tick_token = $2",
        game_id,
        token,
        backoff,
        error,
    )


async def insert_turn(
    conn: Connection,
    *,
    game_id: UUID,
    turn: int,
    trigger: str,
    scheduled_at: datetime | None,
    started_at: datetime,
    finished: bool,
) -> bool:
    """Log a turn run; False if that turn was logged already (it ran once)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO runtime_turns (game_id, turn, trigger, scheduled_at, started_at, finished)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (game_id, turn) DO NOTHING
        RETURNING true
        """,
        game_id,
        turn,
        trigger,
        scheduled_at,
        started_at,
        finished,
    )
    return bool(inserted)


async def turns(conn: Connection, game_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT turn, trigger, scheduled_at, started_at, finished_at FROM runtime_turns"
        " WHERE game_id = $1 ORDER BY turn",
        game_id,
    )
    return [dict(r) for r in rows]


async def try_advisory_lock(conn: Connection, key: int) -> bool:
    """A session lock on `key` (held until `advisory_unlock` on the same connection)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))


async def advisory_unlock(conn: Connection, key: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", key)


async def turns_page(
    conn: Connection, game_id: UUID, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """A game's turns, the newest first, before turn `before` when given."""
    rows = await conn.fetch(
        """
        SELECT turn, trigger, scheduled_at, started_at, finished_at FROM runtime_turns
        WHERE game_id = $1 AND ($2::integer IS NULL OR turn < $2)
        ORDER BY turn DESC
        LIMIT $3
        """,
        game_id,
        before,
        limit,
    )
    return [dict(r) for r in rows]
