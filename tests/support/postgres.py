"""Fixtures: a real PostgreSQL (local server, else embedded), one database per test, and the
real backend started in this process over it."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from galaxy_backend.config import load_from_env
from galaxy_backend.postgres import Database, apply_migrations
from galaxy_backend.runtime.drivers.process import ProcessDriver
from galaxy_backend.telemetry import configure_logging
from galaxy_backend.wiring import Backend, build_backend

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Where to look for a local server; empty hides it, so the embedded server is tested.
LOCAL_DSN_VARIABLE = "GALAXY_TEST_LOCAL_DSN"


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _reachable(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure_logging("warning", "json")


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser DSN: GALAXY_TEST_POSTGRES_DSN, the local server, or an embedded one."""
    configured = os.environ.get("GALAXY_TEST_POSTGRES_DSN")
    if configured:
        yield configured
        return
    local = os.environ.get(LOCAL_DSN_VARIABLE, LOCAL_DSN)
    if local and asyncio.run(_reachable(local)):
        yield local
        return
    from galaxy_backend.postgres.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pg")))
    dsn = embedded.start()
    try:
        yield dsn
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
async def template_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A database with every migration applied, cloned for each test that needs one."""
    name = f"galaxy_tpl_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        pool = await asyncpg.create_pool(_with_database(pg_admin_dsn, name), min_size=1, max_size=1)
        await apply_migrations(pool)
        await pool.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _create_database(admin_dsn: str, template: str | None) -> str:
    name = f"galaxy_t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await admin.close()
    return name


async def _drop_database(admin_dsn: str, name: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def empty_db_dsn(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A new database with nothing in it (for migration tests)."""
    name = await _create_database(pg_admin_dsn, None)
    yield _with_database(pg_admin_dsn, name)
    await _drop_database(pg_admin_dsn, name)


@pytest.fixture
async def db_dsn(pg_admin_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A new, fully migrated database of this test's own."""
    name = await _create_database(pg_admin_dsn, template_db)
    yield _with_database(pg_admin_dsn, name)
    await _drop_database(pg_admin_dsn, name)


@pytest.fixture
async def database(db_dsn: str, tmp_path: Path) -> AsyncIterator[Database]:
    """The real pool component over this test's own migrated database."""
    database = Database(dsn=db_dsn, data_dir=tmp_path, pool_size=5, connect_timeout=10.0)
    await database.start()
    yield database
    await database.stop()


@pytest.fixture
async def start_backend(
    db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Awaitable[Backend]]]:
    """Start the real backend in this process (real listeners on loopback, real Postgres)."""
    started: list[Backend] = []

    async def start(**overrides: str) -> Backend:
        env = {
            "BACKEND_POSTGRES_DSN": db_dsn,
            "BACKEND_DATA_DIR": str(tmp_path / "data"),
            "BACKEND_HTTP_ADDR": "127.0.0.1:0",
            "BACKEND_GRPC_PUSH_ADDR": "127.0.0.1:0",
            "BACKEND_OTEL_TRACES_EXPORTER": "none",
            "BACKEND_OTEL_METRICS_EXPORTER": "none",
            "BACKEND_SHUTDOWN_TIMEOUT": "10s",
            # Engines as local processes unless a test asks for docker.
            "BACKEND_RUNTIME_DRIVER": "process",
            # Turns within seconds and forced turns at will, unless a test checks the bounds.
            "BACKEND_LOBBY_MIN_TURN_INTERVAL": "1s",
            "BACKEND_RUNTIME_FORCE_TURN_COOLDOWN": "0s",
            **overrides,
        }
        for name in list(os.environ):
            if name.upper().startswith("BACKEND_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        backend = build_backend(load_from_env())
        await backend.app.start()
        started.append(backend)
        return backend

    yield start
    for backend in started:
        await backend.app.stop()
    # Engines outlive their backend on purpose (a restart adopts them); not a test's.
    driver = ProcessDriver(tmp_path / "data")
    for instance in await driver.list_labelled():
        await driver.remove(instance.game_id)
