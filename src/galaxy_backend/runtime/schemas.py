"""The runtime's request and reply models: orders, reports and a game's standing for
players; records, jobs and engine versions for operators."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from galaxy_backend.kernel.fields import Text

Turn = Annotated[int, Path(ge=0, le=1_000_000)]
MAX_ORDERS_LENGTH = 200_000


class OrdersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: Annotated[str, Text(MAX_ORDERS_LENGTH, min_length=0, multiline=True, strip=False)]


class OrderError(BaseModel):
    line: int | None = None
    order: str | None = None
    message: str


class OrdersOut(BaseModel):
    """The engine's verdict on the orders (docs/engine.md)."""

    model_config = ConfigDict(extra="allow")
    accepted: bool
    errors: list[OrderError]
    forecast: dict[str, Any] = {}


class SentOrdersOut(BaseModel):
    """The orders kept for the next turn: `orders` is null when none were sent."""

    turn: int
    orders: str | None
    errors: list[OrderError]


class PlayerStandingOut(BaseModel):
    player_id: str | None
    race_name: str | None
    alive: bool | None
    orders_submitted: bool | None


class RankOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int | None = None
    player_id: str | None = None
    race_name: str | None = None
    alive: bool | None = None
    production: float | None = None


class GameStandingOut(BaseModel):
    """The game's standing, from what the backend keeps of each turn; `orders_submitted`
    only while its engine runs and answers (`engine_answered`)."""

    turn: int
    finished: bool
    status: str
    next_turn_at: datetime | None
    winner: str | None
    players: list[PlayerStandingOut]
    # After the last turn (the final standing once the game is over), best first.
    ranking: list[RankOut]
    engine_answered: bool


class AcceptedOut(BaseModel):
    accepted: bool = True


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    game_id: UUID
    game_name: str
    owner_id: UUID
    status: str
    driver: str
    address: str | None
    engine_version: str
    image: str
    current_turn: int
    next_tick_at: datetime | None
    skip_next_tick: bool
    turn_requested: str | None
    health_failures: int
    restarts: int
    last_error: str | None
    winner: str | None
    # Waiting for a free engine slot (BACKEND_RUNTIME_MAX_ENGINES) since then.
    waiting_since: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None


class TurnOut(BaseModel):
    turn: int
    trigger: str
    scheduled_at: datetime | None
    started_at: datetime
    finished_at: datetime


class RecordDetailOut(RecordOut):
    turns: list[TurnOut]
    final_ranking: list[dict[str, Any]] | None


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    game_id: UUID
    kind: str
    status: str
    attempts: int
    not_before: datetime
    reason: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class EngineVersionOut(BaseModel):
    version: str
    image: str
    default: bool
    # Offered for new games (GET /api/v1/public/engines lists those that are).
    enabled: bool


class EngineVersionsOut(BaseModel):
    items: list[EngineVersionOut]


class EngineVersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: Annotated[str, Text(300), Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")]
    default: bool = False
    enabled: bool = Field(
        default=True,
        description="Offered for new games; false takes the version out (games that use "
        "it keep running). The default version cannot be taken out.",
    )


VersionName = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]
