"""How players appear over HTTP (to themselves and to operators), and what they may send:
invalid input is a 422 with the field named, never a 500."""

import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from galaxy_backend.kernel.fields import Moment, Text
from galaxy_backend.user.models import Entitlements, User


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("not an IANA time zone, e.g. Europe/Berlin")
    return value


DisplayName = Annotated[str, Text(64)]
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$", max_length=35)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_time_zone)]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    language: Language | None = None
    time_zone: TimeZone | None = None


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["temporary", "permanent"]
    reason: Annotated[str, Text(500, multiline=True)]
    until: Moment | None = None


class EntitlementsIn(BaseModel):
    """Grants; null means "the configured default"."""

    model_config = ConfigDict(extra="forbid")

    tier: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")] | None
    max_owned_games: Annotated[int, Field(ge=0, le=1000)] | None
    max_active_games: Annotated[int, Field(ge=0, le=1000)] | None


class BlockOut(BaseModel):
    kind: str
    reason: str
    until: datetime | None


class EntitlementsOut(BaseModel):
    tier: str
    max_owned_games: int
    max_active_games: int


class UserOut(BaseModel):
    id: UUID
    email: str
    display_name: str
    language: str
    time_zone: str
    country: str | None
    created_at: datetime
    block: BlockOut | None
    entitlements: EntitlementsOut


class AdminUserOut(UserOut):
    last_sign_in_at: datetime | None
    updated_at: datetime
    deleted_at: datetime | None


def user_view(user: User, entitlements: Entitlements) -> dict[str, Any]:
    """The player's own view as plain data: FastAPI or, on the hot path, orjson encodes it."""
    block = user.block
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "language": user.language,
        "time_zone": user.time_zone,
        "country": user.country,
        "created_at": user.created_at,
        "block": (
            {
                "kind": block.kind,
                "reason": block.reason,
                "until": block.until.isoformat() if block.until else None,
            }
            if block
            else None
        ),
        "entitlements": {
            "tier": entitlements.tier,
            "max_owned_games": entitlements.max_owned_games,
            "max_active_games": entitlements.max_active_games,
        },
    }


def admin_user_view(user: User, entitlements: Entitlements) -> dict[str, Any]:
    view = user_view(user, entitlements)
    view["last_sign_in_at"] = user.last_sign_in_at
    view["updated_at"] = user.updated_at
    view["deleted_at"] = user.deleted_at
    return view


class AdminUserList(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None
