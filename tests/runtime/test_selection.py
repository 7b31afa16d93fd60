"""choose_driver: the configured driver, else docker where a Docker API answers, else process.

(The case where one answers is in test_docker_driver.py, beside the daemon it needs.)"""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from galaxy_backend.runtime.drivers.docker import DockerDriver
from galaxy_backend.runtime.drivers.process import ProcessDriver
from galaxy_backend.runtime.drivers.selection import choose_driver, docker_problem

NOWHERE = "unix:///nonexistent/docker.sock"


@pytest.fixture
def logs() -> Iterator[list[dict[str, object]]]:
    """Log entries down to info (the suite logs warnings only), captured."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)


def chosen(logs: list[dict[str, object]]) -> dict[str, object]:
    [entry] = [e for e in logs if e["event"] == "runtime driver chosen"]
    return entry


async def test_unset_and_no_docker_api_is_the_process_driver(
    tmp_path: Path, logs: list[dict[str, object]]
) -> None:
    driver = await choose_driver(
        driver=None, docker_host=NOWHERE, docker_network=None, data_dir=tmp_path
    )
    assert isinstance(driver, ProcessDriver)
    entry = chosen(logs)
    assert entry["driver"] == "process"
    assert str(entry["reason"]).startswith(f"no Docker API answered at {NOWHERE} (")


async def test_a_configured_driver_is_used_as_it_is(
    tmp_path: Path, logs: list[dict[str, object]]
) -> None:
    process = await choose_driver(
        driver="process", docker_host=NOWHERE, docker_network=None, data_dir=tmp_path
    )
    docker = await choose_driver(
        driver="docker", docker_host=NOWHERE, docker_network="galaxy", data_dir=tmp_path
    )
    assert isinstance(process, ProcessDriver)
    assert isinstance(docker, DockerDriver)
    await docker.close()
    reasons = [e["reason"] for e in logs if e["event"] == "runtime driver chosen"]
    assert reasons == ["BACKEND_RUNTIME_DRIVER=process", "BACKEND_RUNTIME_DRIVER=docker"]
    # Docker on purpose but not answering yet: kept, and said so.
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "no Docker API answers yet"
    ]


async def test_the_ping_says_why_nothing_answered() -> None:
    problem = await docker_problem(NOWHERE, 1.0)
    assert problem is not None
    assert "/nonexistent/docker.sock" in problem
