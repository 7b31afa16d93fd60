"""Validated input of the lobby routes: 422 naming the field, never a 500."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from galaxy_backend.kernel.fields import Cursor, Moment, Text
from galaxy_backend.lobby.status import GameStatus

# At most the engine's own player limit; the service checks the map's capacity.
Players = Annotated[int, Field(ge=2, le=100)]
GameName = Annotated[str, Text(64)]
Description = Annotated[str, Text(2000, min_length=0, multiline=True)]
Schedule = Annotated[str, Text(100)]
TimeZone = Annotated[str, Text(64)]
# As long as a version's name in the runtime's registry may be.
EngineVersion = Annotated[str, Text(64)]
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
    engine_version: EngineVersion | None = None
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
    engine_version: EngineVersion | None = None
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
    engine_version: EngineVersion | None = None
    q: Annotated[str, Text(64)] | None = Field(
        default=None, description="Text the game's name contains (case-insensitive)."
    )
    cursor: Cursor | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
