"""Who is calling: bearer-token authenticators per audience, enforced at the edge by path."""

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from starlette.requests import Request
from starlette.types import Scope

from galaxy_backend.errors import Forbidden, Unauthenticated

Audience = Literal["public", "user", "internal", "admin"]

API_PREFIX = "/api/v1"
AUDIENCE_PREFIXES: dict[Audience, str] = {
    "public": f"{API_PREFIX}/public",
    "user": f"{API_PREFIX}/user",
    "internal": f"{API_PREFIX}/internal",
    "admin": f"{API_PREFIX}/admin",
}
PRINCIPAL_SCOPE_KEY = "galaxy.principal"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller; `subject` is a user id, an admin id, or `gateway`."""

    audience: Audience
    subject: str
    session_id: str | None = None
    roles: frozenset[str] = frozenset()
    expires_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallerInfo:
    """What an authenticator may use besides the token: the client address and user agent."""

    client_ip: str | None
    user_agent: str | None


class Authenticator(Protocol):
    """Turns a bearer token into a principal, or raises Unauthenticated/Forbidden."""

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal: ...


class InternalTokenAuthenticator:
    """The gateway's shared secret, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        if not hmac.compare_digest(token.encode(), self._token):
            raise Unauthenticated("invalid internal token")
        return Principal(audience="internal", subject="gateway")


class NoSessions:
    """Until a session store is wired in, an audience accepts no token at all."""

    def __init__(self, audience: Audience) -> None:
        self._audience = audience

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        raise Unauthenticated(f"no {self._audience} sessions are accepted")


@dataclass(frozen=True, slots=True)
class AudienceGuard:
    """One audience's prefix, authenticator and the paths under it that need no token."""

    audience: Audience
    prefix: str
    authenticator: Authenticator
    open_paths: frozenset[str] = frozenset()


def bearer_token(value: bytes | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, if well-formed."""
    if not value:
        return None
    scheme, _, token = value.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    token = token.strip()
    if not token or len(token) > 1024:
        return None
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        return None


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the principal the edge put into the request scope."""
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if not isinstance(principal, Principal):
        raise Unauthenticated("authentication required")
    return principal


def scope_client_ip(scope: Scope) -> str | None:
    """The caller's address (X-Forwarded-For is already applied for trusted proxies)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def client_ip(request: Request) -> str | None:
    return scope_client_ip(request.scope)


def current_user(request: Request) -> Principal:
    """FastAPI dependency for user-audience routes: the signed-in player."""
    principal = current_principal(request)
    if principal.audience != "user":
        raise Unauthenticated("a player session is required")
    return principal


def admin_with(*roles: str) -> Callable[[Request], Principal]:
    """FastAPI dependency factory: an admin whose role is one of `roles`, else 403."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if principal.audience != "admin":
            raise Unauthenticated("an admin session is required")
        if not principal.roles & allowed:
            raise Forbidden(
                f"this needs one of the roles: {', '.join(sorted(allowed))}",
                code="insufficient_role",
            )
        return principal

    return dependency


# Reads are open to every operator; changes need the admin role.
ADMIN_READ = admin_with("admin", "viewer")
ADMIN_WRITE = admin_with("admin")
