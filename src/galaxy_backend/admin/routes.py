"""HTTP routes of operators: login, logout, who am I, the audit trail."""

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from galaxy_backend.admin.errors import (
    InvalidCredentials,
    LastAdmin,
    LoginInProgress,
    OperatorNotFound,
    PasswordChecksBusy,
    TooManyFailedLogins,
    UsernameTaken,
)
from galaxy_backend.admin.schemas import (
    AdminMeOut,
    AuditCursor,
    AuditList,
    LoginIn,
    LoginOut,
    OperatorIn,
    OperatorOut,
    OperatorPage,
    PasswordIn,
    RoleIn,
)
from galaxy_backend.admin.service import AdminService
from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import Cursor, Moment, Text
from galaxy_backend.server.auth import AdminReader, AdminWriter, client_ip, user_agent
from galaxy_backend.server.errors import errors_of
from galaxy_backend.server.http_app import audience_router


def admin_router(service: AdminService) -> APIRouter:
    router = audience_router("admin", tags=["admin"])

    @router.post(
        "/auth/login",
        response_model=LoginOut,
        responses=errors_of(
            InvalidCredentials, LoginInProgress, TooManyFailedLogins, PasswordChecksBusy
        ),
    )
    async def login(body: LoginIn, request: Request) -> dict[str, Any]:
        result = await service.login(
            body.username,
            body.password,
            client_ip=client_ip(request),
            user_agent=user_agent(request),
        )
        return {
            "token": result.token,
            "expires_at": result.session.expires_at,
            "role": result.session.role,
        }

    @router.post("/auth/logout", status_code=204)
    async def logout(principal: AdminReader, request: Request) -> Response:
        assert principal.session_id is not None
        await service.logout(UUID(principal.session_id), Actor.of(principal, client_ip(request)))
        return Response(status_code=204)

    @router.get("/me", response_model=AdminMeOut)
    async def me(principal: AdminReader) -> dict[str, Any]:
        return {
            "id": principal.subject,
            "username": principal.attributes["username"],
            "role": next(iter(principal.roles)),
        }

    @router.get("/operators", summary="Operators, newest first")
    async def operators(
        _: AdminReader,
        cursor: Annotated[Cursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> OperatorPage:
        items, following = await service.operators(cursor=cursor, limit=limit)
        return OperatorPage(
            items=[OperatorOut.model_validate(a) for a in items], next_cursor=following
        )

    @router.post(
        "/operators",
        status_code=201,
        summary="Create an operator (audited)",
        responses=errors_of(UsernameTaken),
    )
    async def create_operator(
        body: OperatorIn, principal: AdminWriter, request: Request
    ) -> OperatorOut:
        account = await service.create_admin(
            body.username,
            body.password,
            body.role,
            actor=Actor.of(principal, client_ip(request)),
        )
        return OperatorOut.model_validate(account)

    @router.post(
        "/operators/{admin_id}/disable",
        summary="Disable an operator: every session of theirs ends at once (audited)",
        responses=errors_of(OperatorNotFound, LastAdmin),
    )
    async def disable(admin_id: UUID, principal: AdminWriter, request: Request) -> OperatorOut:
        account = await service.disable(admin_id, Actor.of(principal, client_ip(request)))
        return OperatorOut.model_validate(account)

    @router.post(
        "/operators/{admin_id}/enable",
        summary="Enable an operator again (audited)",
        responses=errors_of(OperatorNotFound),
    )
    async def enable(admin_id: UUID, principal: AdminWriter, request: Request) -> OperatorOut:
        account = await service.enable(admin_id, Actor.of(principal, client_ip(request)))
        return OperatorOut.model_validate(account)

    @router.put(
        "/operators/{admin_id}/role",
        summary="Change an operator's role (audited)",
        responses=errors_of(OperatorNotFound, LastAdmin),
    )
    async def role(
        admin_id: UUID, body: RoleIn, principal: AdminWriter, request: Request
    ) -> OperatorOut:
        account = await service.set_role(
            admin_id, body.role, Actor.of(principal, client_ip(request))
        )
        return OperatorOut.model_validate(account)

    @router.post(
        "/operators/{admin_id}/password",
        summary="Set an operator's password; their other sessions end (audited)",
        responses=errors_of(OperatorNotFound),
    )
    async def password(
        admin_id: UUID, body: PasswordIn, principal: AdminWriter, request: Request
    ) -> OperatorOut:
        # Changing one's own password keeps the session it was changed from.
        own = principal.subject == str(admin_id) and principal.session_id is not None
        account = await service.set_password(
            admin_id,
            body.password,
            Actor.of(principal, client_ip(request)),
            keep_session=UUID(str(principal.session_id)) if own else None,
        )
        return OperatorOut.model_validate(account)

    @router.get(
        "/audit",
        response_model=AuditList,
        summary="Operators' actions, newest first: by operator, action (a prefix) and time",
    )
    async def audit(
        _: AdminReader,
        *,
        operator: Annotated[Annotated[str, Text(64)] | None, Query()] = None,
        action: Annotated[Annotated[str, Text(64)] | None, Query()] = None,
        since: Annotated[Moment | None, Query()] = None,
        until: Annotated[Moment | None, Query()] = None,
        cursor: Annotated[AuditCursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        entries = await service.audit(
            before=int(cursor) if cursor else None,
            limit=limit + 1,
            operator=operator,
            action=action,
            since=since,
            until=until,
        )
        following = str(entries[limit - 1].id) if len(entries) > limit else None
        return {"items": [asdict(e) for e in entries[:limit]], "next_cursor": following}

    return router
