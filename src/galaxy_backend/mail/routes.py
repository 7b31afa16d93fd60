"""Admin routes for mail: list deliveries by status, retry a failed one."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor
from galaxy_backend.mail.errors import (
    MailDeliveryNotFailed,
    MailDeliveryNotFound,
    MailDeliveryRedacted,
)
from galaxy_backend.mail.models import DeliveryStatus
from galaxy_backend.mail.schemas import (
    DeliveryOut,
    DeliveryPage,
)
from galaxy_backend.mail.service import MAX_LIST_LIMIT, MailService
from galaxy_backend.server.auth import (
    AdminReader,
    AdminWriter,
    client_ip,
)
from galaxy_backend.server.errors import errors_of
from galaxy_backend.server.http_app import audience_router


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
        "/mail/deliveries/{delivery_id}/retry",
        summary="Send a failed mail again (audited)",
        responses=errors_of(MailDeliveryNotFound, MailDeliveryNotFailed, MailDeliveryRedacted),
    )
    async def retry_delivery(
        delivery_id: UUID,
        request: Request,
        principal: AdminWriter,
    ) -> DeliveryOut:
        actor = Actor.of(principal, client_ip(request))
        return DeliveryOut.of(await service.retry(delivery_id, actor))

    return router
