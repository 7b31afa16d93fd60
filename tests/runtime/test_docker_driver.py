"""The docker driver against a real Docker Engine API: what it makes, networks, failures, spans."""

import asyncio
import dataclasses
import io
import tarfile
from pathlib import Path
from uuid import uuid4

import pytest
from docker.errors import APIError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from galaxy_backend.runtime.drivers.base import (
    DriverError,
    instance_name,
    labels_for,
)
from galaxy_backend.runtime.drivers.docker import DockerDriver, _is_name_conflict, volume_name
from galaxy_backend.runtime.drivers.selection import choose_driver
from tests.runtime.conftest import TEST_LIMITS, DockerKit
from tests.runtime.engines import TOKEN, EngineClient, wait_healthy

pytestmark = pytest.mark.timeout(300)


async def test_a_create_asked_again_writes_the_token_again(docker_kit: DockerKit) -> None:
    # A create cut short after the container was made leaves no token, or an old one: the
    # retried create must leave an engine its backend can control.
    driver = docker_kit.make()
    spec = docker_kit.spec()
    await driver.create(spec)
    stale = io.BytesIO()
    with tarfile.open(fileobj=stale, mode="w") as tar:
        entry = tarfile.TarInfo(".admin-token")
        entry.size = len(b"not-the-token")
        tar.addfile(entry, io.BytesIO(b"not-the-token"))
    assert docker_kit.api.put_archive(instance_name(spec.game_id), "/data", stale.getvalue())
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    assert running.address is not None
    await wait_healthy(running.address)
    async with EngineClient(running.address) as engine:
        assert (await engine.init(spec.game_id))["turn"] == 0


