"""HTTP routes of players (`/api/v1/user/me...`) and of operators over players."""

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor, Text
from galaxy_backend.server.auth import (
    AdminReader,
    AdminWriter,
    CurrentUser,
    client_ip,
)
from galaxy_backend.server.errors import errors_of
from galaxy_backend.server.fastpath import FastRequest, FastRoute, Reply, json_reply
from galaxy_backend.server.http_app import audience_router
from galaxy_backend.user.errors import UserNotFound
from galaxy_backend.user.models import User
from galaxy_backend.user.schemas import (
    AdminUserList,
    AdminUserOut,
    BlockIn,
    EntitlementsIn,
    EntitlementsOut,
    ProfileIn,
    UserOut,
    admin_user_view,
    user_view,
)
from galaxy_backend.user.service import ProfileChanges, UserService


def user_fast_routes(service: UserService) -> list[FastRoute]:
    # The reply depends on the user alone (the default entitlements are fixed at start):
    # encoded once per cached user, and again after any change replaces the entry.
    replies = service.cache.derived(
        lambda user: json_reply(user_view(user, service.entitlements(user)))
    )

    async def me(request: FastRequest) -> Reply:
        # The edge resolved the session from the caches; the user rides on the principal.
        assert request.principal is not None
        user: User = request.principal.attributes["user"]
        return replies.get(user.id, user)

    return [
        FastRoute(
            "GET",
            "/api/v1/user/me",
            me,
            audience="user",
            summary="The signed-in player",
            response_model=UserOut,
            tags=("user",),
        ),
    ]


def user_router(service: UserService) -> APIRouter:
    router = audience_router("user", tags=["user"])

    @router.patch("/me", response_model=UserOut)
    async def update_me(changes: ProfileIn, principal: CurrentUser) -> dict[str, Any]:
        user = await service.update_profile(
            UUID(principal.subject),
            ProfileChanges(changes.display_name, changes.language, changes.time_zone),
        )
        return user_view(user, service.entitlements(user))

    @router.delete("/me", status_code=204)
    async def delete_me(principal: CurrentUser) -> Response:
        await service.delete_account(UUID(principal.subject))
        return Response(status_code=204)

    @router.get("/me/entitlements", response_model=EntitlementsOut)
    async def my_entitlements(principal: CurrentUser) -> dict[str, Any]:
        user = await service.get(UUID(principal.subject))
        return asdict(service.entitlements(user))

    return router


def admin_router(service: UserService) -> APIRouter:
    router = audience_router("admin", tags=["users"])

    @router.get("/users", response_model=AdminUserList)
    async def list_users(
        _: AdminReader,
        query: Annotated[Annotated[str, Text(100)] | None, Query()] = None,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        users, following = await service.search(query=query, cursor=cursor, limit=limit)
        return {
            "items": [admin_user_view(u, service.entitlements(u)) for u in users],
            "next_cursor": following,
        }

    @router.get("/users/{user_id}", response_model=AdminUserOut, responses=errors_of(UserNotFound))
    async def get_user(user_id: UUID, _: AdminReader) -> dict[str, Any]:
        user = await service.get(user_id)
        return admin_user_view(user, service.entitlements(user))

    @router.post(
        "/users/{user_id}/block", response_model=AdminUserOut, responses=errors_of(UserNotFound)
    )
    async def block_user(
        user_id: UUID, body: BlockIn, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        user = await service.block(
            user_id,
            kind=body.kind,
            reason=body.reason,
            until=body.until,
            actor=Actor.of(principal, client_ip(request)),
        )
        return admin_user_view(user, service.entitlements(user))

    @router.post(
        "/users/{user_id}/unblock", response_model=AdminUserOut, responses=errors_of(UserNotFound)
    )
    async def unblock_user(
        user_id: UUID, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        user = await service.unblock(user_id, actor=Actor.of(principal, client_ip(request)))
        return admin_user_view(user, service.entitlements(user))

    @router.put(
        "/users/{user_id}/entitlements",
        response_model=AdminUserOut,
        responses=errors_of(UserNotFound),
    )
    async def grant_entitlements(
        user_id: UUID, body: EntitlementsIn, principal: AdminWriter, request: Request
    ) -> dict[str, Any]:
        user = await service.grant(
            user_id,
            tier=body.tier,
            max_owned_games=body.max_owned_games,
            max_active_games=body.max_active_games,
            actor=Actor.of(principal, client_ip(request)),
        )
        return admin_user_view(user, service.entitlements(user))

    return router
