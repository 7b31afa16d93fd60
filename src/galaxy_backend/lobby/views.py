"""How the lobby shows a game, an application, a race name: the plain data its replies
(`schemas.py`) describe, and which fields each viewer sees."""

from datetime import datetime
from functools import lru_cache
from typing import Any

from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.lobby.models import Application, Game, RaceName, Role

SCHEDULE_PREVIEW = 3


def summary_view(game: Game) -> dict[str, Any]:
    return {
        "id": str(game.id),
        "name": game.name,
        "description": game.description,
        "status": game.status,
        "visibility": game.visibility,
        "owner_id": str(game.owner_id),
        "min_players": game.min_players,
        "max_players": game.max_players,
        "approved_count": game.approved_count,
        "free_seats": game.free_seats,
        "enrollment_deadline": game.enrollment_deadline,
        "turn_schedule": game.turn_schedule,
        "turn_time_zone": game.turn_time_zone,
        "engine_version": game.engine_version,
        "current_turn": game.current_turn,
        "created_at": game.created_at,
    }


# Every page shows its game's schedule: each stored one is parsed (and checked) once.
_parsed_schedule = lru_cache(maxsize=1024)(parse_schedule)


def schedule_preview(game: Game, now: datetime) -> list[datetime]:
    try:
        return _parsed_schedule(game.turn_schedule, game.turn_time_zone).upcoming(
            now, SCHEDULE_PREVIEW
        )
    except ValueError:
        return []


def game_view(
    game: Game, now: datetime, *, role: Role | None, full: bool = False
) -> dict[str, Any]:
    """The page; players are shown to the owner, players and applicants (and operators)."""
    view = summary_view(game)
    members = full or role is not None
    view.update(
        {
            "run_when_all_orders_in": game.run_when_all_orders_in,
            "schedule_preview": schedule_preview(game, now),
            "settings": dict(game.settings),
            "runtime": {
                "status": game.runtime.status,
                "message": game.runtime.message,
                "updated_at": game.runtime.updated_at,
                "detail": game.runtime.detail if full else None,
            },
            "final_ranking": list(game.final_ranking) if game.final_ranking is not None else None,
            "updated_at": game.updated_at,
            "started_at": game.started_at,
            "finished_at": game.finished_at,
            "viewer_role": role,
            "players": (
                [
                    {
                        "user_id": str(p.user_id),
                        "race_name": p.race_name,
                        "approved_at": p.approved_at,
                    }
                    for p in game.players
                ]
                if members
                else None
            ),
            "invite_code": game.invite_code if (full or role == "owner") else None,
        }
    )
    return view


def application_view(application: Application) -> dict[str, Any]:
    return {
        "id": application.id,
        "game_id": application.game_id,
        "user_id": application.user_id,
        "race_name": application.race_name,
        "status": application.status,
        "created_at": application.created_at,
        "decided_at": application.decided_at,
    }


def race_name_view(entry: RaceName, *, admin: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "canonical": entry.canonical,
        "status": entry.status,
        "game_id": entry.game_id,
        "created_at": entry.created_at,
        "reserved_at": entry.reserved_at,
    }
    if admin:
        view.update(
            {
                "user_id": entry.user_id,
                "application_id": entry.application_id,
                "skeleton": entry.skeleton,
                "released_at": entry.released_at,
            }
        )
    return view
