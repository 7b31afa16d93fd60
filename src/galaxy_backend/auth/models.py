"""Sessions and the results of auth operations."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from galaxy_backend.user.models import User


@dataclass(slots=True)
class Session:
    """A player session; `last_seen_at` moves in memory and is flushed in batches."""

    id: UUID
    user_id: UUID
    token_hash: bytes
    device_name: str | None
    client_ip: str | None
    user_agent: str | None
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class SignIn:
    """A confirmed sign-in: the token is shown to the caller once and never stored."""

    token: str
    session: Session
    user: User
    created: bool


@dataclass(frozen=True, slots=True)
class Challenge:
    id: UUID
    expires_at: datetime
