"""The lobby's request and reply models: input validated (422 naming the field, never a
500), replies as OpenAPI documents them."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from galaxy_backend.kernel.fields import Cursor, Moment, Text
from galaxy_backend.lobby.models import Role
from galaxy_backend.lobby.status import GameStatus

# At most the engine's own player limit; the service checks the map's capacity.
Players = Annotated[int, Field(ge=2, le=100)]
GameName = Annotated[str, Text(64)]
Description = Annotated[str, Text(2000, min_length=0, multiline=True)]
Schedule = Annotated[str, Text(100)]
TimeZone = Annotated[str, Text(64)]
# As long as a version's name in the runtime's registry may be.
EngineVersionName = Annotated[str, Text(64)]
# Checked against the rules (and folded) by the service, which names the rule broken.
RaceNameText = Annotated[str, Text(64)]
InviteCode = Annotated[str, Text(64)]
Reason = Annotated[str, Text(500, multiline=True)]


def _object_size(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 64:
        raise ValueError("has more than 64 settings")
    return value


Settings = Annotated[dict[Annotated[str, Text(64)], Any], AfterValidator(_object_size)]


class GameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: GameName
    description: Description = ""
    min_players: Players
    max_players: Players
    enrollment_deadline: Moment
    turn_schedule: Schedule
    turn_time_zone: TimeZone = "UTC"
    visibility: Literal["public", "private"] = "public"
    engine_version: EngineVersionName | None = None
    settings: Settings = Field(default_factory=dict)
    run_when_all_orders_in: bool = False
    owner_race_name: RaceNameText | None = Field(
        default=None,
        description="Play in the game under this race name: the owner is seated (approved) "
        "at once and the name reserved.",
    )


class GameChangesIn(BaseModel):
    """Only the fields given change; `settings` replaces the settings whole."""

    model_config = ConfigDict(extra="forbid")

    name: GameName | None = None
    description: Description | None = None
    min_players: Players | None = None
    max_players: Players | None = None
    enrollment_deadline: Moment | None = None
    turn_schedule: Schedule | None = None
    turn_time_zone: TimeZone | None = None
    visibility: Literal["public", "private"] | None = None
    engine_version: EngineVersionName | None = None
    settings: Settings | None = None
    run_when_all_orders_in: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    race_name: RaceNameText
    invite_code: InviteCode | None = None


class InviteIn(BaseModel):
    """An invite code travels in a body: a path would carry it into logs and traces."""

    model_config = ConfigDict(extra="forbid")

    invite_code: InviteCode


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ListingQueryIn(BaseModel):
    """Query of the public listing."""

    model_config = ConfigDict(extra="ignore")

    status: list[GameStatus] | None = Field(
        default=None, max_length=8, description="Only games in these statuses (repeatable)."
    )
    free_seats: bool = Field(default=False, description="Only games with a free seat.")
    engine_version: EngineVersionName | None = None
    q: Annotated[str, Text(64)] | None = Field(
        default=None, description="Text the game's name contains (case-insensitive)."
    )
    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


# --- replies -------------------------------------------------------------------------------


class RuntimeOut(BaseModel):
    status: str | None
    message: str | None
    updated_at: datetime | None
    # Operators' views only: what failed and where (paths, driver errors).
    detail: str | None = None


class PlayerOut(BaseModel):
    user_id: UUID
    race_name: str
    approved_at: datetime


class GameSummaryOut(BaseModel):
    """A game as the public listing shows it."""

    id: UUID
    name: str
    description: str
    status: str
    visibility: str
    owner_id: UUID
    min_players: int
    max_players: int
    approved_count: int
    free_seats: int
    enrollment_deadline: datetime
    turn_schedule: str
    turn_time_zone: str
    engine_version: str
    current_turn: int
    created_at: datetime


class GameOut(GameSummaryOut):
    """A game's page; `players` for its owner and players, `invite_code` for its owner."""

    run_when_all_orders_in: bool
    # The next turns the schedule gives from now, in UTC.
    schedule_preview: list[datetime]
    settings: dict[str, Any]
    runtime: RuntimeOut
    final_ranking: list[dict[str, Any]] | None
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    viewer_role: Role | None
    players: list[PlayerOut] | None
    invite_code: str | None


class GameList(BaseModel):
    items: list[GameOut]
    next_cursor: str | None


class GameSummaryList(BaseModel):
    items: list[GameSummaryOut]
    next_cursor: str | None


class ApplicationOut(BaseModel):
    id: UUID
    game_id: UUID
    user_id: UUID
    race_name: str
    status: str
    created_at: datetime
    decided_at: datetime | None


class ApplicationList(BaseModel):
    items: list[ApplicationOut]
    next_cursor: str | None


class RaceNameOut(BaseModel):
    id: UUID
    name: str
    canonical: str
    status: str
    game_id: UUID
    created_at: datetime
    reserved_at: datetime | None


class AdminRaceNameOut(RaceNameOut):
    user_id: UUID
    application_id: UUID
    skeleton: str
    released_at: datetime | None


class RaceNameList(BaseModel):
    items: list[RaceNameOut]


class AdminRaceNameList(BaseModel):
    items: list[AdminRaceNameOut]


class RaceNameCheckOut(BaseModel):
    name: str
    canonical: str
    available: bool


class EngineOut(BaseModel):
    version: str
    default: bool
    # JSON Schema of the `settings` object a game of this engine takes.
    settings_schema: dict[str, Any]
    max_players_default_map: int


class EngineList(BaseModel):
    items: list[EngineOut]
