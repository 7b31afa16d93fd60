"""Operators in tests: a viewer made with the CLI, as an operator would, and the audit
trail's actions in the order they were written."""

import asyncio
import subprocess

import asyncpg

from tests.support import backend_env, cli
from tests.support.api import Api


async def audit_actions(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT action FROM backend.admin_audit ORDER BY id")
    finally:
        await conn.close()
    return [row["action"] for row in rows]


async def create_viewer(api: Api, db_dsn: str) -> str:
    result = await asyncio.to_thread(
        subprocess.run,
        cli("admin", "create", "--username", "watcher", "--role", "viewer"),
        input="viewer password 123\n",
        text=True,
        capture_output=True,
        check=False,
        env=backend_env({"BACKEND_POSTGRES_DSN": db_dsn}),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "viewer password" not in result.stdout + result.stderr
    return await api.admin_token("watcher", "viewer password 123")
