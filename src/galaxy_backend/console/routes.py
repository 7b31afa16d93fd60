"""Admin routes the console needs beyond each domain's own: the platform's status, a
player's sessions, games, race names and inbox, a game's applications, engine and turns,
a mail's attempts and the broadcasts. Reads are open to every operator; revoking a
session needs the admin role and is audited."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from galaxy_backend.audit.trail import Actor
from galaxy_backend.auth.errors import SessionNotFound
from galaxy_backend.console.errors import DeliveryNotFound
from galaxy_backend.console.schemas import (
    AttemptOut,
    BroadcastPage,
    BroadcastSummaryOut,
    CacheOut,
    ComponentOut,
    DeadLettersOut,
    DeliveryDetailOut,
    EngineStateOut,
    LoopOut,
    MailQueueOut,
    PlayerGameOut,
    PlayerGamePage,
    PlayerRaceNamePage,
    PlayerSessionOut,
    PlayerSessionPage,
    PoolOut,
    PushOut,
    QueuesOut,
    RouteQueueOut,
    RouteStateOut,
    RuntimeOut,
    SchedulerOut,
    SentNotificationOut,
    SentNotificationPage,
    StatusOut,
    SubscriberOut,
    TurnPage,
)
from galaxy_backend.console.service import ConsoleReads
from galaxy_backend.console.status import StatusBoard
from galaxy_backend.kernel.fields import Cursor
from galaxy_backend.lobby.errors import GameNotFound
from galaxy_backend.lobby.schemas import ApplicationList
from galaxy_backend.lobby.views import application_view, race_name_view
from galaxy_backend.mail.schemas import DeliveryOut
from galaxy_backend.runtime.errors import RuntimeNotFound
from galaxy_backend.runtime.schemas import (
    GameStandingOut,
    PlayerStandingOut,
    RankOut,
    RecordOut,
    TurnOut,
)
from galaxy_backend.server.auth import AdminReader, AdminWriter, client_ip
from galaxy_backend.server.errors import errors_of
from galaxy_backend.server.http_app import audience_router
from galaxy_backend.user.errors import UserNotFound

Limit = Annotated[int, Query(ge=1, le=200)]
# The last turn of a page: the next page holds the turns before it.
TurnCursor = Annotated[str, Field(pattern=r"^[0-9]{1,9}$")]


def admin_router(board: StatusBoard, reads: ConsoleReads) -> APIRouter:
    router = audience_router("admin", tags=["console"])

    @router.get("/status", summary="The platform at a glance (the console's status page)")
    async def status(_: AdminReader) -> StatusOut:
        found = await board.status()
        notifications = found.notifications
        return StatusOut(
            generated_at=found.generated_at,
            ready=found.ready,
            reasons=found.reasons,
            components=[ComponentOut(name=c.name, started=c.started) for c in found.components],
            loops=[
                LoopOut(
                    name=loop.name,
                    rounds=loop.rounds,
                    seconds_since_round=round(loop.age, 3),
                    overdue=loop.overdue,
                )
                for loop in found.loops
            ],
            caches=[CacheOut(name=c.name, warm=c.warm) for c in found.caches],
            database_pool=PoolOut(
                size=found.pool.size,
                idle=found.pool.idle,
                max_size=found.pool.max_size,
                embedded=found.pool.embedded,
            ),
            queues=QueuesOut(
                mail=MailQueueOut(
                    pending=found.mail["pending"],
                    sending=found.mail["sending"],
                    retrying=found.mail["retrying"],
                    failed=found.mail["failed"],
                ),
                notification_routes=[
                    RouteQueueOut(
                        channel=channel,
                        pending=notifications[f"{channel}.pending"],
                        delivering=notifications[f"{channel}.delivering"],
                    )
                    for channel in ("push", "email")
                ],
                runtime_jobs={
                    "queued": found.runtime.jobs_queued,
                    "running": found.runtime.jobs_running,
                },
            ),
            dead_letters=DeadLettersOut(
                notifications=notifications["dead_letters"], mail_failed=found.mail["failed"]
            ),
            push=PushOut(
                last_cursor=found.push.last_cursor,
                oldest_cursor=found.push.oldest_cursor,
                retained=found.push.retained,
                capacity=found.push.capacity,
                subscribers=[
                    SubscriberOut(gateway_id=s.gateway_id, cursor=s.cursor, lag=s.lag)
                    for s in found.subscribers
                ],
            ),
            runtime=RuntimeOut(
                driver=found.runtime.driver,
                records=found.runtime.records,
                engines_running=found.runtime.engines_running,
                max_engines=found.runtime.max_engines,
                scheduler=SchedulerOut(
                    ticks_due=found.runtime.ticks_due,
                    lag_seconds=round(found.runtime.scheduler_lag_seconds, 3),
                ),
            ),
            count_cap=found.count_cap,
            database_ms=found.database_ms,
        )

    @router.get(
        "/users/{user_id}/sessions",
        summary="A player's live sessions",
        tags=["users"],
        responses=errors_of(UserNotFound),
    )
    async def sessions(
        user_id: UUID,
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> PlayerSessionPage:
        found, following = await reads.sessions_of(user_id, cursor=cursor, limit=limit)
        return PlayerSessionPage(
            items=[
                PlayerSessionOut(
                    id=s.id,
                    device_name=s.device_name,
                    client_ip=s.client_ip,
                    user_agent=s.user_agent,
                    created_at=s.created_at,
                    last_seen_at=s.last_seen_at,
                    expires_at=s.expires_at,
                )
                for s in found
            ],
            next_cursor=following,
        )

    @router.post(
        "/users/{user_id}/sessions/{session_id}/revoke",
        status_code=204,
        summary="End one of a player's sessions at once (audited)",
        tags=["users"],
        responses=errors_of(SessionNotFound),
    )
    async def revoke_session(
        user_id: UUID, session_id: UUID, principal: AdminWriter, request: Request
    ) -> Response:
        await reads.revoke_session(user_id, session_id, Actor.of(principal, client_ip(request)))
        return Response(status_code=204)

    @router.get(
        "/users/{user_id}/games",
        summary="Games a player owns, plays or applied to, newest first",
        tags=["users"],
        responses=errors_of(UserNotFound),
    )
    async def games(
        user_id: UUID,
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> PlayerGamePage:
        found, following = await reads.games_of(user_id, cursor=cursor, limit=limit)
        return PlayerGamePage(
            items=[
                PlayerGameOut(
                    id=game.id,
                    name=game.name,
                    status=game.status,
                    current_turn=game.current_turn,
                    role=role,
                    race_name=next(
                        (p.race_name for p in game.players if p.user_id == user_id), None
                    ),
                    created_at=game.created_at,
                )
                for game, role in found
            ],
            next_cursor=following,
        )

    @router.get(
        "/users/{user_id}/race-names",
        response_model=PlayerRaceNamePage,
        summary="The race names a player holds (pending or reserved), newest first",
        tags=["users"],
        responses=errors_of(UserNotFound),
    )
    async def race_names(
        user_id: UUID,
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        found, following = await reads.race_names_of(user_id, cursor=cursor, limit=limit)
        return {
            "items": [race_name_view(e, admin=True) for e in found],
            "next_cursor": following,
        }

    @router.get(
        "/users/{user_id}/notifications",
        summary="What a player's inbox holds, newest first, with each channel's delivery",
        tags=["users"],
        responses=errors_of(UserNotFound),
    )
    async def notifications(
        user_id: UUID,
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> SentNotificationPage:
        found, following = await reads.notifications_of(user_id, cursor=cursor, limit=limit)
        return SentNotificationPage(
            items=[
                SentNotificationOut(
                    id=n.id,
                    kind=n.kind,
                    title=n.title,
                    body=n.body,
                    created_at=n.created_at,
                    read_at=n.read_at,
                    routes=[
                        RouteStateOut(
                            channel=r.channel,
                            status=r.status,
                            attempts=r.attempts,
                            last_error=r.last_error,
                            delivered_at=r.delivered_at,
                        )
                        for r in n.routes
                    ],
                )
                for n in found
            ],
            next_cursor=following,
        )

    @router.get(
        "/games/{game_id}/applications",
        response_model=ApplicationList,
        summary="Every application to a game, the oldest first",
        tags=["lobby"],
        responses=errors_of(GameNotFound),
    )
    async def applications(
        game_id: UUID,
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        found, following = await reads.applications_of(game_id, cursor=cursor, limit=limit)
        return {"items": [application_view(a) for a in found], "next_cursor": following}

    @router.get(
        "/games/{game_id}/engine",
        summary="A game's runtime record and standing, with who has sent orders",
        tags=["runtime"],
        responses=errors_of(RuntimeNotFound),
    )
    async def engine(game_id: UUID, _: AdminReader) -> EngineStateOut:
        record, standing = await reads.engine_of(game_id)
        return EngineStateOut(
            record=RecordOut.model_validate(record),
            standing=GameStandingOut(
                turn=standing.turn,
                finished=standing.finished,
                status=standing.status,
                next_turn_at=standing.next_turn_at,
                winner=standing.winner,
                players=[PlayerStandingOut.model_validate(p) for p in standing.players],
                ranking=[RankOut.model_validate(r) for r in standing.ranking],
                engine_answered=standing.engine_answered,
            ),
        )

    @router.get(
        "/games/{game_id}/turns",
        summary="A game's turns, the newest first",
        tags=["runtime"],
        responses=errors_of(RuntimeNotFound),
    )
    async def turns(
        game_id: UUID,
        _: AdminReader,
        cursor: Annotated[TurnCursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> TurnPage:
        found, following = await reads.turns_of(
            game_id, before=int(cursor) if cursor else None, limit=limit
        )
        return TurnPage(
            items=[TurnOut.model_validate(t) for t in found],
            next_cursor=str(following) if following is not None else None,
        )

    @router.get(
        "/mail/deliveries/{delivery_id}",
        summary="A mail delivery with every attempt made",
        tags=["mail"],
        responses=errors_of(DeliveryNotFound),
    )
    async def delivery(delivery_id: UUID, _: AdminReader) -> DeliveryDetailOut:
        found, attempts = await reads.delivery(delivery_id)
        return DeliveryDetailOut(
            **DeliveryOut.of(found).model_dump(),
            attempts_made=[
                AttemptOut(
                    attempt=a.attempt,
                    started_at=a.started_at,
                    finished_at=a.finished_at,
                    outcome=a.outcome,
                    smtp_code=a.smtp_code,
                    error=a.error,
                )
                for a in attempts
            ],
        )

    @router.get(
        "/notifications/broadcasts",
        summary="Broadcasts to every player, newest first, with how far each got",
        tags=["notifications"],
    )
    async def broadcasts(
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Limit = 50,
    ) -> BroadcastPage:
        found, following = await reads.broadcasts(cursor=cursor, limit=limit)
        return BroadcastPage(
            items=[
                BroadcastSummaryOut(
                    id=b.id,
                    kind=b.kind,
                    title=b.title,
                    channels=b.channels,
                    created_by=b.created_by,
                    created_at=b.created_at,
                    recipients=b.recipients,
                    finished_at=b.finished_at,
                )
                for b in found
            ],
            next_cursor=following,
        )

    return router
