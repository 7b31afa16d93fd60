"""HTTP routes of the runtime: playing (orders, reports, the standing), the owner's and the
operators' controls, runtime records and jobs, engine versions. Each router is put together
from small groups of routes."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor
from galaxy_backend.kernel.ratelimit import TooManyRequests
from galaxy_backend.lobby.errors import GameNotFound
from galaxy_backend.runtime.errors import (
    DefaultVersionTakenOut,
    EngineError,
    EngineNotRunning,
    EngineTimeout,
    EngineUnreachable,
    ForceTurnCooldown,
    GameFinished,
    NotAPlayer,
    OwnerOnly,
    RuntimeBusy,
    RuntimeNotFound,
    UnknownTurn,
    WrongRuntimeStatus,
)
from galaxy_backend.runtime.models import EngineVersion, JobStatus, RecordStatus
from galaxy_backend.runtime.schemas import (
    AcceptedOut,
    EngineVersionIn,
    EngineVersionOut,
    EngineVersionsOut,
    GameStandingOut,
    JobOut,
    JobPage,
    OrdersIn,
    OrdersOut,
    PlayerStandingOut,
    RankOut,
    RecordDetailOut,
    RecordOut,
    RecordPage,
    SentOrdersOut,
    Turn,
    VersionName,
)
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.server.auth import AdminReader, AdminWriter, CurrentUser, client_ip
from galaxy_backend.server.errors import errors_of

# A player's call on a game: an outsider is refused (403 public, 404 private), and one that
# reaches the engine answers with the engine's verdict or its failure.
_PLAYER = (GameNotFound, NotAPlayer, RuntimeNotFound)
_ENGINE = (EngineNotRunning, EngineError, EngineUnreachable, EngineTimeout)
# The owner's controls (operators' are the same less the owner's checks).
_CONTROL = (GameNotFound, NotAPlayer, OwnerOnly, RuntimeNotFound, WrongRuntimeStatus)


def _version(v: EngineVersion) -> EngineVersionOut:
    return EngineVersionOut(
        version=v.version, image=v.image, default=v.is_default, enabled=v.enabled
    )


def user_router(service: RuntimeService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/user/games", tags=["gameplay"])
    _orders_routes(router, service)
    _reading_routes(router, service)
    _owner_control_routes(router, service)
    return router


def _orders_routes(router: APIRouter, service: RuntimeService) -> None:
    """A player's orders: sent, checked without sending, read back."""

    @router.put(
        "/{game_id}/orders",
        summary="Send this turn's orders (the engine's verdict)",
        responses=errors_of(*_PLAYER, GameFinished, *_ENGINE),
    )
    async def orders(game_id: UUID, body: OrdersIn, principal: CurrentUser) -> OrdersOut:
        verdict = await service.playing.submit_orders(game_id, UUID(principal.subject), body.orders)
        return OrdersOut.model_validate(verdict)

    @router.post(
        "/{game_id}/orders/check",
        summary="The engine's verdict on orders, without sending them (a live check)",
        responses=errors_of(TooManyRequests, *_PLAYER, GameFinished, *_ENGINE),
    )
    async def check_orders(game_id: UUID, body: OrdersIn, principal: CurrentUser) -> OrdersOut:
        verdict = await service.playing.check_orders(game_id, UUID(principal.subject), body.orders)
        return OrdersOut.model_validate(verdict)

    @router.get(
        "/{game_id}/orders",
        summary="The orders you sent for the next turn (null when none)",
        responses=errors_of(*_PLAYER, GameFinished, *_ENGINE),
    )
    async def sent_orders(game_id: UUID, principal: CurrentUser) -> SentOrdersOut:
        sent = await service.playing.sent_orders(game_id, UUID(principal.subject))
        return SentOrdersOut.model_validate(sent)


def _reading_routes(router: APIRouter, service: RuntimeService) -> None:
    """A player's reports and the game's standing, from what the backend keeps."""

    @router.get(
        "/{game_id}/reports/{turn}",
        summary="Your report of a turn: JSON, or the text report with ?format=text (kept by "
        "the backend: the engine need not run)",
        responses={
            200: {"content": {"text/plain": {}, "application/json": {}}},
            **errors_of(*_PLAYER, UnknownTurn, *_ENGINE),
        },
    )
    async def report(
        game_id: UUID,
        turn: Turn,
        principal: CurrentUser,
        format: Literal["json", "text"] = "json",
    ) -> Response:
        text = format == "text"
        kept = await service.playing.report_of(game_id, UUID(principal.subject), turn, text=text)
        if text:
            return PlainTextResponse(kept)
        return Response(kept, media_type="application/json")

    @router.get(
        "/{game_id}/status",
        summary="The standing after the last turn, the next turn's time, who sent orders",
        responses=errors_of(*_PLAYER),
    )
    async def status(game_id: UUID, principal: CurrentUser) -> GameStandingOut:
        found = await service.playing.standing_for(game_id, UUID(principal.subject))
        return GameStandingOut(
            turn=found.turn,
            finished=found.finished,
            status=found.status,
            next_turn_at=found.next_turn_at,
            winner=found.winner,
            players=[PlayerStandingOut.model_validate(p) for p in found.players],
            ranking=[RankOut.model_validate(r) for r in found.ranking],
            engine_answered=found.engine_answered,
        )


