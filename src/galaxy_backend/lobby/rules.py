"""The lobby's rules as pure functions: fields, ownership, roles, limits, the start.

Nothing here reads the database or the clock: the services pass in what they found, so
each rule is tested alone with plain values (tests/lobby/test_rules.py).
"""

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.cronutil import Schedule, parse_schedule, parse_time_zone
from galaxy_backend.kernel.durations import format_duration
from galaxy_backend.lobby.engines import EngineCatalog
from galaxy_backend.lobby.errors import (
    ActiveGamesLimit,
    DeadlinePassed,
    GameFull,
    GameNotFound,
    InvalidPlayers,
    InvalidRaceName,
    InvalidSchedule,
    InvalidTimeZone,
    MaxBelowApproved,
    NotEnoughPlayers,
    NotOwner,
    OwnedGamesLimit,
    ScheduleTooFrequent,
    TooManyPlayers,
)
from galaxy_backend.lobby.models import Game, Role, RuntimeOutcome
from galaxy_backend.lobby.racenames import RaceNameError, RaceNameForms, race_name_forms
from galaxy_backend.lobby.status import GameStatus, check_path

_INVITE_BYTES = 9  # 12 URL-safe characters

# A game's fields an owner sets at creation and may edit while enrollment is open.
SETTABLE = (
    "name",
    "description",
    "visibility",
    "min_players",
    "max_players",
    "enrollment_deadline",
    "turn_schedule",
    "turn_time_zone",
    "run_when_all_orders_in",
    "engine_version",
    "settings",
)

# What the game's status becomes for each runtime report.
OUTCOME_STATUS: dict[RuntimeOutcome, GameStatus] = {
    "started": "running",
    "start_failed": "start_failed",
    "start_withdrawn": "enrollment_closed",
    "paused": "paused",
    "stopped": "paused",
    "resumed": "running",
    "finished": "finished",
    "start_waiting": "starting",
}
# Statuses an owner may cancel from (an operator may cancel any game not over).
OWNER_CANCELLABLE: frozenset[GameStatus] = frozenset(
    {"enrollment_open", "enrollment_closed", "start_failed"}
)
# Statuses in which the runtime has (or is getting) an engine to stop on cancellation.
ENGINE_STATUSES: frozenset[GameStatus] = frozenset({"starting", "running", "paused"})


def invite_code() -> str:
    return secrets.token_urlsafe(_INVITE_BYTES)


def forms(raw: str, *, field: str = "race_name") -> RaceNameForms:
    """The race name's forms, or 400 `invalid_race_name` naming `field`."""
    try:
        return race_name_forms(raw)
    except RaceNameError as exc:
        raise InvalidRaceName(f"race name {exc}", field=field) from None


def role_of(game: Game, user_id: UUID, *, applicant: bool = False) -> Role | None:
    if game.owner_id == user_id:
        return "owner"
    if game.is_player(user_id):
        return "player"
    return "applicant" if applicant else None


def check_owner(game: Game, user_id: UUID) -> None:
    """403 for a non-owner who may see the game; 404 for one who may not (a private game)."""
    if game.owner_id != user_id:
        if game.visibility == "private" and not game.is_player(user_id):
            raise GameNotFound("no such game")
        raise NotOwner("only the game's owner may do this")


def check_visible(game: Game, role: Role | None) -> None:
    """A private game is not found by whoever has no part in it."""
    if role is None and game.visibility == "private":
        raise GameNotFound("no such game")


def invite_admits(game: Game, user_id: UUID, code: str | None) -> bool:
    """Whether `user_id` may apply: a public game, its owner, or the right invite code."""
    if game.visibility != "private" or game.owner_id == user_id:
        return True
    expected = (game.invite_code or "").encode()
    return code is not None and secrets.compare_digest(code.encode(), expected)


def check_owned_limit(owned: int, limit: int) -> None:
    if owned >= limit:
        raise OwnedGamesLimit(
            f"you already own {owned} live games, your limit",
            details={"limit": limit},
        )


def check_active_limit(playing: int, limit: int, *, whose: str = "you") -> None:
    if playing >= limit:
        verb = "play" if whose == "you" else "plays"
        own = "your" if whose == "you" else "their"
        raise ActiveGamesLimit(
            f"{whose} already {verb} {playing} games, {own} limit",
            details={"limit": limit},
        )


