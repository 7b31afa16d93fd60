"""SQL for runtime records, jobs, turns and engine versions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.postgres import Connection
from galaxy_backend.runtime.archive import KeptTurn
from galaxy_backend.runtime.models import (
    EnginePlayer,
    EngineVersion,
    Job,
    JobKind,
    RuntimeRecord,
)

CHANNEL = "galaxy_runtime_jobs"


def to_record(row: Any) -> RuntimeRecord:
    return RuntimeRecord(
        game_id=row["game_id"],
        game_name=row["game_name"],
        owner_id=row["owner_id"],
        players=tuple(
            EnginePlayer(player_id=UUID(p["player_id"]), race_name=p["race_name"])
            for p in row["players"]
        ),
        seed=row["seed"],
        settings=row["settings"],
        engine_version=row["engine_version"],
        image=row["image"],
        driver=row["driver"],
        handle=row["handle"],
        address=row["address"],
        status=row["status"],
        turn_schedule=row["turn_schedule"],
        turn_time_zone=row["turn_time_zone"],
        run_when_all_orders_in=row["run_when_all_orders_in"],
        current_turn=row["current_turn"],
        next_tick_at=row["next_tick_at"],
        skip_next_tick=row["skip_next_tick"],
        turn_requested=row["turn_requested"],
        health_failures=row["health_failures"],
        restarts=row["restarts"],
        last_health_at=row["last_health_at"],
        last_error=row["last_error"],
        final_ranking=row["final_ranking"],
        winner=row["winner"],
        reported_status=row["reported_status"],
        waiting_since=row["waiting_since"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


def to_job(row: Any) -> Job:
    return Job(
        id=row["id"],
        game_id=row["game_id"],
        kind=row["kind"],
        status=row["status"],
        attempts=row["attempts"],
        not_before=row["not_before"],
        reason=row["reason"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


# --- engine versions -------------------------------------------------------------------------


_VERSION_COLUMNS = "version, image, is_default, enabled"


def _to_version(row: Any) -> EngineVersion:
    return EngineVersion(row["version"], row["image"], row["is_default"], row["enabled"])


async def engine_versions(conn: Connection, *, enabled_only: bool = False) -> list[EngineVersion]:
    rows = await conn.fetch(
        f"SELECT {_VERSION_COLUMNS} FROM runtime_engine_versions"
        " WHERE enabled OR NOT $1 ORDER BY version",
        enabled_only,
    )
    return [_to_version(r) for r in rows]


async def get_engine_version(
    conn: Connection, version: str, *, lock: bool = False
) -> EngineVersion | None:
    row = await conn.fetchrow(
        f"SELECT {_VERSION_COLUMNS} FROM runtime_engine_versions WHERE version = $1"
        + (" FOR UPDATE" if lock else ""),
        version,
    )
    return None if row is None else _to_version(row)


async def ensure_engine_version(conn: Connection, *, version: str, image: str) -> None:
    """The bundled engine's version, with the configured image; default if none is."""
    await conn.execute(
        """
        INSERT INTO runtime_engine_versions (version, image, is_default)
        VALUES ($1, $2, NOT EXISTS (SELECT 1 FROM runtime_engine_versions WHERE is_default))
        ON CONFLICT (version) DO NOTHING
        """,
        version,
        image,
    )


async def put_engine_version(
    conn: Connection, *, version: str, image: str, is_default: bool, enabled: bool
) -> EngineVersion:
    if is_default:
        await conn.execute(
            "UPDATE runtime_engine_versions SET is_default = false, updated_at = now()"
            " WHERE is_default AND version <> $1",
            version,
        )
    row = await conn.fetchrow(
        f"""
        INSERT INTO runtime_engine_versions (version, image, is_default, enabled)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (version) DO UPDATE
        SET image = excluded.image,
            is_default = excluded.is_default OR runtime_engine_versions.is_default,
            enabled = excluded.enabled,
            updated_at = now()
        RETURNING {_VERSION_COLUMNS}
        """,
        version,
        image,
        is_default,
        enabled,
    )
    assert row is not None
    return _to_version(row)


# --- records ---------------------------------------------------------------------------------


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


# --- ticks -----------------------------------------------------------------------------------


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


# --- engine slots (BACKEND_RUNTIME_MAX_ENGINES) ------------------------------------------------

# One fixed key: slots are counted and taken one start at a time across every replica.
SLOTS_LOCK_KEY = 0x6761_6C61_7879_0003


