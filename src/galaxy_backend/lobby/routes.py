"""HTTP routes of the lobby: the public listing and race-name check, players' games and
applications, and operators' views."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor, Text
from galaxy_backend.lobby.games import GameDraft
from galaxy_backend.lobby.inputs import (
    ApplicationIn,
    CancelIn,
    GameChangesIn,
    GameIn,
    InviteIn,
    ListingQueryIn,
    RaceNameText,
)
from galaxy_backend.lobby.queries import ListingQuery
from galaxy_backend.lobby.service import LobbyService
from galaxy_backend.lobby.status import GameStatus
from galaxy_backend.lobby.views import (
    AdminRaceNameList,
    AdminRaceNameOut,
    ApplicationList,
    ApplicationOut,
    EngineList,
    GameList,
    GameOut,
    GameSummaryList,
    RaceNameCheckOut,
    RaceNameList,
    application_view,
    game_view,
    race_name_view,
)
from galaxy_backend.server.auth import (
    AdminReader,
    AdminWriter,
    CurrentUser,
    Principal,
    client_ip,
)
from galaxy_backend.server.fastpath import JSON_HEADERS, FastRequest, FastRoute, Reply
from galaxy_backend.server.http_app import audience_router

LISTING_PATH = "/api/v1/public/games"
_LISTING_QUERY = TypeAdapter(ListingQueryIn)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        403: "Not the game's owner (`not_owner`)",
        404: "No such game, or a private game the caller may not see (`game_not_found`)",
        409: "Refused by the game's state (`wrong_status` with the current status, "
        "`game_full`, `race_name_taken`, limits)",
        422: "Invalid input; `details.fields` names each offending field",
    }
    return {code: {"description": meaning[code]} for code in codes}


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
            responses=_errors(422),
            tags=("lobby",),
        )
    ]


def public_router(service: LobbyService) -> APIRouter:
    router = audience_router("public", tags=["lobby"])

    @router.get("/race-names/{name}", response_model=RaceNameCheckOut, responses=_errors(422))
    async def check_race_name(name: Annotated[RaceNameText, Path()]) -> dict[str, Any]:
        forms, holder = await service.queries.race_name_holder(name)
        return {"name": forms.display, "canonical": forms.canonical, "available": holder is None}

    @router.get("/engines", response_model=EngineList)
    async def engines() -> dict[str, Any]:
        return {"items": await service.queries.engines()}

    return router


def user_router(service: LobbyService, clock: Callable[[], datetime]) -> APIRouter:
    router = audience_router("user", tags=["lobby"])

    def me(principal: Principal) -> UUID:
        return UUID(principal.subject)

    @router.post("/games", status_code=201, response_model=GameOut, responses=_errors(409, 422))
    async def create_game(body: GameIn, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.create_game(
            me(principal),
            GameDraft(
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
            ),
        )
        return game_view(game, clock(), role="owner")

    @router.get("/games", response_model=GameList, responses=_errors(422))
    async def my_games(
        principal: CurrentUser,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
    ) -> dict[str, Any]:
        now = clock()
        games, following = await service.queries.games_of(me(principal), cursor=cursor, limit=limit)
        return {
            "items": [game_view(game, now, role=role) for game, role in games],
            "next_cursor": following,
        }

    @router.get("/games/{game_id}", response_model=GameOut, responses=_errors(404))
    async def get_game(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game, role = await service.queries.game_for(me(principal), game_id)
        return game_view(game, clock(), role=role)

    @router.patch("/games/{game_id}", response_model=GameOut, responses=_errors(403, 404, 409, 422))
    async def update_game(
        game_id: UUID, body: GameChangesIn, principal: CurrentUser
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        game = await service.games.update_game(me(principal), game_id, changes)
        return game_view(game, clock(), role="owner")

    @router.post(
        "/games/{game_id}/cancel", response_model=GameOut, responses=_errors(403, 404, 409)
    )
    async def cancel_game(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.cancel_game(me(principal), game_id)
        return game_view(game, clock(), role="owner")

    @router.post(
        "/games/{game_id}/invite-code", response_model=GameOut, responses=_errors(403, 404, 409)
    )
    async def rotate_invite_code(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.rotate_invite_code(me(principal), game_id)
        return game_view(game, clock(), role="owner")

    @router.post("/invites/resolve", response_model=GameOut, responses=_errors(404, 422))
    async def game_by_invite(body: InviteIn, principal: CurrentUser) -> dict[str, Any]:
        game, role = await service.queries.game_by_invite(me(principal), body.invite_code)
        return game_view(game, clock(), role=role)

    @router.post(
        "/games/{game_id}/start",
        status_code=202,
        response_model=GameOut,
        responses=_errors(403, 404, 409),
    )
    async def start_game(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        game = await service.games.start(me(principal), game_id)
        return game_view(game, clock(), role="owner")

    @router.post(
        "/games/{game_id}/applications",
        status_code=201,
        response_model=ApplicationOut,
        responses=_errors(404, 409, 422),
    )
    async def apply(game_id: UUID, body: ApplicationIn, principal: CurrentUser) -> dict[str, Any]:
        application = await service.applications.apply(
            me(principal), game_id, body.race_name, invite_code=body.invite_code
        )
        return application_view(application)

    @router.get(
        "/games/{game_id}/applications",
        response_model=ApplicationList,
        responses=_errors(404, 422),
    )
    async def applications(
        game_id: UUID,
        principal: CurrentUser,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 100,
    ) -> dict[str, Any]:
        found, following = await service.queries.applications(
            me(principal), game_id, cursor=cursor, limit=limit
        )
        return {"items": [application_view(a) for a in found], "next_cursor": following}

    @router.post(
        "/games/{game_id}/applications/{application_id}/approve",
        response_model=ApplicationOut,
        responses=_errors(403, 404, 409),
    )
    async def approve(
        game_id: UUID, application_id: UUID, principal: CurrentUser
    ) -> dict[str, Any]:
        return application_view(
            await service.applications.approve(me(principal), game_id, application_id)
        )

    @router.post(
        "/games/{game_id}/applications/{application_id}/reject",
        response_model=ApplicationOut,
        responses=_errors(403, 404, 409),
    )
    async def reject(game_id: UUID, application_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        return application_view(
            await service.applications.reject(me(principal), game_id, application_id)
        )

    @router.post(
        "/games/{game_id}/applications/{application_id}/withdraw",
        response_model=ApplicationOut,
        responses=_errors(404, 409),
    )
    async def withdraw(
        game_id: UUID, application_id: UUID, principal: CurrentUser
    ) -> dict[str, Any]:
        return application_view(
            await service.applications.withdraw(me(principal), game_id, application_id)
        )

    @router.delete(
        "/games/{game_id}/players/{user_id}",
        response_model=ApplicationOut,
        responses=_errors(403, 404, 409),
    )
    async def remove_player(game_id: UUID, user_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        return application_view(
            await service.applications.remove_player(me(principal), game_id, user_id)
        )

    @router.post(
        "/games/{game_id}/leave", response_model=ApplicationOut, responses=_errors(404, 409)
    )
    async def leave(game_id: UUID, principal: CurrentUser) -> dict[str, Any]:
        return application_view(await service.applications.leave(me(principal), game_id))

    @router.get("/me/race-names", response_model=RaceNameList)
    async def my_race_names(principal: CurrentUser) -> dict[str, Any]:
        return {
            "items": [race_name_view(e) for e in await service.queries.race_names_of(me(principal))]
        }

    return router


def admin_router(service: LobbyService, clock: Callable[[], datetime]) -> APIRouter:
    router = audience_router("admin", tags=["lobby"])

    @router.get("/games", response_model=GameList, responses=_errors(422))
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

    @router.get("/games/{game_id}", response_model=GameOut, responses=_errors(404))
    async def get_game(game_id: UUID, _: AdminReader) -> dict[str, Any]:
        return game_view(await service.queries.game(game_id), clock(), role=None, full=True)

    @router.post("/games/{game_id}/cancel", response_model=GameOut, responses=_errors(404, 409))
    async def cancel_game(
        game_id: UUID, body: CancelIn, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        game = await service.operators.cancel_game(
            game_id, reason=body.reason, actor=Actor.of(principal, client_ip(request))
        )
        return game_view(game, clock(), role=None, full=True)

    @router.get("/race-names", response_model=AdminRaceNameList, responses=_errors(422))
    async def find_race_names(
        _: AdminReader, name: Annotated[RaceNameText, Query()]
    ) -> dict[str, Any]:
        found = await service.queries.find_race_names(name)
        return {"items": [race_name_view(e, admin=True) for e in found]}

    @router.post(
        "/race-names/{entry_id}/release",
        response_model=AdminRaceNameOut,
        responses=_errors(404, 409),
    )
    async def release_race_name(
        entry_id: UUID, body: CancelIn, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        entry = await service.operators.release_race_name(
            entry_id, reason=body.reason, actor=Actor.of(principal, client_ip(request))
        )
        return race_name_view(entry, admin=True)

    return router
