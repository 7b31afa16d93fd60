"""Request and reply models of the operators' API."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from galaxy_backend.admin.models import Role
from galaxy_backend.kernel.fields import INT64_MAX, Secret, Text


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
