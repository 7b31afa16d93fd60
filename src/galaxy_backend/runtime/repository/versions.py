"""SQL of the registry of engine versions (`runtime_engine_versions`)."""

from typing import Any

from galaxy_backend.postgres import Connection
from galaxy_backend.runtime.models import (
    EngineVersion,
)

_VERSION_COLUMNS = "version, image, is_default, enabled"


def _to_version(row: Any) -> EngineVersion:
    return EngineVersion(row["version"], row["image"], row["is_default"], row["enabled"])


async def engine_versions(conn: Connection, *, enabled_only: bool = False) -> list[EngineVersion]:
    rows = await conn.fetch(
        f"SELECT {_VERSION_COLUMNS} FROM runtime_engine_versions"
        " WHERE enabled OR NOT $1 ORDER BY version",
        enabled_only,
    )
    return [_to_version(r) for r in rows]


async def get_engine_version(
    conn: Connection, version: str, *, lock: bool = False
) -> EngineVersion | None:
    row = await conn.fetchrow(
        f"SELECT {_VERSION_COLUMNS} FROM runtime_engine_versions WHERE version = $1"
        + (" FOR UPDATE" if lock else ""),
        version,
    )
    return None if row is None else _to_version(row)


async def ensure_engine_version(conn: Connection, *, version: str, image: str) -> None:
    """The bundled engine's version, with the configured image; default if none is."""
    await conn.execute(
        """
        INSERT INTO runtime_engine_versions (version, image, is_default)
        VALUES ($1, $2, NOT EXISTS (SELECT 1 FROM runtime_engine_versions WHERE is_default))
        ON CONFLICT (version) DO NOTHING
        """,
        version,
        image,
    )


async def put_engine_version(
    conn: Connection, *, version: str, image: str, is_default: bool, enabled: bool
) -> EngineVersion:
    if is_default:
        await conn.execute(
            "UPDATE runtime_engine_versions SET is_default = false, updated_at = now()"
            " WHERE is_default AND version <> $1",
            version,
        )
    row = await conn.fetchrow(
        f"""
        INSERT INTO runtime_engine_versions (version, image, is_default, enabled)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (version) DO UPDATE
        SET image = excluded.image,
            is_default = excluded.is_default OR runtime_engine_versions.is_default,
            enabled = excluded.enabled,
            updated_at = now()
        RETURNING {_VERSION_COLUMNS}
        """,
        version,
        image,
        is_default,
        enabled,
    )
    assert row is not None
    return _to_version(row)
