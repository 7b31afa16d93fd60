"""Which driver runs the engines: BACKEND_RUNTIME_DRIVER, else docker if a Docker API answers."""

import asyncio
import math
import os
from pathlib import Path
from typing import Literal

from docker.errors import DockerException
from opentelemetry.trace import Tracer
from requests.exceptions import RequestException

from galaxy_backend.runtime.drivers.base import Driver
from galaxy_backend.runtime.drivers.docker import DockerDriver, docker_client
from galaxy_backend.runtime.drivers.process import ProcessDriver
from galaxy_backend.telemetry import get_logger

DriverName = Literal["docker", "process"]


async def choose_driver(
    *,
    driver: DriverName | None,
    docker_host: str | None,
    docker_network: str | None,
    data_dir: Path,
    tracer: Tracer | None = None,
    ping_timeout: float = 2.0,
    docker_timeout: float = 60.0,
) -> Driver:
    """The configured driver; unset, docker when a Docker API answers within `ping_timeout`."""
    # Fetched here, not at import: this runs once per process, and tests capture it.
    log = get_logger(__name__)
    where = docker_host or os.environ.get("DOCKER_HOST") or "the local Docker socket"
    problem = None if driver == "process" else await docker_problem(docker_host, ping_timeout)
    if driver is None:
        driver = "docker" if problem is None else "process"
        reason = (
            f"a Docker API answered at {where}"
            if problem is None
            else f"no Docker API answered at {where} ({problem})"
        )
    else:
        reason = f"BACKEND_RUNTIME_DRIVER={driver}"
        if problem is not None:
            # Chosen on purpose: keep it, calls fail as transient errors until Docker answers.
            log.warning("no Docker API answers yet", docker_host=where, problem=problem)
    log.info("runtime driver chosen", driver=driver, reason=reason)
    if driver == "docker":
        return DockerDriver(
            docker_host,
            network=docker_network,
            tracer=tracer,
            timeout=max(1, math.ceil(docker_timeout)),
        )
    return ProcessDriver(data_dir)


async def docker_problem(docker_host: str | None, seconds: float) -> str | None:
    """None when a Docker Engine API answers at `docker_host` within `seconds`, else why not."""
    try:
        # The socket timeout bounds the thread; this bounds the wait should it not.
        async with asyncio.timeout(seconds + 1.0):
            await asyncio.to_thread(_ping, docker_host, seconds)
    except TimeoutError:
        return f"no answer within {seconds:g}s"
    except (DockerException, RequestException, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _ping(docker_host: str | None, timeout: float) -> None:
    # Making the client asks the daemon for its API version (an unversioned call).
    client = docker_client(docker_host, max(1, math.ceil(timeout)))
    try:
        client.ping()
    finally:
        client.close()
