"""Reply models of the geo statistics."""

from datetime import date

from pydantic import BaseModel


class CountryDayOut(BaseModel):
    day: date
    country: str
    sign_ins: int
    active_users: int


class GeoStatsOut(BaseModel):
    items: list[CountryDayOut]
