"""HTTP routes of the runtime: playing (orders, reports, status), the owner's and the
operators' controls, runtime records and jobs, engine versions."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor, Text
from galaxy_backend.runtime.errors import DefaultVersionTakenOut
from galaxy_backend.runtime.models import EngineVersion, JobStatus, RecordStatus
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.server.auth import AdminReader, AdminWriter, CurrentUser, client_ip
from galaxy_backend.server.errors import errors_of

Turn = Annotated[int, Path(ge=0, le=1_000_000)]
MAX_ORDERS_LENGTH = 200_000


class OrdersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: Annotated[str, Text(MAX_ORDERS_LENGTH, min_length=0, multiline=True, strip=False)]


class OrderError(BaseModel):
    line: int | None = None
    order: str | None = None
    message: str


class OrdersOut(BaseModel):
    """The engine's verdict on the orders (docs/engine.md)."""

    model_config = ConfigDict(extra="allow")
    accepted: bool
    errors: list[OrderError]
    forecast: dict[str, Any] = {}


class SentOrdersOut(BaseModel):
    """The orders kept for the next turn: `orders` is null when none were sent."""

    turn: int
    orders: str | None
    errors: list[OrderError]


class PlayerStatusOut(BaseModel):
    player_id: str | None
    race_name: str | None
    alive: bool | None
    orders_submitted: bool | None


class RankOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int | None = None
    player_id: str | None = None
    race_name: str | None = None
    alive: bool | None = None
    production: float | None = None


class GameStatusOut(BaseModel):
    """The game's standing, from what the backend keeps of each turn; `orders_submitted`
    only while its engine runs and answers (`engine_answered`)."""

    turn: int
    finished: bool
    status: str
    next_turn_at: datetime | None
    winner: str | None
    players: list[PlayerStatusOut]
    # After the last turn (the final standing once the game is over), best first.
    ranking: list[RankOut]
    engine_answered: bool


class AcceptedOut(BaseModel):
    accepted: bool = True


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    game_id: UUID
    game_name: str
    owner_id: UUID
    status: str
    driver: str
    address: str | None
    engine_version: str
    image: str
    current_turn: int
    next_tick_at: datetime | None
    skip_next_tick: bool
    turn_requested: str | None
    health_failures: int
    restarts: int
    last_error: str | None
    winner: str | None
    # Waiting for a free engine slot (BACKEND_RUNTIME_MAX_ENGINES) since then.
    waiting_since: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None


class TurnOut(BaseModel):
    turn: int
    trigger: str
    scheduled_at: datetime | None
    started_at: datetime
    finished_at: datetime


class RecordDetailOut(RecordOut):
    turns: list[TurnOut]
    final_ranking: list[dict[str, Any]] | None


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    game_id: UUID
    kind: str
    status: str
    attempts: int
    not_before: datetime
    reason: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class EngineVersionOut(BaseModel):
    version: str
    image: str
    default: bool
    # Offered for new games (GET /api/v1/public/engines lists those that are).
    enabled: bool


class EngineVersionsOut(BaseModel):
    items: list[EngineVersionOut]


class EngineVersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: Annotated[str, Text(300), Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")]
    default: bool = False
    enabled: bool = Field(
        default=True,
        description="Offered for new games; false takes the version out (games that use "
        "it keep running). The default version cannot be taken out.",
    )


VersionName = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]


def _version(v: EngineVersion) -> EngineVersionOut:
    return EngineVersionOut(
        version=v.version, image=v.image, default=v.is_default, enabled=v.enabled
    )


