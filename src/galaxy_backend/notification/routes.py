"""HTTP routes of notifications: the inbox, preferences, one-click unsubscribe, operators."""

import html
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor
from galaxy_backend.notification import catalogue
from galaxy_backend.notification.errors import (
    BroadcastNotFound,
    DeadLetterNotFound,
    InvalidUnsubscribeToken,
    NotificationNotFound,
    UnknownKind,
    UnknownUsers,
)
from galaxy_backend.notification.oversight import Broadcast
from galaxy_backend.notification.repository import DeadLetter
from galaxy_backend.notification.schemas import (
    AdminNotificationIn,
    AdminNotificationOut,
    BroadcastOut,
    ChannelName,
    DeadLetterOut,
    DeadLetterPage,
    InboxOut,
    KindName,
    MarkedOut,
    NotificationOut,
    PreferenceOut,
    PreferencesIn,
    PreferencesOut,
    RequeuedOut,
    RequeueKindIn,
    Token,
    UnsubscribedOut,
)
from galaxy_backend.notification.service import (
    NotificationService,
    Preference,
)
from galaxy_backend.server.auth import (
    AdminReader,
    AdminWriter,
    CurrentUser,
    client_ip,
)
from galaxy_backend.server.errors import errors_of
from galaxy_backend.server.html import CSP_HEADER, inline_style_hashes, page_policy
from galaxy_backend.server.http_app import audience_router


def _preferences(items: list[Preference]) -> PreferencesOut:
    return PreferencesOut(
        items=[
            PreferenceOut(
                kind=p.kind.name, description=p.kind.description, push=p.push, email=p.email
            )
            for p in items
        ]
    )


def _broadcast(b: Broadcast) -> BroadcastOut:
    return BroadcastOut(
        id=b.id,
        kind=b.kind,
        title=b.title,
        channels=b.channels,
        created_by=b.created_by,
        created_at=b.created_at,
        recipients=b.recipients,
        finished_at=b.finished_at,
    )


def _dead_letter(d: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        id=d.id,
        route_id=d.route_id,
        notification_id=d.notification_id,
        user_id=d.user_id,
        kind=d.kind,
        channel=d.channel,
        attempts=d.attempts,
        last_error=d.last_error,
        created_at=d.created_at,
    )


def user_router(service: NotificationService) -> APIRouter:
    router = audience_router("user", tags=["notifications"])

    @router.get("/notifications", summary="The inbox, newest first")
    async def inbox(
        principal: CurrentUser,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        unread_only: bool = False,
    ) -> InboxOut:
        items, following, unread = await service.inbox(
            UUID(principal.subject), cursor=cursor, limit=limit, unread_only=unread_only
        )
        return InboxOut(
            items=[
                NotificationOut(
                    id=i.id,
                    kind=i.kind,
                    title=i.title,
                    body=i.body,
                    payload=i.payload,
                    created_at=i.created_at,
                    read_at=i.read_at,
                )
                for i in items
            ],
            next_cursor=following,
            unread_count=unread,
        )

    @router.post(
        "/notifications/{notification_id}/read",
        status_code=204,
        responses=errors_of(NotificationNotFound),
    )
    async def mark_read(notification_id: UUID, principal: CurrentUser) -> Response:
        await service.mark_read(UUID(principal.subject), notification_id)
        return Response(status_code=204)

    @router.post("/notifications/read-all", summary="Mark every notification read")
    async def mark_all_read(principal: CurrentUser) -> MarkedOut:
        return MarkedOut(marked=await service.mark_all_read(UUID(principal.subject)))

    @router.delete(
        "/notifications/{notification_id}",
        status_code=204,
        responses=errors_of(NotificationNotFound),
    )
    async def delete(notification_id: UUID, principal: CurrentUser) -> Response:
        await service.delete(UUID(principal.subject), notification_id)
        return Response(status_code=204)

    @router.get("/me/notification-preferences", summary="Channels per notification kind")
    async def preferences(principal: CurrentUser) -> PreferencesOut:
        return _preferences(await service.preferences(UUID(principal.subject)))

    @router.patch(
        "/me/notification-preferences",
        summary="Turn channels of kinds on or off",
        responses=errors_of(UnknownKind),
    )
    async def update_preferences(body: PreferencesIn, principal: CurrentUser) -> PreferencesOut:
        changes = {kind: (c.push, c.email) for kind, c in body.preferences.items()}
        return _preferences(await service.update_preferences(UUID(principal.subject), changes))

    return router


