"""Validated input of the user routes: 422 with the field named, never a 500."""

import zoneinfo
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from galaxy_backend.kernel.fields import Moment, Text


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("is not an IANA time zone, e.g. Europe/Berlin")
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
