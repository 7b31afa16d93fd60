"""SQL of the lobby: games, game applications and the Race Name Directory."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from galaxy_backend.lobby.models import (
    Application,
    Game,
    Player,
    RaceName,
    RuntimeState,
)
from galaxy_backend.postgres import Connection, Tx

# Kinds of change the unit of work carries (`Tx.changed`); the lobby's flushes handle them.
GAMES = "lobby.games"
NAMES = "lobby.race_names"

GAME_COLUMNS = """
    g.id, g.owner_id, g.name, g.description, g.status, g.status_seq, g.visibility,
    g.invite_code, g.min_players, g.max_players, g.approved_count, g.enrollment_deadline,
    g.turn_schedule, g.turn_time_zone, g.run_when_all_orders_in, g.engine_version, g.settings,
    g.current_turn, g.runtime_status, g.runtime_message, g.runtime_detail, g.runtime_updated_at,
    g.final_ranking, g.version, g.created_at, g.updated_at, g.started_at, g.finished_at
"""
# A game's players (approved applications) in approval order, as one JSON column.
_PLAYERS = """
    COALESCE((
        SELECT jsonb_agg(jsonb_build_object(
            'user_id', a.user_id, 'application_id', a.id, 'race_name', a.race_name,
            'approved_at', a.decided_at) ORDER BY a.decided_at, a.id)
        FROM game_applications a WHERE a.game_id = g.id AND a.status = 'approved'
    ), '[]'::jsonb) AS players
"""
_GAME_WITH_PLAYERS = f"SELECT {GAME_COLUMNS}, {_PLAYERS} FROM games g"
APPLICATION_COLUMNS = "id, game_id, user_id, race_name, status, created_at, decided_at"
RACE_NAME_COLUMNS = """
    id, name, canonical, skeleton, status, user_id, game_id, application_id, created_at,
    reserved_at, released_at
"""
_UPDATABLE = frozenset(
    {
        "name",
        "description",
        "visibility",
        "invite_code",
        "min_players",
        "max_players",
        "enrollment_deadline",
        "turn_schedule",
        "turn_time_zone",
        "run_when_all_orders_in",
        "engine_version",
        "settings",
    }
)


def _players(raw: Any) -> tuple[Player, ...]:
    return tuple(
        Player(
            user_id=UUID(p["user_id"]),
            application_id=UUID(p["application_id"]),
            race_name=p["race_name"],
            approved_at=datetime.fromisoformat(p["approved_at"]),
        )
        for p in raw or ()
    )


def to_game(row: asyncpg.Record, players: tuple[Player, ...] | None = None) -> Game:
    if players is None:
        players = _players(row["players"]) if "players" in row else ()
    return Game(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        description=row["description"],
        status=row["status"],
        visibility=row["visibility"],
        invite_code=row["invite_code"],
        min_players=row["min_players"],
        max_players=row["max_players"],
        approved_count=row["approved_count"],
        enrollment_deadline=row["enrollment_deadline"],
        turn_schedule=row["turn_schedule"],
        turn_time_zone=row["turn_time_zone"],
        run_when_all_orders_in=row["run_when_all_orders_in"],
        engine_version=row["engine_version"],
        settings=row["settings"],
        current_turn=row["current_turn"],
        runtime=RuntimeState(
            status=row["runtime_status"],
            message=row["runtime_message"],
            detail=row["runtime_detail"],
            updated_at=row["runtime_updated_at"],
        ),
        final_ranking=row["final_ranking"],
        status_seq=row["status_seq"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        players=players,
    )


def to_application(row: asyncpg.Record) -> Application:
    return Application(
        id=row["id"],
        game_id=row["game_id"],
        user_id=row["user_id"],
        race_name=row["race_name"],
        status=row["status"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )


def to_race_name(row: asyncpg.Record) -> RaceName:
    return RaceName(
        id=row["id"],
        name=row["name"],
        canonical=row["canonical"],
        skeleton=row["skeleton"],
        status=row["status"],
        user_id=row["user_id"],
        game_id=row["game_id"],
        application_id=row["application_id"],
        created_at=row["created_at"],
        reserved_at=row["reserved_at"],
        released_at=row["released_at"],
    )


# --- games ------------------------------------------------------------------------------


async def lock_user(conn: Connection, user_id: UUID) -> None:
    """Serialise, until this transaction ends, the changes that count a player's games."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('lobby.user:' || $1::uuid::text, 0))",
        user_id,
    )


async def insert_game(tx: Tx, game_id: UUID, owner_id: UUID, fields: Mapping[str, Any]) -> Game:
    names = list(fields)
    if not set(names) <= _UPDATABLE:
        raise ValueError(f"not settable: {sorted(set(names) - _UPDATABLE)}")
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
    row = await conn.fetchrow(f"{_GAME_WITH_PLAYERS} WHERE g.id = $1{suffix}", game_id)
    return to_game(row) if row else None


async def share_game(conn: Connection, game_id: UUID) -> Game | None:
    """The game, its row held against status changes (not against other applicants)."""
    row = await conn.fetchrow(
        f"SELECT {GAME_COLUMNS} FROM games g WHERE g.id = $1 FOR SHARE", game_id
    )
    return to_game(row, ()) if row else None


async def games_by_ids(conn: Connection, ids: Sequence[UUID]) -> list[Game]:
    rows = await conn.fetch(f"{_GAME_WITH_PLAYERS} WHERE g.id = ANY($1::uuid[])", list(ids))
    return [to_game(row) for row in rows]


async def game_by_invite(conn: Connection, invite_code: str) -> Game | None:
    row = await conn.fetchrow(f"{_GAME_WITH_PLAYERS} WHERE g.invite_code = $1", invite_code)
    return to_game(row) if row else None


async def recent_games(conn: Connection, limit: int) -> list[Game]:
    """The games changed most recently: the working set the game cache warms with."""
    rows = await conn.fetch(
        f"""
        {_GAME_WITH_PLAYERS}
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
        {_GAME_WITH_PLAYERS}
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
    if not set(names) <= _UPDATABLE:
        raise ValueError(f"not updatable: {sorted(set(names) - _UPDATABLE)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    tx.changed(GAMES, game_id)
    await tx.conn.execute(
        f"""
        UPDATE games SET {assignments}, updated_at = now(), version = version + 1
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
        SET status = $2, status_seq = status_seq + $3, updated_at = now(), version = version + 1,
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


async def record_runtime(
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
            updated_at = now(), version = version + 1
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
        UPDATE games SET approved_count = approved_count + 1, updated_at = now(),
                         version = version + 1
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
        UPDATE games SET approved_count = approved_count - 1, updated_at = now(),
                         version = version + 1
        WHERE id = $1
        """,
        game_id,
    )


async def touch_game(conn: Connection, game_id: UUID) -> Game:
    """Count a change (of the row or of its applications) and read the game as it now is."""
    row = await conn.fetchrow(
        f"""
        WITH g AS (
            UPDATE games SET updated_at = now(), version = version + 1 WHERE id = $1
            RETURNING *
        )
        SELECT {GAME_COLUMNS}, {_PLAYERS} FROM g
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


async def race_names_of_user(conn: Connection, user_id: UUID) -> list[RaceName]:
    rows = await conn.fetch(
        f"""
        SELECT {RACE_NAME_COLUMNS} FROM race_names
        WHERE user_id = $1 AND status <> 'released'
        ORDER BY created_at DESC, id
        """,
        user_id,
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