@dataclass(frozen=True, slots=True)
class SlotAnswer:
    taken: bool
    # Starts waiting ahead of this one, and whether this one has only now begun to wait.
    ahead: int
    began_waiting: bool


async def take_engine_slot(conn: Connection, game_id: UUID, *, max_engines: int) -> SlotAnswer:
    """Admit a starting game's engine if a slot is free and no start waits ahead of it
    (first come, first served); else keep it waiting. Call inside a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", SLOTS_LOCK_KEY)
    row = await conn.fetchrow(
        """
        WITH me AS (
            SELECT game_id, coalesce(waiting_since, now()) AS since,
                   waiting_since IS NULL AS fresh
            FROM runtime_records WHERE game_id = $1 AND status = 'starting' FOR UPDATE
        ), holding AS (
            SELECT count(*) AS n FROM runtime_records
            WHERE status IN ('running', 'paused', 'stopping')
               OR (status = 'starting' AND slot_taken)
        ), ahead AS (
            SELECT count(*) AS n FROM runtime_records r, me
            WHERE r.status = 'starting' AND NOT r.slot_taken AND r.waiting_since IS NOT NULL
              AND (r.waiting_since, r.game_id) < (me.since, me.game_id)
        )
        UPDATE runtime_records r
        SET slot_taken = holding.n + ahead.n < $2,
            waiting_since = CASE WHEN holding.n + ahead.n < $2 THEN NULL ELSE me.since END,
            updated_at = now()
        FROM me, holding, ahead
        WHERE r.game_id = me.game_id
        RETURNING r.slot_taken, ahead.n AS ahead, me.fresh AS fresh
        """,
        game_id,
        max_engines,
    )
    if row is None:  # not starting any more: nothing to admit
        return SlotAnswer(taken=True, ahead=0, began_waiting=False)
    return SlotAnswer(
        taken=bool(row["slot_taken"]),
        ahead=int(row["ahead"]),
        began_waiting=bool(row["fresh"]) and not row["slot_taken"],
    )


# --- jobs ------------------------------------------------------------------------------------


async def insert_job(
    conn: Connection,
    *,
    job_id: UUID,
    game_id: UUID,
    kind: JobKind,
    reason: str | None,
    delay: timedelta = timedelta(0),
) -> Job:
    row = await conn.fetchrow(
        """
        WITH inserted AS (
            INSERT INTO runtime_jobs (id, game_id, kind, reason, not_before)
            VALUES ($1, $2, $3, $4, now() + $5::interval)
            RETURNING *
        )
        SELECT inserted.*, pg_notify($6, inserted.id::text) FROM inserted
        """,
        job_id,
        game_id,
        kind,
        reason,
        delay,
        CHANNEL,
    )
    assert row is not None
    return to_job(row)


async def due_jobs(conn: Connection, *, limit: int) -> list[UUID]:
    rows = await conn.fetch(
        """
        SELECT id FROM runtime_jobs
        WHERE (status = 'queued' AND not_before <= now())
           OR (status = 'running' AND lease_until < now())
        ORDER BY not_before LIMIT $1
        """,
        limit,
    )
    return [r["id"] for r in rows]


async def claim_job(conn: Connection, *, job_id: UUID, token: UUID, lease: timedelta) -> Job | None:
    """Lease one due job; None when it is not due or another worker holds it."""
    row = await conn.fetchrow(
        """
        UPDATE runtime_jobs
        SET status = 'running', lease_token = $2, lease_until = now() + $3::interval,
            attempts = attempts + 1, updated_at = now()
        WHERE id = (
            SELECT id FROM runtime_jobs
            WHERE id = $1
              AND ((status = 'queued' AND not_before <= now())
                   OR (status = 'running' AND lease_until < now()))
            FOR UPDATE SKIP LOCKED
        )
        RETURNING *
        """,
        job_id,
        token,
        lease,
    )
    return to_job(row) if row else None


async def renew_job(conn: Connection, *, job_id: UUID, token: UUID, lease: timedelta) -> bool:
    renewed = await conn.fetchval(
        "UPDATE runtime_jobs SET lease_until = now() + $3::interval"
        " WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING true",
        job_id,
        token,
        lease,
    )
    return bool(renewed)


async def finish_job(
    conn: Connection, *, job_id: UUID, token: UUID, status: str, error: str | None
) -> bool:
    done = await conn.fetchval(
        """
        UPDATE runtime_jobs
        SET status = $3, last_error = $4, lease_token = NULL, lease_until = NULL,
            finished_at = now(), updated_at = now()
        WHERE id = $1 AND lease_token = $2 AND status = 'running'
        RETURNING true
        """,
        job_id,
        token,
        status,
        error,
    )
    return bool(done)


async def retry_job(
    conn: Connection, *, job_id: UUID, token: UUID, delay: timedelta, error: str
) -> bool:
    done = await conn.fetchval(
        """
        UPDATE runtime_jobs
        SET status = 'queued', last_error = $4, lease_token = NULL, lease_until = NULL,
            not_before = now() + $3::interval, updated_at = now()
        WHERE id = $1 AND lease_token = $2 AND status = 'running'
        RETURNING true
        """,
        job_id,
        token,
        delay,
        error,
    )
    return bool(done)


async def defer_job(conn: Connection, *, job_id: UUID, token: UUID, delay: timedelta) -> bool:
    """Hand a job back to run later without counting the attempt (it waits, not fails)."""
    done = await conn.fetchval(
        """
        UPDATE runtime_jobs
        SET status = 'queued', attempts = greatest(attempts - 1, 0), lease_token = NULL,
            lease_until = NULL, not_before = now() + $3::interval, updated_at = now()
        WHERE id = $1 AND lease_token = $2 AND status = 'running'
        RETURNING true
        """,
        job_id,
        token,
        delay,
    )
    return bool(done)


async def jobs(
    conn: Connection,
    *,
    game_id: UUID | None,
    status: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Job]:
    rows = await conn.fetch(
        """
        SELECT * FROM runtime_jobs
        WHERE ($1::uuid IS NULL OR game_id = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
        ORDER BY created_at DESC, id DESC LIMIT $5
        """,
        game_id,
        status,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_job(r) for r in rows]


async def pending_job_of(conn: Connection, game_id: UUID, kind: JobKind) -> Job | None:
    row = await conn.fetchrow(
        "SELECT * FROM runtime_jobs WHERE game_id = $1 AND kind = $2"
        " AND status IN ('queued', 'running') ORDER BY created_at LIMIT 1",
        game_id,
        kind,
    )
    return to_job(row) if row else None


# --- kept reports ----------------------------------------------------------------------------


async def keep_reports(conn: Connection, game_id: UUID, kept: KeptTurn) -> None:
    """A turn's summary and reports; written again, the new ones replace the old."""
    packed = kept.packed
    await conn.execute(
        "DELETE FROM runtime_report_turns WHERE game_id = $1 AND turn = $2", game_id, kept.turn
    )
    await conn.execute(
        """
        INSERT INTO runtime_report_turns
            (game_id, turn, summary, dictionary, raw_bytes, stored_bytes)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        game_id,
        kept.turn,
        kept.summary,
        packed.dictionary,
        packed.raw_bytes,
        packed.stored_bytes,
    )
    if packed.reports:
        await conn.executemany(
            "INSERT INTO runtime_reports (game_id, turn, player_id, report, text_report)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(game_id, kept.turn, r.player_id, r.json, r.text) for r in packed.reports],
        )


async def kept_report(
    conn: Connection, *, game_id: UUID, turn: int, player_id: UUID, text: bool
) -> tuple[bytes, bytes] | None:
    """The turn's dictionary and the player's compressed report, if kept."""
    row = await conn.fetchrow(
        f"""
        SELECT t.dictionary, r.{"text_report" if text else "report"} AS blob
        FROM runtime_reports r
        JOIN runtime_report_turns t USING (game_id, turn)
        WHERE r.game_id = $1 AND r.turn = $2 AND r.player_id = $3
        """,
        game_id,
        turn,
        player_id,
    )
    return (row["dictionary"], row["blob"]) if row else None


async def last_summary(conn: Connection, game_id: UUID) -> tuple[int, dict[str, Any]] | None:
    """The newest kept turn and its summary."""
    row = await conn.fetchrow(
        "SELECT turn, summary FROM runtime_report_turns WHERE game_id = $1"
        " ORDER BY turn DESC LIMIT 1",
        game_id,
    )
    return (row["turn"], row["summary"]) if row else None


# --- the operator console --------------------------------------------------------------------


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
           WHERE status IN ('running', 'paused', 'stopping')
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
