"""SQL of engine slots (BACKEND_RUNTIME_MAX_ENGINES), counted across replicas."""

from dataclasses import dataclass
from uuid import UUID

from galaxy_backend.postgres import Connection

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
            WHERE status IN ('running', 'paused')
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