async def test_the_container_is_made_as_the_spec_says(docker_kit: DockerKit) -> None:
    driver = docker_kit.make()
    spec = docker_kit.spec(env={"GALAXY_ENGINE_TEST_TURN_DELAY": "0"})
    created = await driver.create(spec)
    attrs = docker_kit.api.inspect_container(created.handle)
    assert attrs["Name"].lstrip("/") == instance_name(spec.game_id)
    assert attrs["Config"]["Labels"].items() >= labels_for(spec.game_id).items()
    # The token is a file in the engine's volume, never in its configuration.
    assert not [v for v in attrs["Config"]["Env"] if TOKEN in v]
    assert "GALAXY_ENGINE_ADMIN_TOKEN_FILE=/data/.admin-token" in attrs["Config"]["Env"]
    assert "GALAXY_ENGINE_TEST_TURN_DELAY=0" in attrs["Config"]["Env"]
    host = attrs["HostConfig"]
    assert host["Memory"] == TEST_LIMITS.memory_bytes
    # No swap beyond the memory, and a bound on processes.
    assert host["MemorySwap"] == TEST_LIMITS.memory_bytes
    assert host["PidsLimit"] == TEST_LIMITS.pids
    assert host["NanoCpus"] == 500_000_000
    assert host["Init"] is True
    assert host["ReadonlyRootfs"] is True
    assert host["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    [mount] = [m for m in attrs["Mounts"] if m["Destination"] == "/data"]
    assert (mount["Type"], mount["Name"]) == ("volume", volume_name(spec.game_id))
    volume = docker_kit.api.inspect_volume(volume_name(spec.game_id))
    assert volume["Labels"] == labels_for(spec.game_id)

    running = await driver.start(spec.game_id)
    assert running.address is not None
    assert running.address.startswith("127.0.0.1:")
    await wait_healthy(running.address)
    async with EngineClient(running.address) as engine:
        assert (await engine.init(spec.game_id))["turn"] == 0


async def test_the_engine_image_runs_unprivileged_with_a_health_check(
    docker_kit: DockerKit,
) -> None:
    image = docker_kit.api.inspect_image(docker_kit.image)["Config"]
    assert image["User"] not in ("", "root", "0")
    assert "8080/tcp" in image["ExposedPorts"]
    assert "/data" in image["Volumes"]
    assert image["Entrypoint"][:4] == ["python", "-m", "galaxy_engine", "serve"]
    # Podman's image inspect leaves the health check out; a container from it has it.
    created = await docker_kit.make().create(docker_kit.spec())
    config = docker_kit.api.inspect_container(created.handle)["Config"]
    assert "/healthz" in " ".join(config["Healthcheck"]["Test"])


async def test_on_a_network_engines_are_reached_by_name(docker_kit: DockerKit) -> None:
    # The compose deployment: the backend is a container on the engines' network.
    network = docker_kit.network()
    driver = docker_kit.make_on(network)
    spec = docker_kit.spec()
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    assert running.address == f"{instance_name(spec.game_id)}:8080"
    attrs = docker_kit.api.inspect_container(running.handle)
    assert network in attrs["NetworkSettings"]["Networks"]
    # Podman lists the exposed port with no binding; Docker lists nothing.
    assert not any((attrs["HostConfig"].get("PortBindings") or {}).values())
    listed = [i for i in await driver.list_labelled() if i.game_id == spec.game_id]
    assert [i.address for i in listed] == [running.address]

    probe = (
        "import time, urllib.request\n"
        "for _ in range(300):\n"
        "    try:\n"
        f"        print(urllib.request.urlopen('http://{running.address}/healthz', timeout=2)"
        ".read().decode()); break\n"
        "    except OSError: time.sleep(0.1)\n"
    )
    client = docker_kit.api.create_container(
        docker_kit.image,
        name=f"galaxy-test-probe-{uuid4().hex[:12]}",
        entrypoint=["python", "-c", probe],
        host_config=docker_kit.api.create_host_config(network_mode=network),
        networking_config={"EndpointsConfig": {network: {}}},
    )
    try:
        docker_kit.api.start(client["Id"])
        result = await asyncio.to_thread(docker_kit.api.wait, client["Id"], timeout=60)
        output = docker_kit.api.logs(client["Id"]).decode()
        assert result["StatusCode"] == 0, output
        assert '{"status":"ok"}' in output
    finally:
        docker_kit.api.remove_container(client["Id"], force=True, v=True)


async def test_engines_join_only_an_internal_network(docker_kit: DockerKit) -> None:
    # A network with a way out is refused, before anything is made.
    open_network = docker_kit.network(internal=False)
    spec = docker_kit.spec()
    with pytest.raises(DriverError, match="not internal") as raised:
        await docker_kit.make_on(open_network).create(spec)
    assert not raised.value.transient
    assert (await docker_kit.make().inspect(spec.game_id)).state == "missing"
    # One that does not exist yet is made, internal.
    missing = f"galaxy-test-{uuid4().hex[:12]}"
    docker_kit.networks.append(missing)
    await docker_kit.make_on(missing).create(docker_kit.spec())
    made = docker_kit.api.inspect_network(missing)
    assert made["Internal"] is True
    assert made["Labels"]["galaxy.backend"] == "1"


async def test_a_failed_pull_of_an_absent_image_is_a_driver_error(docker_kit: DockerKit) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    driver = DockerDriver(docker_kit.host, tracer=provider.get_tracer("test"))
    docker_kit.drivers.append(driver)
    spec = dataclasses.replace(docker_kit.spec(), image="registry.invalid/galaxy/absent:1")
    with pytest.raises(DriverError, match=r"cannot pull registry\.invalid/galaxy/absent:1"):
        await driver.create(spec)
    assert (await driver.inspect(spec.game_id)).state == "missing"
    assert not docker_kit.data_exists(spec.game_id)

    finished = spans.get_finished_spans()
    assert [s.name for s in finished][:3] == [
        "docker connect",
        "docker inspect",
        "docker image inspect",
    ]
    assert {s.kind for s in finished} == {SpanKind.CLIENT}
    [pull] = [s for s in finished if s.name == "docker pull"]
    assert pull.attributes is not None
    assert pull.attributes["galaxy.game_id"] == str(spec.game_id)
    assert pull.status.status_code == StatusCode.ERROR
    provider.shutdown()


async def test_concurrent_creates_of_one_engine_agree(docker_kit: DockerKit) -> None:
    spec = docker_kit.spec()
    made = await asyncio.gather(*(docker_kit.make().create(spec) for _ in range(3)))
    assert len({instance.handle for instance in made}) == 1


async def test_the_daemon_reports_a_name_conflict_as_the_driver_expects(
    docker_kit: DockerKit,
) -> None:
    # What a replica that lost the race to create a container is told (409, or podman's 500).
    spec = docker_kit.spec()
    await docker_kit.make().create(spec)
    with pytest.raises(APIError) as raised:
        docker_kit.api.create_container(docker_kit.image, name=instance_name(spec.game_id))
    assert _is_name_conflict(raised.value)


async def test_a_paused_engine_reads_as_exited_and_start_resumes_it(
    docker_kit: DockerKit,
) -> None:
    driver = docker_kit.make()
    spec = docker_kit.spec()
    await driver.create(spec)
    await driver.start(spec.game_id)
    docker_kit.api.pause(instance_name(spec.game_id))
    assert (await driver.inspect(spec.game_id)).state == "exited"
    resumed = await driver.start(spec.game_id)
    assert resumed.address is not None
    await wait_healthy(resumed.address)
    await driver.stop(spec.game_id, grace_seconds=5)
    assert (await driver.inspect(spec.game_id)).state == "exited"


async def test_unset_the_driver_is_docker_where_a_docker_api_answers(
    docker_kit: DockerKit, tmp_path: Path
) -> None:
    chosen = await choose_driver(
        driver=None, docker_host=docker_kit.host, docker_network=None, data_dir=tmp_path
    )
    docker_kit.drivers.append(chosen)
    assert chosen.name == "docker"


async def test_an_unreachable_daemon_is_a_transient_error() -> None:
    driver = DockerDriver("unix:///nonexistent/docker.sock")
    for call in (driver.inspect(uuid4()), driver.list_labelled()):
        with pytest.raises(DriverError) as raised:
            await call
        assert raised.value.transient
    await driver.close()


def test_the_driver_names_what_it_makes() -> None:
    game_id = uuid4()
    assert instance_name(game_id) == f"galaxy-game-{game_id}"
    assert volume_name(game_id) == f"galaxy-game-{game_id}-data"
