"""Who is calling: bearer-token authenticators per audience, enforced at the edge by path."""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request
from starlette.types import Scope

from galaxy_backend.kernel.errors import Unauthenticated
from galaxy_backend.kernel.fields import clean_header_text
from galaxy_backend.kernel.principal import Audience, Authenticator, CallerInfo, Principal
from galaxy_backend.server.errors import InsufficientRole

__all__ = [
    "ADMIN_READ",
    "ADMIN_WRITE",
    "AUDIENCE_PREFIXES",
    "Audience",
    "AudienceGuard",
    "Authenticator",
    "CallerInfo",
    "InternalTokenAuthenticator",
    "Principal",
    "admin_with",
    "bearer_token",
    "client_ip",
    "current_principal",
    "current_user",
    "scope_client_ip",
    "scope_user_agent",
    "user_agent",
]

API_PREFIX = "/api/v1"
AUDIENCE_PREFIXES: dict[Audience, str] = {
    "public": f"{API_PREFIX}/public",
    "user": f"{API_PREFIX}/user",
    "internal": f"{API_PREFIX}/internal",
    "admin": f"{API_PREFIX}/admin",
}
PRINCIPAL_SCOPE_KEY = "galaxy.principal"
# The client address the edge resolved (normalised, X-Forwarded-For applied when trusted).
CLIENT_IP_SCOPE_KEY = "galaxy.client_ip"


class InternalTokenAuthenticator:
    """The gateway's shared secret, compared in constant time; `token` is the secret or,
    when it is only known once the process has started, a function giving it."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token if callable(token) else lambda: token
        self._encoded: tuple[str, bytes] = ("", b"")
        self._gateway = Principal(audience="internal", subject="gateway")

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        expected = self._token()
        if expected is not self._encoded[0]:
            self._encoded = (expected, expected.encode())
        if not hmac.compare_digest(token.encode(), self._encoded[1]):
            raise Unauthenticated("invalid internal token")
        return self._gateway


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
    """The caller's address as the edge resolved it (see server.client_address)."""
    address: str | None = scope.get(CLIENT_IP_SCOPE_KEY)
    return address


def client_ip(request: Request) -> str | None:
    return scope_client_ip(request.scope)


def scope_user_agent(scope: Scope) -> str | None:
    """The caller's User-Agent, fit to store (sessions keep it)."""
    for key, value in scope["headers"]:
        if key == b"user-agent":
            return clean_header_text(value)
    return None


def user_agent(request: Request) -> str | None:
    return scope_user_agent(request.scope)


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
            raise InsufficientRole(f"this needs one of the roles: {', '.join(sorted(allowed))}")
        return principal

    return dependency


# Reads are open to every operator; changes need the admin role.
ADMIN_READ = admin_with("admin", "viewer")
ADMIN_WRITE = admin_with("admin")

# What a route's parameter is annotated with to get its caller.
CurrentUser = Annotated[Principal, Depends(current_user)]
AdminReader = Annotated[Principal, Depends(ADMIN_READ)]
AdminWriter = Annotated[Principal, Depends(ADMIN_WRITE)]
