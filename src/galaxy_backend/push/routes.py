"""Push routes for the gateway: where the ring stands, so a gateway can check its cursor."""

from typing import Annotated

from fastapi import APIRouter, Depends

from galaxy_backend.push.schemas import PushStatusOut
from galaxy_backend.push.service import PushService
from galaxy_backend.server.auth import Principal, current_principal
from galaxy_backend.server.http_app import audience_router


def internal_router(service: PushService) -> APIRouter:
    router = audience_router("internal", tags=["push"])

    @router.get(
        "/push/status",
        response_model=PushStatusOut,
        summary="The push ring's cursors and open subscriptions",
    )
    async def push_status(_: Annotated[Principal, Depends(current_principal)]) -> PushStatusOut:
        status = service.status()
        return PushStatusOut(
            last_cursor=status.last_cursor,
            oldest_cursor=status.oldest_cursor,
            retained=status.retained,
            capacity=status.capacity,
            subscribers=status.subscribers,
        )

    return router
