"""A player as the rest of the backend sees it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

BlockKind = Literal["temporary", "permanent"]


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    reason: str
    until: datetime | None
    since: datetime

    def active(self, now: datetime) -> bool:
        return self.kind == "permanent" or (self.until is not None and self.until > now)


@dataclass(frozen=True, slots=True)
class Entitlements:
    """The tier and limits in force: the user's grants, else the configured defaults."""

    tier: str
    max_owned_games: int
    max_active_games: int


@dataclass(frozen=True, slots=True)
class User:
    id: UUID
    email: str
    display_name: str
    language: str
    time_zone: str
    country: str | None
    tier: str | None
    max_owned_games: int | None
    max_active_games: int | None
    block: Block | None
    created_at: datetime
    updated_at: datetime
    last_sign_in_at: datetime | None
    deleted_at: datetime | None

    def entitlements(self, defaults: Entitlements) -> Entitlements:
        return Entitlements(
            tier=self.tier or defaults.tier,
            max_owned_games=(
                self.max_owned_games
                if self.max_owned_games is not None
                else defaults.max_owned_games
            ),
            max_active_games=(
                self.max_active_games
                if self.max_active_games is not None
                else defaults.max_active_games
            ),
        )

    def active_block(self, now: datetime) -> Block | None:
        return self.block if self.block is not None and self.block.active(now) else None
