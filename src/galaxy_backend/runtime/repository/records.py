"""SQL of runtime records: one per started game, and the console's overview of them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from galaxy_backend.postgres import Connection
from galaxy_backend.runtime.models import (
    EnginePlayer,
    RuntimeRecord,
)
from galaxy_backend.runtime.repository.rows import to_record


async def insert_record(
    conn: Connection,
    *,
    game_id: UUID,
    game_name: str,
    owner_id: UUID,
    players: Sequence[EnginePlayer],
    seed: int,
    settings: dict[str, Any],
    engine_version: str,
    image: str,
    driver: str,
    turn_schedule: str,
    turn_time_zone: str,
    run_when_all_orders_in: bool,
) -> RuntimeRecord | None:
    """A new record, in 'starting'; None when the game already has one."""
    row = await conn.fetchrow(
        """
        INSERT INTO runtime_records
            (game_id, owner_id, players, seed, settings, engine_version, image, driver,
             turn_schedule, turn_time_zone, run_when_all_orders_in, game_name)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT (game_id) DO NOTHING
        RETURNING *
        """,
        game_id,
        owner_id,
        [{"player_id": str(p.player_id), "race_name": p.race_name} for p in players],
        seed,
        settings,
        engine_version,
        image,
        driver,
        turn_schedule,
        turn_time_zone,
        run_when_all_orders_in,
        game_name,
    )
    return to_record(row) if row else None


async def get_record(
    conn: Connection, game_id: UUID, *, lock: bool = False
) -> RuntimeRecord | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT * FROM runtime_records WHERE game_id = $1{suffix}", game_id)
    return to_record(row) if row else None


_UPDATABLE = frozenset(
    {
        "handle",
        "address",
        "status",
        "current_turn",
        "next_tick_at",
        "skip_next_tick",
        "turn_requested",
        "health_failures",
        "restarts",
        "last_health_at",
        "last_error",
        "final_ranking",
        "winner",
        "reported_status",
        "finished_at",
        "tick_token",
        "tick_until",
        "slot_taken",
        "waiting_since",
    }
)


async def update_record(conn: Connection, game_id: UUID, **changes: Any) -> RuntimeRecord:
    """Set the given columns (names from code, never from input), not the status: that is
    `set_record_status`'s, for `RuntimeService.transition` alone."""
    if "status" in changes:
        raise ValueError("a record's status changes through RuntimeService.transition")
    return await _update(conn, game_id, **changes)


async def set_record_status(
    conn: Connection, game_id: UUID, status: str, **changes: Any
) -> RuntimeRecord:
    return await _update(conn, game_id, status=status, **changes)


async def _update(conn: Connection, game_id: UUID, **changes: Any) -> RuntimeRecord:
    names = list(changes)
    if not set(names) <= _UPDATABLE:
        raise ValueError(f"not updatable: {sorted(set(names) - _UPDATABLE)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    row = await conn.fetchrow(
        f"UPDATE runtime_records SET {assignments}, updated_at = now()"
        " WHERE game_id = $1 RETURNING *",
        game_id,
        *changes.values(),
    )
    assert row is not None, f"no runtime record for {game_id}"
    return to_record(row)


async def mark_reported(conn: Connection, game_id: UUID, status: str) -> None:
    """The lobby has taken the record's `status` (unless it changed meanwhile)."""
    await conn.execute(
        "UPDATE runtime_records SET reported_status = $2 WHERE game_id = $1 AND status = $2",
        game_id,
        status,
    )


async def count_by_status(conn: Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM runtime_records GROUP BY 1")
    return {r["status"]: int(r["n"]) for r in rows}


async def records(
    conn: Connection, *, status: str | None, after: UUID | None, limit: int
) -> list[RuntimeRecord]:
    rows = await conn.fetch(
        """
        SELECT * FROM runtime_records
        WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR game_id > $2)
        ORDER BY game_id LIMIT $3
        """,
        status,
        after,
        limit,
    )
    return [to_record(r) for r in rows]


async def live_records(conn: Connection) -> list[RuntimeRecord]:
    rows = await conn.fetch(
        "SELECT * FROM runtime_records WHERE status IN ('starting', 'running', 'paused')"
    )
    return [to_record(r) for r in rows]


async def unreported(conn: Connection) -> list[RuntimeRecord]:
    """Records whose last status the lobby has not acknowledged yet."""
    rows = await conn.fetch(
        "SELECT * FROM runtime_records WHERE reported_status IS DISTINCT FROM status"
        " AND status <> 'starting'"
    )
    return [to_record(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Overview:
    """The runtime at a glance: records by status, the job queue, the turn schedule's lag."""

    records: dict[str, int]
    engines_running: int
    jobs_queued: int
    jobs_running: int
    # Running games whose scheduled turn is due and not run yet, and the oldest one's due time.
    ticks_due: int
    oldest_due_at: datetime | None
    now: datetime


async def overview(conn: Connection, *, cap: int) -> Overview:
    """One statement: records are one per game (kept a while after the game ends), jobs and
    due ticks are read from their partial indexes and counted up to `cap`."""
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb) FROM (
              SELECT status, count(*) AS n FROM runtime_records GROUP BY status) s) AS records,
          (SELECT count(*) FROM runtime_records
           WHERE status IN ('running', 'paused')
              OR (status = 'starting' AND slot_taken)) AS engines_running,
          (SELECT count(*) FROM (SELECT 1 FROM runtime_jobs
                                 WHERE status = 'queued' LIMIT $1) q) AS jobs_queued,
          (SELECT count(*) FROM (SELECT 1 FROM runtime_jobs
                                 WHERE status = 'running' LIMIT $1) q) AS jobs_running,
          (SELECT count(*) FROM (SELECT 1 FROM runtime_records
                                 WHERE status = 'running' AND next_tick_at <= now()
                                 LIMIT $1) q) AS ticks_due,
          (SELECT min(next_tick_at) FROM runtime_records
           WHERE status = 'running' AND next_tick_at <= now()) AS oldest_due_at,
          now() AS now
        """,
        cap,
    )
    assert row is not None
    return Overview(
        records={str(k): int(v) for k, v in row["records"].items()},
        engines_running=int(row["engines_running"]),
        jobs_queued=int(row["jobs_queued"]),
        jobs_running=int(row["jobs_running"]),
        ticks_due=int(row["ticks_due"]),
        oldest_due_at=row["oldest_due_at"],
        now=row["now"],
    )
