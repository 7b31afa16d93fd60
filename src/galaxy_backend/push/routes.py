"""Push routes for the gateway: where the ring stands, so a gateway can check its cursor."""

from pydantic import BaseModel

from galaxy_backend.push.service import PushService
from galaxy_backend.server.fastpath import FastRequest, FastRoute, Reply, json_reply


class PushStatusOut(BaseModel):
    last_cursor: int
    oldest_cursor: int
    retained: int
    capacity: int
    subscribers: int


def push_routes(service: PushService) -> list[FastRoute]:
    async def push_status(_: FastRequest) -> Reply:
        status = service.status()
        return json_reply(
            {
                "last_cursor": status.last_cursor,
                "oldest_cursor": status.oldest_cursor,
                "retained": status.retained,
                "capacity": status.capacity,
                "subscribers": status.subscribers,
            }
        )

    return [
        FastRoute(
            "GET",
            "/api/v1/internal/push/status",
            push_status,
            audience="internal",
            summary="The push ring's cursors and open subscriptions",
            response_model=PushStatusOut,
            tags=("push",),
        ),
    ]
