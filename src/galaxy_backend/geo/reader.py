"""GeoIP lookups over a MaxMind DB (GeoLite2/GeoIP2 Country or City) to ISO country codes."""

import ipaddress
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import maxminddb

from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# python-geoip-geolite2 ships its data as this module's only resource.
_BUNDLED_PACKAGE = "_geoip_geolite2"
_BUNDLED_FILE = "GeoLite2-City.mmdb"


class GeoDatabaseError(Exception):
    """The GeoIP database cannot be used: missing, unreadable, or not a MaxMind DB."""


def bundled_database_path() -> Path:
    """Where python-geoip-geolite2 installed its GeoLite2-City data."""
    try:
        entry = resources.files(_BUNDLED_PACKAGE) / _BUNDLED_FILE
    except ModuleNotFoundError as exc:
        raise GeoDatabaseError(
            "the bundled GeoLite2 data (python-geoip-geolite2) is not installed;"
            " set BACKEND_GEOIP_DB_PATH to a GeoLite2/GeoIP2 mmdb"
        ) from exc
    # maxminddb needs a real file to map; a package inside a zip would not give one.
    if not isinstance(entry, Path) or not entry.is_file():
        raise GeoDatabaseError(f"the bundled GeoLite2 data is not a file on disk: {entry}")
    return entry


def _iso_code(record: object) -> str | None:
    if not isinstance(record, dict):
        return None
    # Anycast and satellite ranges carry only the registered country.
    for key in ("country", "registered_country"):
        entry = record.get(key)
        if isinstance(entry, dict):
            code = entry.get("iso_code")
            if isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha():
                return code.upper()
    return None


class GeoReader:
    """A country lookup that never fails the caller: unknown input is simply no country."""

    def __init__(self, reader: maxminddb.Reader, path: Path) -> None:
        self._reader = reader
        self._path = path
        # Read once: the metadata is gone once the reader is closed.
        self._database_type = str(reader.metadata().database_type)

    @classmethod
    def open(cls, path: Path | None) -> "GeoReader":
        """Open `path`, or the bundled GeoLite2 data when None; GeoDatabaseError if unusable."""
        source = bundled_database_path() if path is None else path
        try:
            reader = maxminddb.open_database(source, maxminddb.MODE_AUTO)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoDatabaseError(
                f"cannot open GeoIP database {source}: {exc}"
                " (expected a GeoLite2/GeoIP2 Country or City mmdb)"
            ) from exc
        metadata = reader.metadata()
        _log.info(
            "GeoIP database opened",
            path=str(source),
            database_type=metadata.database_type,
            built=datetime.fromtimestamp(metadata.build_epoch, UTC).date().isoformat(),
        )
        return cls(reader, source)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def database_type(self) -> str:
        return self._database_type

    def country(self, ip: str | None) -> str | None:
        """ISO 3166-1 alpha-2 code of `ip`, or None for no, bad, non-public or unknown addresses."""
        if not isinstance(ip, str) or not ip:
            return None
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global:
            return None
        try:
            record = self._reader.get(address)
        except (ValueError, OSError):
            # A closed reader, or an IPv6 address against an IPv4-only database.
            return None
        except maxminddb.InvalidDatabaseError as exc:
            _log.warning("GeoIP database is corrupt", path=str(self._path), error=str(exc))
            return None
        return _iso_code(record)

    def close(self) -> None:
        self._reader.close()