def _owner_control_routes(router: APIRouter, service: RuntimeService) -> None:
    """The game's owner: a turn now, the schedule stopped and started again."""

    @router.post(
        "/{game_id}/force-next-turn",
        status_code=202,
        summary="Run the next turn now",
        responses=errors_of(*_CONTROL, ForceTurnCooldown),
    )
    async def force(game_id: UUID, principal: CurrentUser) -> AcceptedOut:
        await service.controls.force_next_turn(game_id, by_owner=UUID(principal.subject))
        return AcceptedOut()

    @router.post(
        "/{game_id}/pause",
        summary="Stop the turn schedule (the game's owner)",
        responses=errors_of(*_CONTROL),
    )
    async def pause(game_id: UUID, principal: CurrentUser) -> AcceptedOut:
        await service.controls.pause(game_id, by_owner=UUID(principal.subject))
        return AcceptedOut()

    @router.post(
        "/{game_id}/resume",
        summary="Start the turn schedule again (the owner)",
        responses=errors_of(*_CONTROL),
    )
    async def resume(game_id: UUID, principal: CurrentUser) -> AcceptedOut:
        await service.controls.resume(game_id, by_owner=UUID(principal.subject))
        return AcceptedOut()


def admin_router(service: RuntimeService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin", tags=["runtime"])
    _record_routes(router, service)
    _operator_control_routes(router, service)
    _version_routes(router, service)
    return router


def _record_routes(router: APIRouter, service: RuntimeService) -> None:
    """Runtime records, a game's with its turns, and the jobs."""

    @router.get("/runtime/records", summary="Runtime records, by game id")
    async def records(
        _: AdminReader,
        status: RecordStatus | None = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> RecordPage:
        items, following = await service.records(status=status, cursor=cursor, limit=limit)
        return RecordPage(items=[RecordOut.model_validate(r) for r in items], next_cursor=following)

    @router.get(
        "/runtime/records/{game_id}",
        summary="A game's runtime record and its turns",
        responses=errors_of(RuntimeNotFound),
    )
    async def record(game_id: UUID, _: AdminReader) -> RecordDetailOut:
        found = await service.record(game_id)
        turns = await service.turns(game_id)
        return RecordDetailOut.model_validate(
            {
                **dict(RecordOut.model_validate(found)),
                "turns": turns,
                "final_ranking": found.final_ranking,
            }
        )

    @router.get("/runtime/jobs", summary="Runtime jobs, newest first")
    async def jobs(
        _: AdminReader,
        game_id: UUID | None = None,
        status: JobStatus | None = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> JobPage:
        items, following = await service.jobs(
            game_id=game_id, status=status, cursor=cursor, limit=limit
        )
        return JobPage(items=[JobOut.model_validate(j) for j in items], next_cursor=following)


def _operator_control_routes(router: APIRouter, service: RuntimeService) -> None:
    """Operators' controls of a game's engine, audited: the owner's, and stop and restart."""

    @router.post(
        "/games/{game_id}/force-next-turn",
        status_code=202,
        summary="Run a turn now",
        responses=errors_of(RuntimeNotFound, WrongRuntimeStatus),
    )
    async def force(game_id: UUID, principal: AdminWriter, request: Request) -> AcceptedOut:
        await service.controls.force_next_turn(
            game_id, actor=Actor.of(principal, client_ip(request))
        )
        return AcceptedOut()

    @router.post(
        "/games/{game_id}/pause",
        summary="Stop a game's turn schedule (audited)",
        responses=errors_of(RuntimeNotFound, WrongRuntimeStatus),
    )
    async def pause(game_id: UUID, principal: AdminWriter, request: Request) -> AcceptedOut:
        await service.controls.pause(game_id, actor=Actor.of(principal, client_ip(request)))
        return AcceptedOut()

    @router.post(
        "/games/{game_id}/resume",
        summary="Start a game's schedule again (audited)",
        responses=errors_of(RuntimeNotFound, WrongRuntimeStatus),
    )
    async def resume(game_id: UUID, principal: AdminWriter, request: Request) -> AcceptedOut:
        await service.controls.resume(game_id, actor=Actor.of(principal, client_ip(request)))
        return AcceptedOut()

    @router.post(
        "/games/{game_id}/stop",
        status_code=202,
        summary="Stop a game's engine",
        responses=errors_of(RuntimeNotFound, RuntimeBusy),
    )
    async def stop(game_id: UUID, principal: AdminWriter, request: Request) -> JobOut:
        actor = Actor.of(principal, client_ip(request))
        return JobOut.model_validate(await service.controls.operator_job(game_id, "stop", actor))

    @router.post(
        "/games/{game_id}/restart",
        status_code=202,
        summary="Restart a game's engine",
        responses=errors_of(RuntimeNotFound, RuntimeBusy),
    )
    async def restart(game_id: UUID, principal: AdminWriter, request: Request) -> JobOut:
        actor = Actor.of(principal, client_ip(request))
        return JobOut.model_validate(await service.controls.operator_job(game_id, "restart", actor))


def _version_routes(router: APIRouter, service: RuntimeService) -> None:
    """The registry of engine versions: the one catalogue games choose from."""

    @router.get("/runtime/engine-versions", summary="Engine versions and their images")
    async def versions(_: AdminReader) -> EngineVersionsOut:
        return EngineVersionsOut(items=[_version(v) for v in await service.versions.all()])

    @router.put(
        "/runtime/engine-versions/{version}",
        summary="Add or change an engine version; take one out of what new games may use",
        responses=errors_of(DefaultVersionTakenOut),
    )
    async def put_version(
        version: VersionName, body: EngineVersionIn, principal: AdminWriter, request: Request
    ) -> EngineVersionOut:
        changed = await service.versions.put(
            version,
            image=body.image,
            is_default=body.default,
            enabled=body.enabled,
            actor=Actor.of(principal, client_ip(request)),
        )
        return _version(changed)
