"""SQL of runtime jobs: rows first, leased by the worker that runs them."""

from datetime import datetime, timedelta
from uuid import UUID

from galaxy_backend.postgres import Connection
from galaxy_backend.runtime.models import (
    Job,
    JobKind,
)
from galaxy_backend.runtime.repository.rows import CHANNEL, to_job


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