_MEANING: dict[int, str] = {
    403: "Not one of the game's players, of a public game (`not_a_player`)",
    404: "No such game, or a private game the caller does not play in (`game_not_found`)",
    409: "Refused by the game's state (`engine_not_running`, `game_finished`, `wrong_status`, "
    "`not_owner`) or by the engine",
    502: "The game's engine failed or cannot be reached (`engine_unreachable`, `engine_error`)",
    504: "The game's engine did not answer in time (`engine_timeout`)",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": _MEANING[code]} for code in codes}


def user_router(service: RuntimeService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/user/games", tags=["gameplay"])

    @router.put(
        "/{game_id}/orders",
        summary="Send this turn's orders (the engine's verdict)",
        responses=_errors(403, 404, 409, 502, 504),
    )
    async def orders(game_id: UUID, body: OrdersIn, principal: CurrentUser) -> OrdersOut:
        verdict = await service.submit_orders(game_id, UUID(principal.subject), body.orders)
        return OrdersOut.model_validate(verdict)

    @router.post(
        "/{game_id}/orders/check",
        summary="The engine's verdict on orders, without sending them (a live check)",
        responses=_errors(403, 404, 409, 502, 504),
    )
    async def check_orders(game_id: UUID, body: OrdersIn, principal: CurrentUser) -> OrdersOut:
        verdict = await service.check_orders(game_id, UUID(principal.subject), body.orders)
        return OrdersOut.model_validate(verdict)

    @router.get(
        "/{game_id}/orders",
        summary="The orders you sent for the next turn (null when none)",
        responses=_errors(403, 404, 409, 502, 504),
    )
    async def sent_orders(game_id: UUID, principal: CurrentUser) -> SentOrdersOut:
        sent = await service.sent_orders(game_id, UUID(principal.subject))
        return SentOrdersOut.model_validate(sent)

    @router.get(
        "/{game_id}/reports/{turn}",
        summary="Your report of a turn: JSON, or the text report with ?format=text (kept by "
        "the backend: the engine need not run)",
        responses={
            200: {"content": {"text/plain": {}, "application/json": {}}},
            **_errors(403),
            404: {"description": f"{_MEANING[404]}; a turn not run yet (`unknown_turn`)"},
        },
    )
    async def report(
        game_id: UUID,
        turn: Turn,
        principal: CurrentUser,
        format: Literal["json", "text"] = "json",
    ) -> Response:
        text = format == "text"
        kept = await service.report_of(game_id, UUID(principal.subject), turn, text=text)
        if text:
            return PlainTextResponse(kept)
        return Response(kept, media_type="application/json")

    @router.get(
        "/{game_id}/status",
        summary="The standing after the last turn, the next turn's time, who sent orders",
        responses=_errors(403, 404),
    )
    async def status(game_id: UUID, principal: CurrentUser) -> GameStatusOut:
        found = await service.status_for(game_id, UUID(principal.subject))
        return GameStatusOut(
            turn=found.turn,
            finished=found.finished,
            status=found.status,
            next_turn_at=found.next_turn_at,
            winner=found.winner,
            players=[PlayerStatusOut.model_validate(p) for p in found.players],
            ranking=[RankOut.model_validate(r) for r in found.ranking],
            engine_answered=found.engine_answered,
        )

    @router.post(
        "/{game_id}/force-next-turn",
        status_code=202,
        summary="Run the next turn now",
        responses=_errors(403, 404, 409),
    )
    async def force(game_id: UUID, principal: CurrentUser) -> AcceptedOut:
        await service.force_next_turn(game_id, by_owner=UUID(principal.subject))
        return AcceptedOut()

    @router.post("/{game_id}/pause", summary="Stop the turn schedule (the game's owner)")
    async def pause(game_id: UUID, principal: CurrentUser) -> AcceptedOut:
        await service.pause(game_id, by_owner=UUID(principal.subject))
        return AcceptedOut()

    @router.post("/{game_id}/resume", summary="Start the turn schedule again (the owner)")
    async def resume(game_id: UUID, principal: CurrentUser) -> AcceptedOut:
        await service.resume(game_id, by_owner=UUID(principal.subject))
        return AcceptedOut()

    return router


def admin_router(service: RuntimeService) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin", tags=["runtime"])

    @router.get("/runtime/records", summary="Runtime records, by game id")
    async def records(
        _: AdminReader,
        status: RecordStatus | None = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> RecordPage:
        items, following = await service.records(status=status, cursor=cursor, limit=limit)
        return RecordPage(items=[RecordOut.model_validate(r) for r in items], next_cursor=following)

    @router.get("/runtime/records/{game_id}", summary="A game's runtime record and its turns")
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

    @router.post("/games/{game_id}/force-next-turn", status_code=202, summary="Run a turn now")
    async def force(game_id: UUID, principal: AdminWriter, request: Request) -> AcceptedOut:
        await service.force_next_turn(game_id, actor=Actor.of(principal, client_ip(request)))
        return AcceptedOut()

    @router.post("/games/{game_id}/pause", summary="Stop a game's turn schedule (audited)")
    async def pause(game_id: UUID, principal: AdminWriter, request: Request) -> AcceptedOut:
        await service.pause(game_id, actor=Actor.of(principal, client_ip(request)))
        return AcceptedOut()

    @router.post("/games/{game_id}/resume", summary="Start a game's schedule again (audited)")
    async def resume(game_id: UUID, principal: AdminWriter, request: Request) -> AcceptedOut:
        await service.resume(game_id, actor=Actor.of(principal, client_ip(request)))
        return AcceptedOut()

    @router.post("/games/{game_id}/stop", status_code=202, summary="Stop a game's engine")
    async def stop(game_id: UUID, principal: AdminWriter, request: Request) -> JobOut:
        actor = Actor.of(principal, client_ip(request))
        return JobOut.model_validate(await service.operator_job(game_id, "stop", actor))

    @router.post("/games/{game_id}/restart", status_code=202, summary="Restart a game's engine")
    async def restart(game_id: UUID, principal: AdminWriter, request: Request) -> JobOut:
        actor = Actor.of(principal, client_ip(request))
        return JobOut.model_validate(await service.operator_job(game_id, "restart", actor))

    @router.get("/runtime/engine-versions", summary="Engine versions and their images")
    async def versions(_: AdminReader) -> EngineVersionsOut:
        return EngineVersionsOut(items=[_version(v) for v in await service.engine_versions()])

    @router.put(
        "/runtime/engine-versions/{version}",
        summary="Add or change an engine version; take one out of what new games may use",
        responses=errors_of(DefaultVersionTakenOut),
    )
    async def put_version(
        version: VersionName, body: EngineVersionIn, principal: AdminWriter, request: Request
    ) -> EngineVersionOut:
        changed = await service.put_engine_version(
            version,
            image=body.image,
            is_default=body.default,
            enabled=body.enabled,
            actor=Actor.of(principal, client_ip(request)),
        )
        return _version(changed)

    return router
