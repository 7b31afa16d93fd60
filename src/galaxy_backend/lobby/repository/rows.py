"""The lobby's columns, rows and kinds of change, shared by its repositories."""

from datetime import datetime
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
PLAYERS = """
    COALESCE((
        SELECT jsonb_agg(jsonb_build_object(
            'user_id', a.user_id, 'application_id', a.id, 'race_name', a.race_name,
            'approved_at', a.decided_at) ORDER BY a.decided_at, a.id)
        FROM game_applications a WHERE a.game_id = g.id AND a.status = 'approved'
    ), '[]'::jsonb) AS players
"""
GAME_WITH_PLAYERS = f"SELECT {GAME_COLUMNS}, {PLAYERS} FROM games g"
APPLICATION_COLUMNS = "id, game_id, user_id, race_name, status, created_at, decided_at"
RACE_NAME_COLUMNS = """
    id, name, canonical, skeleton, status, user_id, game_id, application_id, created_at,
    reserved_at, released_at
"""
UPDATABLE = frozenset(
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
