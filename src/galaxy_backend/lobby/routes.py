"""HTTP routes of the lobby: the public listing and race-name check, players' games and
applications, and operators' views. Each router is put together from small groups of routes."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor, Text
from galaxy_backend.lobby.errors import (
    ActiveGamesLimit,
    AlreadyApplied,
    ApplicationNotFound,
    DeadlinePassed,
    GameFull,
    GameNotFound,
    InvalidPlayers,
    InvalidRaceName,
    InvalidSchedule,
    InvalidSettings,
    InvalidTimeZone,
    InviteNotFound,
    MaxBelowApproved,
    NotEnoughPlayers,
    NotOwner,
    NotPrivate,
    OwnedGamesLimit,
    PlayerNotFound,
    RaceNameNotFound,
    RaceNameReleased,
    RaceNameTaken,
    ScheduleTooFrequent,
    TooManyPlayers,
    UnknownEngineVersion,
    WrongApplicationStatus,
    WrongStatus,
)
from galaxy_backend.lobby.games import GameDraft
from galaxy_backend.lobby.queries import ListingQuery
from galaxy_backend.lobby.schemas import (
    AdminRaceNameList,
    AdminRaceNameOut,
    ApplicationIn,
    ApplicationList,
    ApplicationOut,
    CancelIn,
    EngineList,
    GameChangesIn,
    GameIn,
    GameList,
    GameOut,
    GameSummaryList,
    InviteIn,
    ListingQueryIn,
    RaceNameCheckOut,
    RaceNameList,
    RaceNameText,
)
from galaxy_backend.lobby.service import LobbyService
from galaxy_backend.lobby.status import GameStatus
from galaxy_backend.lobby.views import application_view, game_view, race_name_view
from galaxy_backend.server.auth import (
    AdminReader,
    AdminWriter,
    CurrentUser,
    Principal,
    client_ip,
)
from galaxy_backend.server.errors import RequestValidationFailed, errors_of
from galaxy_backend.server.fastpath import JSON_HEADERS, FastRequest, FastRoute, Reply
from galaxy_backend.server.http_app import audience_router

LISTING_PATH = "/api/v1/public/games"
_LISTING_QUERY = TypeAdapter(ListingQueryIn)

# What checking a game's fields may refuse (creation and edit alike).
_FIELD_ERRORS = (
    UnknownEngineVersion,
    InvalidSettings,
    InvalidTimeZone,
    InvalidSchedule,
    ScheduleTooFrequent,
    InvalidPlayers,
    TooManyPlayers,
    DeadlinePassed,
)
# An owner's action on a game: a stranger to a private game gets 404, anyone else 403.
_OWNED = (GameNotFound, NotOwner, WrongStatus)
_DECISION = (*_OWNED, ApplicationNotFound, WrongApplicationStatus)


def public_fast_routes(service: LobbyService) -> list[FastRoute]:
    """The public listing: polled by every lobby page, served from the in-memory index."""

    async def listing(request: FastRequest) -> Reply:
        query = request.query(_LISTING_QUERY, lists=frozenset({"status"}))
        result = await service.queries.list_public(
            ListingQuery(
                statuses=tuple(query.status) if query.status else None,
                free_seats=query.free_seats,
                engine_version=query.engine_version,
                query=query.q,
                cursor=query.cursor,
                limit=query.limit,
            )
        )
        body = b"".join(
            (
                b'{"items":[',
                b",".join(result.items),
                b'],"next_cursor":',
                orjson.dumps(result.next_cursor),
                b"}",
            )
        )
        return Reply(200, body, JSON_HEADERS)

    return [
        FastRoute(
            "GET",
            LISTING_PATH,
            listing,
            audience="public",
            summary="Public games, newest first: filter by status, free seats, engine version "
            "and name; paginated by cursor",
            query_model=ListingQueryIn,
            response_model=GameSummaryList,
            responses=errors_of(RequestValidationFailed),
            tags=("lobby",),
        )
    ]


def public_router(service: LobbyService) -> APIRouter:
    router = audience_router("public", tags=["lobby"])

    @router.get(
        "/race-names/{name}", response_model=RaceNameCheckOut, responses=errors_of(InvalidRaceName)
    )
    async def check_race_name(name: Annotated[RaceNameText, Path()]) -> dict[str, Any]:
        forms, holder = await service.queries.race_name_holder(name)
        return {"name": forms.display, "canonical": forms.canonical, "available": holder is None}

    @router.get(
        "/engines",
        response_model=EngineList,
        summary="The engine versions games may use (the runtime's registry), with the settings "
        "each takes",
    )
    async def engines() -> dict[str, Any]:
        return {"items": await service.queries.engines()}

    return router


def _me(principal: Principal) -> UUID:
    return UUID(principal.subject)


def user_router(service: LobbyService, clock: Callable[[], datetime]) -> APIRouter:
    router = audience_router("user", tags=["lobby"])
    _game_routes(router, service, clock)
    _owner_routes(router, service, clock)
    _application_routes(router, service)
    _player_routes(router, service)
    return router


def _draft(body: GameIn) -> GameDraft:
    return GameDraft(
        name=body.name,
        description=body.description,
        min_players=body.min_players,
        max_players=body.max_players,
        enrollment_deadline=body.enrollment_deadline,
        turn_schedule=body.turn_schedule,
        turn_time_zone=body.turn_time_zone,
        visibility=body.visibility,
        engine_version=body.engine_version,
        settings=body.settings,
        run_when_all_orders_in=body.run_when_all_orders_in,
        owner_race_name=body.owner_race_name,
    )


def _game_routes(router: APIRouter, service: LobbyService, clock: Callable[[], datetime]) -> None:
    """Making a game, and reading one's games and a game's page."""

    @router.post(
        "/games",
        status_code=201,
        response_model=GameOut,
        responses=errors_of(
            *_FIELD_ERRORS, InvalidRaceName, OwnedGamesLimit, ActiveGamesLimit, RaceNameTaken
        ),
    )
    async def create_game(body: GameIn, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.create_game(_me(principal), _draft(body))
        return game_view(game, clock(), role="owner")

    @router.get("/games", response_model=GameList)
    async def my_games(
        principal: CurrentUser,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
    ) -> dict[str, Any]:
        now = clock()
        games, following = await service.queries.games_of(
            _me(principal), cursor=cursor, limit=limit
        )
        return {
            "items": [game_view(game, now, role=role) for game, role in games],
            "next_cursor": following,
        }

    @router.get("/games/{game_id}", response_model=GameOut, responses=errors_of(GameNotFound))
    async def get_game(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game, role = await service.queries.game_for(_me(principal), game_id)
        return game_view(game, clock(), role=role)

    @router.post("/invites/resolve", response_model=GameOut, responses=errors_of(InviteNotFound))
    async def game_by_invite(body: InviteIn, principal: CurrentUser) -> dict[str, Any]:
        game, role = await service.queries.game_by_invite(_me(principal), body.invite_code)
        return game_view(game, clock(), role=role)


def _owner_routes(router: APIRouter, service: LobbyService, clock: Callable[[], datetime]) -> None:
    """The owner's changes of a game: edit, cancel, a new invite code, the start."""

    @router.patch(
        "/games/{game_id}",
        response_model=GameOut,
        responses=errors_of(*_OWNED, *_FIELD_ERRORS, MaxBelowApproved),
    )
    async def update_game(
        game_id: UUID, body: GameChangesIn, principal: CurrentUser
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        game = await service.games.update_game(_me(principal), game_id, changes)
        return game_view(game, clock(), role="owner")

    @router.post("/games/{game_id}/cancel", response_model=GameOut, responses=errors_of(*_OWNED))
    async def cancel_game(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.cancel_game(_me(principal), game_id)
        return game_view(game, clock(), role="owner")

    @router.post(
        "/games/{game_id}/invite-code",
        response_model=GameOut,
        responses=errors_of(*_OWNED, NotPrivate),
    )
    async def rotate_invite_code(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.rotate_invite_code(_me(principal), game_id)
        return game_view(game, clock(), role="owner")

    @router.post(
        "/games/{game_id}/start",
        status_code=202,
        response_model=GameOut,
        responses=errors_of(*_OWNED, NotEnoughPlayers, UnknownEngineVersion),
    )
    async def start_game(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.start(_me(principal), game_id)
        return game_view(game, clock(), role="owner")


def _application_routes(router: APIRouter, service: LobbyService) -> None:
    """Applying to a game, and the owner's decisions on applications."""

    @router.post(
        "/games/{game_id}/applications",
        status_code=201,
        response_model=ApplicationOut,
        responses=errors_of(
            GameNotFound,
            WrongStatus,
            InvalidRaceName,
            AlreadyApplied,
            GameFull,
            ActiveGamesLimit,
            RaceNameTaken,
        ),
    )
    async def apply(game_id: UUID, body: ApplicationIn, principal: CurrentUser) -> dict[str, Any]:
        application = await service.applications.apply(
            _me(principal), game_id, body.race_name, invite_code=body.invite_code
        )
        return application_view(application)

    @router.get(
        "/games/{game_id}/applications",
        response_model=ApplicationList,
        responses=errors_of(GameNotFound),
    )
    async def applications(
        game_id: UUID,
        principal: CurrentUser,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 100,
    ) -> dict[str, Any]:
        found, following = await service.queries.applications(
            _me(principal), game_id, cursor=cursor, limit=limit
        )
        return {"items": [application_view(a) for a in found], "next_cursor": following}

    @router.post(
        "/games/{game_id}/applications/{application_id}/approve",
        response_model=ApplicationOut,
        responses=errors_of(*_DECISION, GameFull, ActiveGamesLimit),
    )
    async def approve(
        game_id: UUID, application_id: UUID, principal: CurrentUser
    ) -> dict[str, Any]:
        return application_view(
            await service.applications.approve(_me(principal), game_id, application_id)
        )

    @router.post(
        "/games/{game_id}/applications/{application_id}/reject",
        response_model=ApplicationOut,
        responses=errors_of(*_DECISION),
    )
    async def reject(game_id: UUID, application_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        return application_view(
            await service.applications.reject(_me(principal), game_id, application_id)
        )


def _player_routes(router: APIRouter, service: LobbyService) -> None:
    """An applicant's and a player's own moves, and the owner removing a player."""

    @router.post(
        "/games/{game_id}/applications/{application_id}/withdraw",
        response_model=ApplicationOut,
        responses=errors_of(GameNotFound, ApplicationNotFound, WrongApplicationStatus),
    )
    async def withdraw(
        game_id: UUID, application_id: UUID, principal: CurrentUser
    ) -> dict[str, Any]:
        return application_view(
            await service.applications.withdraw(_me(principal), game_id, application_id)
        )

    @router.delete(
        "/games/{game_id}/players/{user_id}",
        response_model=ApplicationOut,
        responses=errors_of(*_OWNED, PlayerNotFound),
    )
    async def remove_player(game_id: UUID, user_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        return application_view(
            await service.applications.remove_player(_me(principal), game_id, user_id)
        )

    @router.post(
        "/games/{game_id}/leave",
        response_model=ApplicationOut,
        responses=errors_of(GameNotFound, PlayerNotFound, WrongStatus),
    )
    async def leave(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        return application_view(await service.applications.leave(_me(principal), game_id))

    @router.get("/me/race-names", response_model=RaceNameList)
    async def my_race_names(principal: CurrentUser) -> dict[str, Any]:
        entries = await service.queries.race_names_of(_me(principal))
        return {"items": [race_name_view(e) for e in entries]}


def admin_router(service: LobbyService, clock: Callable[[], datetime]) -> APIRouter:
    router = audience_router("admin", tags=["lobby"])
    _admin_game_routes(router, service, clock)
    _admin_race_name_routes(router, service)
    return router


def _admin_game_routes(
    router: APIRouter, service: LobbyService, clock: Callable[[], datetime]
) -> None:
    @router.get("/games", response_model=GameList)
    async def search_games(
        _: AdminReader,
        query: Annotated[Annotated[str, Text(100)] | None, Query()] = None,
        status: Annotated[list[GameStatus] | None, Query(max_length=8)] = None,
        owner_id: Annotated[UUID | None, Query()] = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        games, following = await service.queries.search(
            query=query, statuses=status, owner_id=owner_id, cursor=cursor, limit=limit
        )
        now = clock()
        return {
            "items": [game_view(g, now, role=None, full=True) for g in games],
            "next_cursor": following,
        }

    @router.get("/games/{game_id}", response_model=GameOut, responses=errors_of(GameNotFound))
    async def get_game(game_id: UUID, _: AdminReader) -> dict[str, Any]:
        return game_view(await service.queries.game(game_id), clock(), role=None, full=True)

    @router.post(
        "/games/{game_id}/cancel",
        response_model=GameOut,
        responses=errors_of(GameNotFound, WrongStatus),
    )
    async def cancel_game(
        game_id: UUID, body: CancelIn, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        game = await service.operators.cancel_game(
            game_id, reason=body.reason, actor=Actor.of(principal, client_ip(request))
        )
        return game_view(game, clock(), role=None, full=True)


def _admin_race_name_routes(router: APIRouter, service: LobbyService) -> None:
    @router.get(
        "/race-names", response_model=AdminRaceNameList, responses=errors_of(InvalidRaceName)
    )
    async def find_race_names(
        _: AdminReader, name: Annotated[RaceNameText, Query()]
    ) -> dict[str, Any]:
        found = await service.queries.find_race_names(name)
        return {"items": [race_name_view(e, admin=True) for e in found]}

    @router.post(
        "/race-names/{entry_id}/release",
        response_model=AdminRaceNameOut,
        responses=errors_of(RaceNameNotFound, RaceNameReleased),
    )
    async def release_race_name(
        entry_id: UUID, body: CancelIn, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        entry = await service.operators.release_race_name(
            entry_id, reason=body.reason, actor=Actor.of(principal, client_ip(request))
        )
        return race_name_view(entry, admin=True)
