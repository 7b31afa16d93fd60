"""HTTP routes of sign-in, sessions, and the gateway's session resolution."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter

from galaxy_backend.audit.trail import Actor
from galaxy_backend.auth.errors import (
    AccountBlocked,
    ChallengeExpired,
    CodeAttemptsSpent,
    InvalidCode,
    SessionNotFound,
    TooManyCodeRequests,
    TooManyGuesses,
)
from galaxy_backend.auth.schemas import (
    ConfirmIn,
    EmailCodeIn,
    EmailCodeOut,
    ResolveIn,
    ResolveOut,
    RevokedOut,
    SessionList,
    SignInOut,
)
from galaxy_backend.auth.service import AuthService
from galaxy_backend.server.auth import (
    AdminWriter,
    CurrentUser,
    client_ip,
)
from galaxy_backend.server.errors import errors_of
from galaxy_backend.server.fastpath import FastRequest, FastRoute, Reply, json_reply
from galaxy_backend.server.http_app import audience_router
from galaxy_backend.user.errors import UserNotFound
from galaxy_backend.user.schemas import user_view
from galaxy_backend.user.service import UserService

_RESOLVE_IN = TypeAdapter(ResolveIn)
_CONFIRM_IN = TypeAdapter(ConfirmIn)


def public_router(auth: AuthService) -> APIRouter:
    router = audience_router("public", tags=["sign-in"])

    @router.post(
        "/auth/email-code",
        status_code=202,
        response_model=EmailCodeOut,
        responses=errors_of(TooManyCodeRequests),
    )
    async def request_code(body: EmailCodeIn, request: Request) -> dict[str, Any]:
        challenge = await auth.request_code(str(body.email), client_ip=client_ip(request))
        return {"challenge_id": challenge.id, "expires_at": challenge.expires_at}

    return router


def user_router(auth: AuthService) -> APIRouter:
    router = audience_router("user", tags=["sessions"])

    @router.post("/auth/logout", status_code=204)
    async def logout(principal: CurrentUser) -> Response:
        assert principal.session_id is not None
        await auth.revoke_session(
            UUID(principal.subject), UUID(principal.session_id), reason="logout"
        )
        return Response(status_code=204)

    @router.get("/me/sessions", response_model=SessionList)
    async def my_sessions(principal: CurrentUser) -> dict[str, Any]:
        sessions = await auth.list_sessions(UUID(principal.subject))
        return {
            "items": [
                {
                    "id": s.id,
                    "device_name": s.device_name,
                    "client_ip": s.client_ip,
                    "user_agent": s.user_agent,
                    "created_at": s.created_at,
                    "last_seen_at": s.last_seen_at,
                    "expires_at": s.expires_at,
                    "current": str(s.id) == principal.session_id,
                }
                for s in sessions
            ]
        }

    @router.delete(
        "/me/sessions/{session_id}", status_code=204, responses=errors_of(SessionNotFound)
    )
    async def revoke_my_session(session_id: UUID, principal: CurrentUser) -> Response:
        await auth.revoke_session(UUID(principal.subject), session_id, reason="revoked_by_user")
        return Response(status_code=204)

    return router


def admin_router(auth: AuthService) -> APIRouter:
    router = audience_router("admin", tags=["users"])

    @router.post(
        "/users/{user_id}/sessions/revoke",
        response_model=RevokedOut,
        responses=errors_of(UserNotFound),
    )
    async def revoke_user_sessions(
        user_id: UUID, principal: AdminWriter, request: Request
    ) -> dict[str, int]:
        count = await auth.revoke_user_sessions(
            user_id, reason="revoked_by_admin", actor=Actor.of(principal, client_ip(request))
        )
        return {"revoked": count}

    return router


def public_fast_routes(auth: AuthService, users: UserService) -> list[FastRoute]:
    async def confirm(request: FastRequest) -> Reply:
        body = await request.parse(_CONFIRM_IN)
        result = await auth.confirm(
            body.challenge_id,
            body.code,
            device_name=body.device_name,
            client_ip=request.client_ip,
            user_agent=request.user_agent,
        )
        return json_reply(
            {
                "token": result.token,
                "session_id": result.session.id,
                "expires_at": result.session.expires_at,
                "user": user_view(result.user, users.entitlements(result.user)),
                "created": result.created,
            }
        )

    return [
        FastRoute(
            "POST",
            "/api/v1/public/auth/email-code/confirm",
            confirm,
            audience="public",
            summary="Exchange an emailed code for a session; the first sign-in creates the account",
            request_model=ConfirmIn,
            response_model=SignInOut,
            responses=errors_of(
                InvalidCode, CodeAttemptsSpent, ChallengeExpired, AccountBlocked, TooManyGuesses
            ),
            tags=("sign-in",),
        )
    ]


def internal_fast_routes(auth: AuthService) -> list[FastRoute]:
    # The reply depends on the session alone: encoded once per cached session.
    replies = auth.cache.derived(
        lambda session: json_reply(
            {"user_id": session.user_id, "session_id": session.id, "expires_at": session.expires_at}
        )
    )

    async def resolve(request: FastRequest) -> Reply:
        body = await request.parse(_RESOLVE_IN)
        session = await auth.resolve(body.token)
        return replies.get(session.token_hash, session)

    return [
        FastRoute(
            "POST",
            "/api/v1/internal/sessions/resolve",
            resolve,
            audience="internal",
            summary="The session behind a player's token (for the gateway); 404 if none",
            request_model=ResolveIn,
            response_model=ResolveOut,
            responses=errors_of(SessionNotFound),
            tags=("sessions",),
        ),
    ]
