"""The reconciler, at the service: it adopts labelled engines its records lost, makes the
record again of one whose game the lobby has live, and stops those of games the platform
does not know or that are over, under the process and the docker driver."""

import uuid
from typing import Any
from uuid import UUID

import pytest

from galaxy_backend.runtime.drivers.base import EngineSpec, Limits
from tests.support import eventually
from tests.support.api import bearer
from tests.support.table import StartTable, Table


async def _lose_the_record(table: Table) -> dict[str, Any]:
    """Stop the reconciler's own rounds, and delete the game's runtime record as a fault
    would (its jobs, turns and kept reports go with it); the record as it was."""
    await table.api.backend.reconciler.stop()
    before = await table.record()
    await table.lobby.sql("DELETE FROM runtime_records WHERE game_id = $1", UUID(table.game_id))
    return before


@pytest.mark.parametrize("driver_env", ["process", "docker"], indirect=True)
async def test_a_labelled_engine_its_record_lost_is_adopted_and_monitored(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    backend = table.api.backend
    await backend.reconciler.stop()
    before = await table.record()
    game_id = UUID(table.game_id)
    # As if an earlier round had found the engine missing while it was only slow to show.
    await table.lobby.sql(
        "UPDATE runtime_records SET status = 'removed', address = NULL, handle = NULL,"
        " reported_status = 'running' WHERE game_id = $1",
        game_id,
    )
    assert await backend.reconciler.reconcile()
    adopted = await table.record()
    assert adopted["status"] == "running"
    assert adopted["address"] == before["address"]
    assert adopted["handle"] == f"{backend.runtime_clients.driver.name}:{game_id}"
    # Monitored again: the next round probes it and finds it healthy.
    await table.lobby.sql(
        "UPDATE runtime_records SET health_failures = 1 WHERE game_id = $1", game_id
    )
    assert await backend.reconciler.reconcile()
    assert (await table.record())["health_failures"] == 0
    assert (await table.game())["status"] == "running"


@pytest.mark.parametrize("driver_env", ["process", "docker"], indirect=True)
async def test_a_labelled_engine_of_no_known_game_is_stopped_with_its_data_kept(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    backend = table.api.backend
    await backend.reconciler.stop()
    driver = backend.runtime_clients.driver
    stray = uuid.uuid4()
    record = await table.record()
    await driver.create(
        EngineSpec(
            game_id=stray,
            image=record["image"],
            admin_token="stray-token-0123456789",
            limits=Limits(memory_bytes=256 * 1024 * 1024, cpus=0.5),
        )
    )
    try:
        await driver.start(stray)

        async def running() -> bool:
            return (await driver.inspect(stray)).state == "running"

        await eventually(running, timeout=60, message="the stray engine runs")
        assert await backend.reconciler.reconcile()
        assert (await driver.inspect(stray)).state != "running"
        assert stray in {i.game_id for i in await driver.list_labelled()}
        # The game the platform knows is left running.
        assert (await table.record())["status"] == "running"
    finally:
        await driver.remove(stray)


@pytest.mark.parametrize("driver_env", ["process", "docker"], indirect=True)
async def test_an_engine_of_a_live_game_without_a_record_gets_its_record_again(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    backend = table.api.backend
    driver = backend.runtime_clients.driver
    game_id = UUID(table.game_id)
    engine = await driver.inspect(game_id)
    assert engine.labels["galaxy.engine_version"] == (await table.record())["engine_version"]
    before = await _lose_the_record(table)
    assert await backend.reconciler.reconcile()
    adopted = await table.record()
    same = ("status", "address", "handle", "engine_version", "image", "driver", "game_name")
    assert {k: adopted[k] for k in same} == {k: before[k] for k in same}
    assert adopted["players"] == before["players"]
    assert adopted["current_turn"] == 0
    assert (await table.game())["status"] == "running"
    # The game plays on, on the same engine: no second one started, no start queued.
    admin = bearer(await table.api.admin_token())
    forced = await table.lobby.client.post(
        f"/api/v1/admin/games/{table.game_id}/force-next-turn", headers=admin
    )
    assert forced.status_code == 202, forced.text
    await table.wait_turn(1)
    assert (await table.report(table.players[0], 1))["turn"] == 1
    assert [i.handle for i in await driver.list_labelled() if i.game_id == game_id] == [
        engine.handle
    ]
    assert await table.lobby.runtime_jobs("start") == []
    # The next round finds it recorded and healthy.
    assert await backend.reconciler.reconcile()
    assert (await table.record())["status"] == "running"


async def test_an_engine_of_a_cancelled_game_without_a_record_is_stopped_with_its_data_kept(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    backend = table.api.backend
    driver = backend.runtime_clients.driver
    game_id = UUID(table.game_id)
    await _lose_the_record(table)
    admin = bearer(await table.api.admin_token())
    cancelled = await table.lobby.client.post(
        f"/api/v1/admin/games/{table.game_id}/cancel", json={"reason": "abandoned"}, headers=admin
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await driver.inspect(game_id)).state == "running"
    assert await backend.reconciler.reconcile()
    assert (await driver.inspect(game_id)).state != "running"
    assert game_id in {i.game_id for i in await driver.list_labelled()}
    assert await table.lobby.sql("SELECT 1 FROM runtime_records WHERE game_id = $1", game_id) == []
    await driver.remove(game_id)


async def test_an_engine_of_a_paused_game_without_a_record_is_adopted_paused(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    paused = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/pause", headers=table.owner.headers
    )
    assert paused.status_code == 200, paused.text
    await table.wait_status("paused")
    before = await _lose_the_record(table)
    assert await table.api.backend.reconciler.reconcile()
    adopted = await table.record()
    assert (adopted["status"], adopted["address"]) == ("paused", before["address"])
    assert (await table.game())["status"] == "paused"
    # Its owner resumes it as any paused game.
    resumed = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/resume", headers=table.owner.headers
    )
    assert resumed.status_code == 200, resumed.text
    await table.wait_status("running")
