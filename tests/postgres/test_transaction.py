"""The unit of work: marked changes flushed before the commit, effects only after it."""

from collections.abc import Hashable, Mapping
from functools import partial
from typing import Any

import pytest

from galaxy_backend.postgres import Database, Tx, transaction
from galaxy_backend.postgres.transaction import UnflushedChange


class Recorder:
    """A flush that writes a row per marked key (in the transaction) and records after it."""

    def __init__(self) -> None:
        self.after: list[object] = []

    async def flush(self, tx: Tx, marked: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        for key in marked:
            await tx.conn.execute("INSERT INTO flushed (key) VALUES ($1)", str(key))
            tx.after_commit(partial(self.after.append, key))
        return {key: f"flushed {key}" for key in marked}


async def _flushed(database: Database) -> list[str]:
    async with database.pool.acquire() as conn:
        return [r["key"] for r in await conn.fetch("SELECT key FROM flushed")]


async def test_a_marked_change_is_flushed_in_the_transaction_and_its_effects_follow(
    database: Database,
) -> None:
    recorder = Recorder()
    async with database.pool.acquire() as conn:
        await conn.execute("CREATE TABLE flushed (key text)")
    async with transaction(database, flushes={"thing": recorder.flush}) as tx:
        tx.changed("thing", "a")
        tx.changed("thing", "a")  # twice in one unit: one flush, one effect
        tx.changed("thing", "b", value=2)
        assert recorder.after == []
    assert sorted(await _flushed(database)) == ["a", "b"]
    assert sorted(map(str, recorder.after)) == ["a", "b"]
    assert tx.result("thing", "a") == "flushed a"


async def test_a_rolled_back_change_has_no_effects(database: Database) -> None:
    recorder = Recorder()
    async with database.pool.acquire() as conn:
        await conn.execute("CREATE TABLE flushed (key text)")

    async def fail() -> None:
        async with transaction(database, flushes={"thing": recorder.flush}) as tx:
            tx.changed("thing", "a")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail()
    assert recorder.after == []
    assert await _flushed(database) == []


async def test_a_change_without_its_flush_is_refused_not_committed(database: Database) -> None:
    async with database.pool.acquire() as conn:
        await conn.execute("CREATE TABLE flushed (key text)")

    async def forget() -> None:
        async with transaction(database) as tx:
            await tx.conn.execute("INSERT INTO flushed (key) VALUES ('orphan')")
            tx.changed("thing", "a")

    with pytest.raises(UnflushedChange):
        await forget()
    assert await _flushed(database) == []


async def test_an_async_effect_is_awaited_and_a_failing_one_does_not_undo_the_commit(
    database: Database,
) -> None:
    seen: list[str] = []

    async def later() -> None:
        seen.append("later")

    def broken() -> None:
        raise ValueError("effect failed")

    async with transaction(database) as tx:
        tx.after_commit(broken)
        tx.after_commit(later)
    assert seen == ["later"]
