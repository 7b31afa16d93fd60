"""Operators and their sessions."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")


@dataclass(frozen=True, slots=True)
class AdminAccount:
    id: UUID
    username: str
    role: Role
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class AdminSession:
    id: UUID
    admin_id: UUID
    username: str
    role: Role
    token_hash: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AdminLogin:
    token: str
    session: AdminSession
