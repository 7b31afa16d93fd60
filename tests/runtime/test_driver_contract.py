"""What every driver does, asked of each against the real engine (a process, a container)."""

import asyncio

import httpx
import pytest

from galaxy_backend.runtime.drivers.base import DriverError, labels_for
from tests.runtime.conftest import Kit
from tests.runtime.engines import PLAYERS, EngineClient, wait_healthy
from tests.support import eventually

# The first docker test may build the engine image (scripts/engine_image.sh).
pytestmark = pytest.mark.timeout(300)


async def test_an_engine_keeps_its_game_across_stop_and_start(kit: Kit) -> None:
    driver = kit.make()
    spec = kit.spec()
    created = await driver.create(spec)
    assert created.state == "created"
    assert created.address is None
    assert dict(created.labels).items() >= labels_for(spec.game_id).items()
    assert (await driver.create(spec)).handle == created.handle

    running = await driver.start(spec.game_id)
    assert running.state == "running"
    assert running.address is not None
    await wait_healthy(running.address)
    async with EngineClient(running.address) as engine:
        assert await engine.init(spec.game_id) == {"turn": 0}
        assert (await engine.turn(1))["turn"] == 1
    assert (await driver.start(spec.game_id)).address == running.address

    await driver.stop(spec.game_id, grace_seconds=10)
    stopped = await driver.inspect(spec.game_id)
    assert stopped.state == "exited"
    assert stopped.address is None
    await driver.stop(spec.game_id)

    again = await driver.start(spec.game_id)
    assert again.address is not None
    await wait_healthy(again.address)
    async with EngineClient(again.address) as engine:
        status = await engine.status()
    assert status["turn"] == 1
    assert [p["player_id"] for p in status["players"]] == [p["player_id"] for p in PLAYERS]
    listed = [i for i in await driver.list_labelled() if i.game_id == spec.game_id]
    assert [(i.state, i.address, i.handle) for i in listed] == [
        ("running", again.address, created.handle)
    ]


async def test_a_killed_engine_is_exited_and_a_restarted_backend_controls_it(kit: Kit) -> None:
    first = kit.make()
    spec = kit.spec()
    await first.create(spec)
    running = await first.start(spec.game_id)
    assert running.address is not None
    await wait_healthy(running.address)
    async with EngineClient(running.address) as engine:
        await engine.init(spec.game_id)

    # A restarted backend: a new driver finds the running engine, by id and by label.
    second = kit.make()
    await first.close()
    assert (await second.inspect(spec.game_id)).address == running.address
    assert spec.game_id in {i.game_id for i in await second.list_labelled()}

    kit.kill9(spec.game_id)

    async def exited() -> bool:
        return (await second.inspect(spec.game_id)).state == "exited"

    await eventually(exited, timeout=30, message="the killed engine reads as exited")
    listed = [i for i in await second.list_labelled() if i.game_id == spec.game_id]
    assert [i.state for i in listed] == ["exited"]

    restarted = await second.start(spec.game_id)
    assert restarted.address is not None
    await wait_healthy(restarted.address)
    async with EngineClient(restarted.address) as engine:
        assert (await engine.status())["turn"] == 0
    await second.stop(spec.game_id, grace_seconds=10)
    assert (await kit.make().inspect(spec.game_id)).state == "exited"


async def test_remove_keeps_the_data_only_when_asked(kit: Kit) -> None:
    driver = kit.make()
    spec = kit.spec()
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    assert running.address is not None
    await wait_healthy(running.address)
    async with EngineClient(running.address) as engine:
        await engine.init(spec.game_id)

    await driver.remove(spec.game_id, keep_data=True)
    assert (await driver.inspect(spec.game_id)).state == "missing"
    assert spec.game_id not in {i.game_id for i in await driver.list_labelled()}
    assert kit.data_exists(spec.game_id)

    # Re-created from the same spec, the engine finds its game in the data it kept.
    await driver.create(spec)
    again = await driver.start(spec.game_id)
    assert again.address is not None
    await wait_healthy(again.address)
    async with EngineClient(again.address) as engine:
        assert (await engine.status())["game_id"] == str(spec.game_id)

    await driver.remove(spec.game_id)
    assert (await driver.inspect(spec.game_id)).state == "missing"
    assert not kit.data_exists(spec.game_id)
    await driver.remove(spec.game_id)
    await driver.stop(spec.game_id)


async def test_stop_kills_an_engine_that_outlives_its_grace(kit: Kit) -> None:
    # A turn in flight holds the engine's SIGTERM until it commits: 60 s here, grace 1 s.
    driver = kit.make()
    spec = kit.spec(env={"GALAXY_ENGINE_TEST_TURN_DELAY": "60"})
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    assert running.address is not None
    await wait_healthy(running.address)
    async with EngineClient(running.address) as engine:
        await engine.init(spec.game_id)
        turn = asyncio.create_task(engine.post_turn(1))
        await eventually(
            lambda: "committing after a test delay" in kit.engine_log(spec.game_id),
            timeout=30,
            message="the turn is in flight",
        )
        await driver.stop(spec.game_id, grace_seconds=1)
        assert (await driver.inspect(spec.game_id)).state == "exited"
        with pytest.raises(httpx.HTTPError):
            await turn

    again = await driver.start(spec.game_id)
    assert again.address is not None
    await wait_healthy(again.address)
    async with EngineClient(again.address) as engine:
        assert (await engine.status())["turn"] == 0


async def test_starting_an_engine_never_created_is_a_lasting_error(kit: Kit) -> None:
    driver = kit.make()
    spec = kit.spec()
    assert (await driver.inspect(spec.game_id)).state == "missing"
    with pytest.raises(DriverError) as raised:
        await driver.start(spec.game_id)
    assert not raised.value.transient
