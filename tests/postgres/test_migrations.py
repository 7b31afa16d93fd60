"""Migrations: applied once, in order, under an advisory lock, even when replicas race."""

import asyncio
import subprocess

import asyncpg
import pytest

from galaxy_backend.postgres import apply_migrations, load_migrations
from galaxy_backend.postgres.migrate import MigrationError
from tests.support import backend_env, cli


async def applied_versions(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT version FROM backend.schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return [row["version"] for row in rows]


def test_shipped_migrations_are_numbered_from_one_without_holes() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_apply_on_an_empty_database_then_nothing_more(empty_db_dsn: str) -> None:
    pool = await asyncpg.create_pool(empty_db_dsn, min_size=1, max_size=2)
    try:
        first = await apply_migrations(pool)
        assert first == [m.version for m in load_migrations()]
        assert await apply_migrations(pool) == []
        schema = await pool.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'backend'"
        )
        assert schema == 1
    finally:
        await pool.close()


async def test_concurrent_appliers_in_one_process_apply_each_migration_once(
    empty_db_dsn: str,
) -> None:
    pools = [await asyncpg.create_pool(empty_db_dsn, min_size=1, max_size=1) for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(p) for p in pools))
    finally:
        for pool in pools:
            await pool.close()
    everything = sorted(v for applied in results for v in applied)
    assert everything == [m.version for m in load_migrations()]
    assert await applied_versions(empty_db_dsn) == everything


def test_two_processes_racing_on_an_empty_database_both_succeed(empty_db_dsn: str) -> None:
    env = backend_env({"BACKEND_POSTGRES_DSN": empty_db_dsn, "BACKEND_LOG_LEVEL": "info"})
    procs = [
        subprocess.Popen(
            cli("migrate"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied_logs = sum(err.count('"migration applied"') for _, err in outputs)
    assert applied_logs == len(load_migrations())
    assert asyncio.run(applied_versions(empty_db_dsn)) == [m.version for m in load_migrations()]


async def test_an_edited_migration_is_refused(db_dsn: str) -> None:
    conn = await asyncpg.connect(db_dsn)
    await conn.execute(
        "UPDATE backend.schema_migrations SET checksum = 'tampered' WHERE version = 1"
    )
    await conn.close()
    pool = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(pool)
    finally:
        await pool.close()
