"""Request and reply models of sign-in and sessions."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from galaxy_backend.kernel.fields import Text
from galaxy_backend.user.schemas import UserOut


class EmailCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[EmailStr, Field(max_length=254)]


class EmailCodeOut(BaseModel):
    challenge_id: UUID
    expires_at: datetime


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge_id: UUID
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    device_name: Annotated[str, Text(64)] | None = None


class SignInOut(BaseModel):
    token: str
    session_id: UUID
    expires_at: datetime
    user: UserOut
    created: bool


class SessionOut(BaseModel):
    id: UUID
    device_name: str | None
    client_ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


class SessionList(BaseModel):
    items: list[SessionOut]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: Annotated[str, Text(256)]


class ResolveOut(BaseModel):
    user_id: UUID
    session_id: UUID
    expires_at: datetime


class RevokedOut(BaseModel):
    revoked: int
