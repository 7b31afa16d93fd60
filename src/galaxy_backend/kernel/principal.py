"""Who is calling, without any HTTP: the principal and the authenticator protocol.

Services implement `Authenticator` and return `Principal`s; the HTTP edge (`server/`) maps
headers onto them. Nothing here imports a web framework.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Audience = Literal["public", "user", "internal", "admin"]


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
