"""A Docker Engine API under test and the engine image in it, for every test that needs them.

Docker tests use `GALAXY_TEST_DOCKER_HOST` (else the SDK's default: DOCKER_HOST or the
local socket) and skip, saying why, when no Docker Engine API answers there, unless
`GALAXY_TEST_REQUIRE_DOCKER=1` (CI) turns that into a failure. The engine image is made
with scripts/engine_image.sh (quick when it is up to date), or named by
`GALAXY_TEST_ENGINE_IMAGE` and used as it is.
"""

import os
import subprocess
from collections.abc import Iterator
from typing import NoReturn

import docker
import pytest
from docker.errors import DockerException, NotFound
from requests.exceptions import RequestException

from galaxy_backend.runtime.drivers.docker import docker_client
from tests.support import REPO

DOCKER_HOST_VARIABLE = "GALAXY_TEST_DOCKER_HOST"
REQUIRE_VARIABLE = "GALAXY_TEST_REQUIRE_DOCKER"
IMAGE_VARIABLE = "GALAXY_TEST_ENGINE_IMAGE"
DEFAULT_IMAGE = "galaxy-engine:latest"


def docker_unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{REQUIRE_VARIABLE}=1, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_host() -> str | None:
    """Where the Docker Engine API under test is (None: the SDK's default)."""
    return os.environ.get(DOCKER_HOST_VARIABLE) or None


@pytest.fixture(scope="session")
def docker_api(docker_host: str | None) -> Iterator[docker.APIClient]:
    """A plain SDK client of the daemon under test, to check on what the driver made."""
    where = docker_host or os.environ.get("DOCKER_HOST") or "the local Docker socket"
    try:
        api = docker_client(docker_host, 10)
        api.ping()
    except (DockerException, RequestException, ConnectionError) as exc:
        docker_unavailable(
            f"no Docker Engine API answers at {where} ({exc}); set {DOCKER_HOST_VARIABLE} "
            "(e.g. unix:///run/podman-galaxy.sock, see README)"
        )
    yield api
    api.close()


@pytest.fixture(scope="session")
def engine_image(docker_api: docker.APIClient, docker_host: str | None) -> str:
    """The engine image, present in the daemon under test."""
    image = os.environ.get(IMAGE_VARIABLE)
    if not image:
        image = DEFAULT_IMAGE
        env = dict(os.environ)
        if docker_host:
            env["DOCKER_HOST"] = docker_host
        try:
            made = subprocess.run(
                [str(REPO / "scripts" / "engine_image.sh")],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except OSError as exc:
            docker_unavailable(f"scripts/engine_image.sh cannot run: {exc}")
        if made.returncode != 0:
            docker_unavailable(f"scripts/engine_image.sh failed: {made.stderr[-2000:]}")
    try:
        docker_api.inspect_image(image)
    except NotFound:
        docker_unavailable(f"the engine image {image} is not in the daemon under test")
    return image