def check_seat(game: Game) -> None:
    if game.approved_count >= game.max_players:
        raise GameFull("the game is full")


def start_path(game: Game) -> tuple[GameStatus, ...]:
    """The statuses a start moves through, checked; 409 unless enough players are in."""
    path: tuple[GameStatus, ...] = (
        ("enrollment_closed", "starting") if game.status == "enrollment_open" else ("starting",)
    )
    check_path(game.status, path, "start the game")
    if game.approved_count < game.min_players:
        raise NotEnoughPlayers(
            f"{game.approved_count} of at least {game.min_players} players are approved",
            details={"approved_count": game.approved_count, "min_players": game.min_players},
        )
    return path


def settable_of(game: Game) -> dict[str, Any]:
    """The game's settable fields as they are."""
    return {name: getattr(game, name) for name in SETTABLE}


def checked_fields(
    values: Mapping[str, Any],
    *,
    engines: EngineCatalog,
    now: datetime,
    min_interval: timedelta,
    check_deadline: bool = True,
    check_interval: bool = True,
) -> dict[str, Any]:
    """Validate a game's settable fields together; the normalised values to store."""
    checked = dict(values)
    version = checked.get("engine_version") or engines.default_version()
    checked["engine_version"] = version
    settings = engines.validate_settings(version, checked.get("settings") or {})
    checked["settings"] = settings
    try:
        time_zone = parse_time_zone(checked["turn_time_zone"])
    except ValueError as exc:
        raise InvalidTimeZone(str(exc), field="turn_time_zone") from None
    try:
        schedule = parse_schedule(checked["turn_schedule"], time_zone)
    except ValueError as exc:
        raise InvalidSchedule(str(exc), field="turn_schedule") from None
    if check_interval:
        check_turn_interval(schedule, now, min_interval)
    checked["turn_schedule"] = schedule.text
    if checked["min_players"] > checked["max_players"]:
        raise InvalidPlayers("min_players is above max_players", field="min_players")
    capacity = engines.max_players(version, settings)
    if checked["max_players"] > capacity:
        raise TooManyPlayers(
            f"the engine's map holds at most {capacity} races with these settings",
            field="max_players",
            details={"engine_capacity": capacity},
        )
    if check_deadline and checked["enrollment_deadline"] <= now:
        raise DeadlinePassed(
            "the enrollment deadline is in the past",
            field="enrollment_deadline",
        )
    return checked


def check_turn_interval(schedule: Schedule, now: datetime, minimum: timedelta) -> None:
    """Turns no closer than BACKEND_LOBBY_MIN_TURN_INTERVAL: each one mails every player
    and keeps a report on disk."""
    gap = schedule.shortest_gap(now)
    if gap < minimum:
        raise ScheduleTooFrequent(
            f"turns may come no closer than {format_duration(minimum)}; this schedule has"
            f" {format_duration(gap)} between two of them",
            field="turn_schedule",
            details={
                "min_interval_seconds": int(minimum.total_seconds()),
                "shortest_gap_seconds": int(gap.total_seconds()),
            },
        )


def edit_delta(
    game: Game,
    changes: Mapping[str, Any],
    *,
    engines: EngineCatalog,
    now: datetime,
    min_interval: timedelta,
) -> dict[str, Any]:
    """What an owner's edit changes, checked (an empty dict: nothing)."""
    current = settable_of(game)
    checked = checked_fields(
        {**current, **changes},
        engines=engines,
        now=now,
        min_interval=min_interval,
        check_deadline="enrollment_deadline" in changes,
        # A schedule accepted before the minimum was raised stays as long as kept.
        check_interval=bool({"turn_schedule", "turn_time_zone"} & set(changes)),
    )
    if checked["max_players"] < game.approved_count:
        raise MaxBelowApproved(
            f"{game.approved_count} players are approved already",
            details={"approved_count": game.approved_count},
        )
    if checked["visibility"] != game.visibility:
        checked["invite_code"] = invite_code() if checked["visibility"] == "private" else None
    return {k: v for k, v in checked.items() if k not in current or current[k] != v}
