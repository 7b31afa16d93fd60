"""HTTP routes of operators: login, logout, who am I, the audit trail."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from galaxy_backend.admin.models import Role
from galaxy_backend.admin.service import AdminService
from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.fields import INT64_MAX, Cursor, Moment, Secret, Text
from galaxy_backend.server.auth import AdminReader, AdminWriter, client_ip, user_agent
from galaxy_backend.server.http_app import audience_router


def _audit_position(value: str) -> str:
    if int(value) > INT64_MAX:
        raise ValueError("is not a cursor this API returned")
    return value


# The id of the last entry of a page: digits within PostgreSQL's bigint.
AuditCursor = Annotated[str, Field(pattern=r"^[0-9]{1,19}$"), AfterValidator(_audit_position)]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Text(64)]
    password: Annotated[str, Secret(1024)]


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    role: str


class AdminMeOut(BaseModel):
    id: UUID
    username: str
    role: str


class OperatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    username: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


class OperatorPage(BaseModel):
    items: list[OperatorOut]
    next_cursor: str | None


class OperatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Text(64)]
    password: Annotated[str, Secret(1024)]
    role: Role = "admin"


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Secret(1024)]


class AuditOut(BaseModel):
    id: int
    admin_username: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    client_ip: str | None
    created_at: datetime


class AuditList(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


def admin_router(service: AdminService) -> APIRouter:
    router = audience_router("admin", tags=["admin"])

    @router.post("/auth/login", response_model=LoginOut)
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

    @router.post("/operators", status_code=201, summary="Create an operator (audited)")
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
    )
    async def disable(admin_id: UUID, principal: AdminWriter, request: Request) -> OperatorOut:
        account = await service.disable(admin_id, Actor.of(principal, client_ip(request)))
        return OperatorOut.model_validate(account)

    @router.post("/operators/{admin_id}/enable", summary="Enable an operator again (audited)")
    async def enable(admin_id: UUID, principal: AdminWriter, request: Request) -> OperatorOut:
        account = await service.enable(admin_id, Actor.of(principal, client_ip(request)))
        return OperatorOut.model_validate(account)

    @router.put("/operators/{admin_id}/role", summary="Change an operator's role (audited)")
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
