"""`galaxy-backend engines stop`: engines outlive the backend on purpose; this stops them."""

import asyncio
from uuid import UUID

import pytest

from tests.runtime.conftest import DockerKit, Kit, ProcessKit
from tests.runtime.engines import wait_healthy
from tests.support import run_cli

# The first docker test may build the engine image (scripts/engine_image.sh).
pytestmark = pytest.mark.timeout(300)


async def running_engines(kit: Kit, count: int) -> list[UUID]:
    driver = kit.make()
    game_ids = []
    for _ in range(count):
        spec = kit.spec()
        await driver.create(spec)
        running = await driver.start(spec.game_id)
        assert running.address is not None
        await wait_healthy(running.address)
        game_ids.append(spec.game_id)
    return game_ids


async def test_it_stops_every_engine_of_the_process_driver(process_kit: ProcessKit) -> None:
    game_ids = await running_engines(process_kit, 2)
    env = {"BACKEND_RUNTIME_DRIVER": "process", "BACKEND_DATA_DIR": str(process_kit.data_dir)}
    done = await asyncio.to_thread(run_cli, "engines", "stop", env=env)
    assert done.returncode == 0, done.stderr
    assert "2 engine(s) stopped (process driver)" in done.stdout
    driver = process_kit.make()
    for game_id in game_ids:
        assert f"stopped the engine of game {game_id}" in done.stdout
        assert (await driver.inspect(game_id)).state == "exited"
        # Stopped, not removed: the game is kept for the next start.
        assert process_kit.data_exists(game_id)
    again = await asyncio.to_thread(run_cli, "engines", "stop", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 engine(s) stopped" in again.stdout


async def test_it_stops_the_named_engines_of_the_docker_driver(docker_kit: DockerKit) -> None:
    # Named: other engines on the same Docker daemon (other tests' games) are left alone.
    first, second = await running_engines(docker_kit, 2)
    env = {"BACKEND_RUNTIME_DRIVER": "docker"}
    if docker_kit.host:
        env["BACKEND_DOCKER_HOST"] = docker_kit.host
    done = await asyncio.to_thread(run_cli, "engines", "stop", str(first), env=env)
    assert done.returncode == 0, done.stderr
    assert "1 engine(s) stopped (docker driver)" in done.stdout
    driver = docker_kit.make()
    assert (await driver.inspect(first)).state == "exited"
    assert (await driver.inspect(second)).state == "running"
    assert docker_kit.data_exists(first)


async def test_a_game_id_that_is_not_one_is_refused(process_kit: ProcessKit) -> None:
    env = {"BACKEND_RUNTIME_DRIVER": "process", "BACKEND_DATA_DIR": str(process_kit.data_dir)}
    done = await asyncio.to_thread(run_cli, "engines", "stop", "not-a-game", env=env)
    assert done.returncode == 2
    assert "invalid UUID value" in done.stderr
