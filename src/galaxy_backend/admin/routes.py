"""HTTP routes of operators: login, logout, who am I, the audit trail."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from galaxy_backend.admin.audit import Actor
from galaxy_backend.admin.service import AdminService
from galaxy_backend.fields import INT64_MAX, Secret, Text
from galaxy_backend.server.auth import AdminReader, client_ip, user_agent
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

    @router.get("/audit", response_model=AuditList)
    async def audit(
        _: AdminReader,
        cursor: Annotated[AuditCursor | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        entries = await service.audit(before=int(cursor) if cursor else None, limit=limit + 1)
        following = str(entries[limit - 1].id) if len(entries) > limit else None
        return {"items": [asdict(e) for e in entries[:limit]], "next_cursor": following}

    return router
