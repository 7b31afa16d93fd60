"""Geo: GeoIP country lookups and per-country daily counters (sign-ins, active users)."""

from galaxy_backend.geo.reader import GeoDatabaseError, GeoReader, bundled_database_path
from galaxy_backend.geo.repository import UNKNOWN_COUNTRY, CountryDay
from galaxy_backend.geo.service import MAX_STATS_DAYS, GeoService

__all__ = [
    "MAX_STATS_DAYS",
    "UNKNOWN_COUNTRY",
    "CountryDay",
    "GeoDatabaseError",
    "GeoReader",
    "GeoService",
    "bundled_database_path",
]
