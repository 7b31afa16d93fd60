"""Admin routes of geo: per-country sign-ins and active users per day."""

from typing import Annotated

from fastapi import APIRouter, Query

from galaxy_backend.geo.schemas import (
    CountryDayOut,
    GeoStatsOut,
)
from galaxy_backend.geo.service import MAX_STATS_DAYS, GeoService
from galaxy_backend.server.auth import AdminReader
from galaxy_backend.server.http_app import audience_router


def admin_router(service: GeoService) -> APIRouter:
    router = audience_router("admin", tags=["geo"])

    @router.get(
        "/geo/stats",
        response_model=GeoStatsOut,
        summary="Sign-ins and active users per country and UTC day, newest day first",
    )
    async def geo_stats(
        principal: AdminReader,
        days: Annotated[
            int, Query(ge=1, le=MAX_STATS_DAYS, description="How many UTC days, today included")
        ] = 7,
    ) -> GeoStatsOut:
        items = await service.stats(days=days)
        return GeoStatsOut(
            items=[
                CountryDayOut(
                    day=item.day,
                    country=item.country,
                    sign_ins=item.sign_ins,
                    active_users=item.active_users,
                )
                for item in items
            ]
        )

    return router