_CONFIRM_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
<style>body {{ font-family: sans-serif }}</style></head>
<body>
<p>Stop the mails about: {description}?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>
</body></html>
"""


# No script at all; its one style block by hash; the form posts back here.
_CONFIRM_POLICY = page_policy(styles=inline_style_hashes(_CONFIRM_PAGE.format(description="")))


def public_router(service: NotificationService) -> APIRouter:
    router = audience_router("public", tags=["notifications"])

    # GET only asks: link scanners in mail systems fetch links, and must not unsubscribe.
    @router.get(
        "/notifications/unsubscribe",
        response_class=HTMLResponse,
        summary="The page of an email's unsubscribe link (asks before it changes anything)",
    )
    async def unsubscribe_page(token: Annotated[Token, Query()]) -> HTMLResponse:
        _, name = service.verify_unsubscribe(token)
        kind = catalogue.BY_NAME[name]
        return HTMLResponse(
            _CONFIRM_PAGE.format(description=html.escape(kind.description)),
            headers={CSP_HEADER: _CONFIRM_POLICY},
        )

    @router.post(
        "/notifications/unsubscribe",
        summary="One-click unsubscribe (RFC 8058): turn email off for the link's kind",
        responses=errors_of(InvalidUnsubscribeToken),
    )
    async def unsubscribe(token: Annotated[Token, Query()]) -> UnsubscribedOut:
        kind = await service.unsubscribe(token)
        return UnsubscribedOut(kind=kind.name, email=False)

    return router


def admin_router(service: NotificationService) -> APIRouter:
    router = audience_router("admin", tags=["notifications"])

    @router.post(
        "/notifications",
        status_code=202,
        summary="An operator's message to given players or to every active one (audited)",
        responses=errors_of(UnknownUsers),
    )
    async def send(
        body: AdminNotificationIn, principal: AdminWriter, request: Request
    ) -> AdminNotificationOut:
        actor = Actor.of(principal, client_ip(request))
        if body.audience == "all":
            broadcast = await service.broadcast(
                title=body.title,
                body=body.body,
                payload=body.payload,
                channels=body.channels,
                actor=actor,
            )
            return AdminNotificationOut(notification_ids=[], broadcast_id=broadcast.id)
        assert body.user_ids is not None
        created = await service.send(
            user_ids=body.user_ids,
            title=body.title,
            body=body.body,
            payload=body.payload,
            channels=body.channels,
            actor=actor,
        )
        return AdminNotificationOut(notification_ids=created)

    @router.get(
        "/notifications/broadcasts/{broadcast_id}",
        summary="A broadcast's progress",
        responses=errors_of(BroadcastNotFound),
    )
    async def broadcast_status(broadcast_id: UUID, _: AdminReader) -> BroadcastOut:
        return _broadcast(await service.broadcast_status(broadcast_id))

    @router.get("/notifications/dead-letters", summary="Routes that failed for good")
    async def dead_letters(
        _: AdminReader,
        kind: Annotated[KindName | None, Query()] = None,
        channel: ChannelName | None = None,
        user_id: UUID | None = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> DeadLetterPage:
        items, following = await service.dead_letters(
            kind=kind, channel=channel, user_id=user_id, cursor=cursor, limit=limit
        )
        return DeadLetterPage(items=[_dead_letter(d) for d in items], next_cursor=following)

    @router.post(
        "/notifications/dead-letters/{dead_letter_id}/requeue",
        status_code=202,
        summary="Deliver a dead route again, with a fresh budget (audited)",
        responses=errors_of(DeadLetterNotFound),
    )
    async def requeue(
        dead_letter_id: UUID, principal: AdminWriter, request: Request
    ) -> DeadLetterOut:
        return _dead_letter(
            await service.requeue(dead_letter_id, Actor.of(principal, client_ip(request)))
        )

    @router.post(
        "/notifications/dead-letters/requeue",
        status_code=202,
        summary="Deliver every dead route of a kind again (audited)",
        responses=errors_of(UnknownKind),
    )
    async def requeue_kind(
        body: RequeueKindIn, principal: AdminWriter, request: Request
    ) -> RequeuedOut:
        count = await service.requeue_kind(body.kind, Actor.of(principal, client_ip(request)))
        return RequeuedOut(requeued=count)

    return router
