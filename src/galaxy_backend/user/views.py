"""How players appear over HTTP: to themselves and to operators."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from galaxy_backend.user.models import Entitlements, User


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
