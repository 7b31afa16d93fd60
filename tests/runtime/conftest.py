"""Driver fixtures: engines as real processes, and as real containers behind a real Docker API.

Docker tests use `GALAXY_TEST_DOCKER_HOST` (else the SDK's default: DOCKER_HOST or the
local socket) and skip, saying why, when no Docker Engine API answers there, unless
`GALAXY_TEST_REQUIRE_DOCKER=1` (CI) turns that into a failure. The engine image is made
with scripts/engine_image.sh (quick when it is up to date), or named by
`GALAXY_TEST_ENGINE_IMAGE` and used as it is.
"""

import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import docker
import pytest
from docker.errors import NotFound

from galaxy_backend.runtime.drivers.base import Driver, EngineSpec, Limits, instance_name
from galaxy_backend.runtime.drivers.docker import DockerDriver, volume_name
from galaxy_backend.runtime.drivers.proc import process_info, reap
from galaxy_backend.runtime.drivers.process import ProcessDriver
from tests.runtime.engines import TOKEN
from tests.support.docker import DEFAULT_IMAGE

# Small limits: the engine needs little, and the machine running the tests is shared.
TEST_LIMITS = Limits(memory_bytes=256 * 1024 * 1024, cpus=0.5)


class Kit:
    """One driver kind under test: makes drivers over the same engines, and checks on them."""

    name: str
    image = DEFAULT_IMAGE

    def __init__(self) -> None:
        self.game_ids: list[UUID] = []
        self.drivers: list[Driver] = []

    def spec(self, *, env: dict[str, str] | None = None, token: str = TOKEN) -> EngineSpec:
        """The spec of a new game's engine, cleaned up after the test."""
        game_id = uuid4()
        self.game_ids.append(game_id)
        return EngineSpec(
            game_id=game_id, image=self.image, admin_token=token, limits=TEST_LIMITS, env=env or {}
        )

    def make(self) -> Driver:
        """A new driver over the same engines: what a restarted backend builds."""
        driver = self._new_driver()
        self.drivers.append(driver)
        return driver

    def _new_driver(self) -> Driver:
        raise NotImplementedError

    def kill9(self, game_id: UUID) -> None:
        raise NotImplementedError

    def data_exists(self, game_id: UUID) -> bool:
        raise NotImplementedError

    def engine_log(self, game_id: UUID) -> str:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        for driver in self.drivers:
            await driver.close()
        self.cleanup()


class ProcessKit(Kit):
    name = "process"

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir

    def _new_driver(self) -> ProcessDriver:
        return ProcessDriver(self.data_dir)

    def directory(self, game_id: UUID) -> Path:
        return self.data_dir / "runtime" / str(game_id)

    def state(self, game_id: UUID) -> dict[str, Any]:
        state: dict[str, Any] = json.loads((self.directory(game_id) / "state.json").read_text())
        return state

    def kill9(self, game_id: UUID) -> None:
        os.kill(self.state(game_id)["pid"], signal.SIGKILL)

    def data_exists(self, game_id: UUID) -> bool:
        return (self.directory(game_id) / "data").is_dir()

    def engine_log(self, game_id: UUID) -> str:
        return (self.directory(game_id) / "engine.log").read_text()

    def cleanup(self) -> None:
        # Whatever the test left running, checked the way the driver checks (pid reuse).
        for game_id in self.game_ids:
            try:
                state = self.state(game_id)
            except FileNotFoundError:
                continue
            pid = state.get("pid")
            info = process_info(pid) if pid else None
            if pid and info is not None and info.started == state.get("started"):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                reap_until_gone(pid, info.started)


class DockerKit(Kit):
    name = "docker"

    def __init__(self, api: docker.APIClient, host: str | None, image: str) -> None:
        super().__init__()
        self.api = api
        self.host = host
        self.image = image
        self.networks: list[str] = []

    def _new_driver(self, network: str | None = None) -> DockerDriver:
        return DockerDriver(self.host, network=network)

    def make_on(self, network: str) -> DockerDriver:
        driver = self._new_driver(network)
        self.drivers.append(driver)
        return driver

    def kill9(self, game_id: UUID) -> None:
        self.api.kill(instance_name(game_id), signal="SIGKILL")

    def data_exists(self, game_id: UUID) -> bool:
        try:
            self.api.inspect_volume(volume_name(game_id))
        except NotFound:
            return False
        return True

    def engine_log(self, game_id: UUID) -> str:
        logs: bytes = self.api.logs(instance_name(game_id))
        return logs.decode(errors="replace")

    def network(self, *, internal: bool = True) -> str:
        """A new network (internal, as engines need), removed after the test."""
        name = f"galaxy-test-{uuid4().hex[:12]}"
        self.api.create_network(
            name, driver="bridge", internal=internal, labels={"galaxy.test": "1"}
        )
        self.networks.append(name)
        return name

    def cleanup(self) -> None:
        for game_id in self.game_ids:
            with contextlib.suppress(NotFound):
                self.api.remove_container(instance_name(game_id), force=True)
            with contextlib.suppress(NotFound):
                self.api.remove_volume(volume_name(game_id))
        for name in self.networks:
            with contextlib.suppress(NotFound):
                self.api.remove_network(name)


def reap_until_gone(pid: int, started: str | None) -> None:
    """Wait (boundedly) until a killed engine is gone, reaping it if it is our child."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = process_info(pid)
        if info is None or info.started != started:
            return
        if info.zombie:
            reap(pid)
        time.sleep(0.01)


@pytest.fixture
async def process_kit(tmp_path: Path) -> AsyncIterator[ProcessKit]:
    kit = ProcessKit(tmp_path / "backend-data")
    yield kit
    await kit.aclose()


@pytest.fixture
async def docker_kit(
    docker_api: docker.APIClient, docker_host: str | None, engine_image: str
) -> AsyncIterator[DockerKit]:
    kit = DockerKit(docker_api, docker_host, engine_image)
    yield kit
    await kit.aclose()


@pytest.fixture(params=["process", "docker"])
def kit(request: pytest.FixtureRequest) -> Kit:
    """Each driver in turn: the same behaviour is asked of both."""
    found: Kit = request.getfixturevalue(f"{request.param}_kit")
    return found
