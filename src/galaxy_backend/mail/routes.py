"""Admin routes for mail: list deliveries by status, retry a failed one."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor
from galaxy_backend.mail.models import Delivery, DeliveryStatus
from galaxy_backend.mail.service import MAX_LIST_LIMIT, MailService
from galaxy_backend.server.auth import (
    AdminReader,
    AdminWriter,
    client_ip,
)
from galaxy_backend.server.http_app import audience_router


class DeliveryOut(BaseModel):
    id: UUID
    kind: str
    to: str
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> "DeliveryOut":
        return cls(
            id=delivery.id,
            kind=delivery.kind,
            to=delivery.to_address,
            subject=delivery.subject,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
            sent_at=delivery.sent_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def admin_router(service: MailService) -> APIRouter:
    router = audience_router("admin", tags=["mail"])

    @router.get("/mail/deliveries", summary="Mail deliveries, newest first")
    async def list_deliveries(
        _: AdminReader,
        status: DeliveryStatus | None = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
    ) -> DeliveryPage:
        items, next_cursor = await service.list_deliveries(
            status=status, cursor=cursor, limit=limit
        )
        return DeliveryPage(items=[DeliveryOut.of(d) for d in items], next_cursor=next_cursor)

    @router.post(
        "/mail/deliveries/{delivery_id}/retry", summary="Send a failed mail again (audited)"
    )
    async def retry_delivery(
        delivery_id: UUID,
        request: Request,
        principal: AdminWriter,
    ) -> DeliveryOut:
        actor = Actor.of(principal, client_ip(request))
        return DeliveryOut.of(await service.retry(delivery_id, actor))

    return router
