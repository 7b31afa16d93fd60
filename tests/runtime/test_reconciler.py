"""The reconciler, at the service: it adopts labelled engines its records lost, and stops
those of games the platform has no record of, under the process and the docker driver."""

import uuid
from uuid import UUID

import pytest

from galaxy_backend.runtime.drivers.base import EngineSpec, Limits
from tests.support import eventually
from tests.support.table import StartTable


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
