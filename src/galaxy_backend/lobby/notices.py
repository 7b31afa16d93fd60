"""The lobby's notices: who is told what, in the words players read.

Each function builds one `Notice` (the notification service stores and routes it); the
`key` makes a repeated change tell nobody twice.
"""

from typing import Any
from uuid import UUID

from galaxy_backend.lobby.models import Application, Game
from galaxy_backend.lobby.status import GameStatus
from galaxy_backend.notification.models import Notice

_CLOSED_WHY = {
    "enrollment_closed": "{game} closed its enrollment",
    "game_cancelled": "{game} was cancelled",
    "race_name_released": "an operator released the race name",
}


def pretty(status: str) -> str:
    return status.replace("_", " ")


def about_game(
    kind: str,
    game: Game,
    *,
    to: list[UUID],
    title: str,
    body: str,
    key: object,
    **details: Any,
) -> Notice:
    """A notice to `to` about `game`, once per `key` of this kind."""
    return Notice(
        kind=kind,
        user_ids=list(to),
        title=title,
        body=body,
        payload={"game_id": str(game.id), "game_name": game.name, **details},
        key=f"{kind}:{key}",
    )


def about_application(
    kind: str,
    game: Game,
    application: Application,
    *,
    to: list[UUID],
    title: str,
    body: str,
    **details: Any,
) -> Notice:
    """A notice about one application: its id and race name in the payload, keyed by it."""
    return about_game(
        kind,
        game,
        to=to,
        title=title,
        body=body,
        key=application.id,
        application_id=str(application.id),
        race_name=application.race_name,
        **details,
    )


def status_changed(game: Game, *, previous: GameStatus, reason: str | None) -> Notice:
    body = f"{game.name} is now {pretty(game.status)} (was {pretty(previous)})."
    if reason:
        body += f" {reason[:300]}"
    return about_game(
        "lobby.game.status_changed",
        game,
        to=list(dict.fromkeys([game.owner_id, *game.player_ids])),
        title=f"{game.name}: {pretty(game.status)}",
        body=body,
        key=f"{game.id}:{game.status_seq}",
        status=game.status,
        previous_status=previous,
        reason=reason,
        current_turn=game.current_turn,
        final_ranking=list(game.final_ranking) if game.final_ranking is not None else None,
    )


def below_min_players(game: Game) -> Notice:
    return about_game(
        "lobby.game.below_min_players",
        game,
        to=[game.owner_id],
        title=f"{game.name} needs more players",
        body=f"The enrollment deadline of {game.name} has passed with "
        f"{game.approved_count} of at least {game.min_players} players "
        "approved. Enrollment stays open: approve more players and start "
        "the game, move the deadline, or cancel it.",
        key=game.id,
        approved_count=game.approved_count,
        min_players=game.min_players,
        enrollment_deadline=game.enrollment_deadline.isoformat(),
    )


def application_received(game: Game, application: Application) -> Notice:
    return about_application(
        "lobby.application.received",
        game,
        application,
        to=[game.owner_id],
        title=f"New application to {game.name}",
        body=f"{application.race_name} applied to join {game.name}.",
        applicant_id=str(application.user_id),
    )


def application_approved(game: Game, application: Application) -> Notice:
    return about_application(
        "lobby.application.approved",
        game,
        application,
        to=[application.user_id],
        title=f"You are in {game.name}",
        body=f"Your application as {application.race_name} to {game.name} was approved.",
    )


def application_rejected(game: Game, application: Application) -> Notice:
    return about_application(
        "lobby.application.rejected",
        game,
        application,
        to=[application.user_id],
        title=f"Your application to {game.name}",
        body=f"Your application as {application.race_name} to {game.name} was not accepted.",
    )


def application_expired(game: Game, application: Application) -> Notice:
    return about_application(
        "lobby.application.expired",
        game,
        application,
        to=[application.user_id],
        title=f"Your application to {game.name} expired",
        body=f"Your application as {application.race_name} to {game.name} was "
        "not decided in time; the race name is free again.",
    )


def application_closed(game: Game, application: Application, *, reason: str) -> Notice:
    why = _CLOSED_WHY.get(reason, "it was closed").format(game=game.name)
    return about_application(
        "lobby.application.closed",
        game,
        application,
        to=[application.user_id],
        title=f"Your application to {game.name} was closed",
        body=f"Your application as {application.race_name} to {game.name} was closed "
        f"before it was decided: {why}.",
        reason=reason,
    )


def player_removed(game: Game, application: Application) -> Notice:
    return about_application(
        "lobby.player.removed",
        game,
        application,
        to=[application.user_id],
        title=f"You were removed from {game.name}",
        body=f"The owner of {game.name} removed {application.race_name} from the game.",
    )


def player_left(game: Game, application: Application) -> Notice:
    return about_application(
        "lobby.player.left",
        game,
        application,
        to=[game.owner_id],
        title=f"A player left {game.name}",
        body=f"{application.race_name} left {game.name}.",
        player_id=str(application.user_id),
    )
