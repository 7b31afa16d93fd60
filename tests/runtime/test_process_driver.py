"""The process driver: state on disk, pid reuse and zombies, engines that outlive the backend."""

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from galaxy_backend.runtime.drivers.base import DriverError, labels_for
from galaxy_backend.runtime.drivers.proc import proc_info, process_info, ps_info, reap
from galaxy_backend.runtime.drivers.process import ProcessDriver
from tests.runtime.conftest import ProcessKit
from tests.runtime.engines import TOKEN, EngineClient, wait_healthy
from tests.support import REPO, eventually


async def test_the_state_directory_keeps_the_token_apart(
    process_kit: ProcessKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKEND_SECRET_KEY", "a backend secret no engine should see")
    driver = process_kit.make()
    spec = process_kit.spec(env={"GALAXY_ENGINE_TEST_TURN_DELAY": "0"})
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    assert running.address is not None
    await wait_healthy(running.address)
    directory = process_kit.directory(spec.game_id)
    state = process_kit.state(spec.game_id)
    assert running.address == f"127.0.0.1:{state['port']}"
    assert state["labels"] == labels_for(spec.game_id)
    assert state["spec"]["env"] == {"GALAXY_ENGINE_TEST_TURN_DELAY": "0"}
    assert state["pid"] > 0
    assert TOKEN not in (directory / "state.json").read_text()
    assert TOKEN not in process_kit.engine_log(spec.game_id)
    assert TOKEN not in repr(spec)
    assert (directory / "admin-token").read_text() == TOKEN
    assert stat.S_IMODE((directory / "admin-token").stat().st_mode) == 0o600
    # The engine inherits none of the backend's own variables (its secrets among them).
    environ = (Path("/proc") / str(state["pid"]) / "environ").read_bytes().split(b"\0")
    assert not [v for v in environ if v.startswith(b"BACKEND_")]
    # Nor its own token: it reads that from the owner-only file.
    assert not [v for v in environ if TOKEN.encode() in v]
    token_file = str((directory / "admin-token").resolve())
    assert f"GALAXY_ENGINE_ADMIN_TOKEN_FILE={token_file}".encode() in environ


async def test_an_engine_process_is_bounded_in_address_space_and_cpu_time(
    process_kit: ProcessKit,
) -> None:
    driver = process_kit.make()
    spec = process_kit.spec()
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    assert running.address is not None
    # The engine works within them (set before it was exec'd), its token read from the file.
    await wait_healthy(running.address)
    async with EngineClient(running.address) as client:
        assert (await client.init(spec.game_id))["turn"] == 0
    pid = process_kit.state(spec.game_id)["pid"]
    limits = {
        line[:26].strip(): line[26:].split()
        for line in (Path("/proc") / str(pid) / "limits").read_text().splitlines()[1:]
    }
    memory = str(spec.limits.memory_bytes)
    assert limits["Max address space"][:2] == [memory, memory]
    cpu = spec.limits.cpu_seconds
    assert limits["Max cpu time"][:2] == [str(cpu), str(cpu + 5)]
    assert "galaxy_engine" in (Path("/proc") / str(pid) / "cmdline").read_text()


async def test_a_reused_pid_is_not_taken_for_the_engine(process_kit: ProcessKit) -> None:
    driver = process_kit.make()
    spec = process_kit.spec()
    await driver.create(spec)
    stranger = subprocess.Popen(["sleep", "60"])  # noqa: ASYNC220 - a bystander, waited below
    try:
        info = process_info(stranger.pid)
        assert info is not None
        path = process_kit.directory(spec.game_id) / "state.json"
        state = json.loads(path.read_text())
        # The same pid and start marker but another command, then a different start marker.
        for started in (info.started, "1"):
            state.update(pid=stranger.pid, started=started, port=1, ever_started=True)
            path.write_text(json.dumps(state))
            assert (await driver.inspect(spec.game_id)).state == "exited"
            await driver.stop(spec.game_id, grace_seconds=0.1)
            path.write_text(json.dumps(state))
            await driver.remove(spec.game_id, keep_data=True)
            assert stranger.poll() is None
            await driver.create(spec)
    finally:
        stranger.kill()
        stranger.wait()


async def test_an_engine_its_backend_never_recorded_gives_way(process_kit: ProcessKit) -> None:
    # The backend died between spawning the engine and writing its pid down.
    driver = process_kit.make()
    spec = process_kit.spec()
    await driver.create(spec)
    await driver.start(spec.game_id)
    path = process_kit.directory(spec.game_id) / "state.json"
    state = json.loads(path.read_text())
    stray = state["pid"]
    path.write_text(json.dumps({**state, "pid": None, "started": None, "port": None}))

    again = await process_kit.make().start(spec.game_id)
    assert again.address is not None
    await wait_healthy(again.address)
    assert process_kit.state(spec.game_id)["pid"] != stray
    assert process_info(stray) is None


async def test_a_start_cut_short_still_finds_the_port(process_kit: ProcessKit) -> None:
    # A start cancelled after the spawn: the pid is recorded, the port is not yet.
    driver = process_kit.make()
    spec = process_kit.spec()
    await driver.create(spec)
    running = await driver.start(spec.game_id)
    path = process_kit.directory(spec.game_id) / "state.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "port": None}))
    fresh = process_kit.make()
    assert (await fresh.inspect(spec.game_id)).address == running.address
    assert (await fresh.start(spec.game_id)).address == running.address
    assert process_kit.state(spec.game_id)["port"] is not None


async def test_a_zombie_engine_reads_as_exited_and_is_reaped(process_kit: ProcessKit) -> None:
    spawner = process_kit.make()
    spec = process_kit.spec()
    await spawner.create(spec)
    await spawner.start(spec.game_id)
    pid = process_kit.state(spec.game_id)["pid"]
    process_kit.kill9(spec.game_id)

    def zombie() -> bool:
        info = process_info(pid)
        return info is not None and info.zombie

    # This process is its parent and nothing here has waited for it yet.
    await eventually(zombie, timeout=10, message="the killed engine is a zombie")
    other = process_kit.make()
    assert (await other.inspect(spec.game_id)).state == "exited"

    async def reaped() -> bool:
        await other.inspect(spec.game_id)
        return process_info(pid) is None

    # At once, or (its threads still exiting) on a later look.
    await eventually(reaped, timeout=10, message="the zombie is reaped")


async def test_an_engine_outlives_the_backend_that_started_it(
    process_kit: ProcessKit, tmp_path: Path
) -> None:
    spec = process_kit.spec()
    script = textwrap.dedent(
        f"""
        import asyncio, sys, uuid
        from pathlib import Path
        from galaxy_backend.runtime.drivers.base import EngineSpec
        from galaxy_backend.runtime.drivers.process import ProcessDriver

        async def main():
            driver = ProcessDriver(Path({str(process_kit.data_dir)!r}))
            spec = EngineSpec(game_id=uuid.UUID({str(spec.game_id)!r}), image="-",
                              admin_token={TOKEN!r})
            await driver.create(spec)
            print("address", (await driver.start(spec.game_id)).address, flush=True)
            sys.stdin.read()

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    with subprocess.Popen(  # noqa: ASYNC220 - a stand-in backend, waited below
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        start_new_session=True,
    ) as backend:
        try:
            assert backend.stdout is not None
            # Its log lines go to stdout too; the address is on the line that says so.
            lines = iter(backend.stdout.readline, "")
            address = next(line for line in lines if line.startswith("address ")).split()[1]
            # Ctrl-C or a stop signal reaches the backend's process group, not the engine.
            os.killpg(backend.pid, signal.SIGTERM)
            assert backend.wait(timeout=30) != 0
        finally:
            if backend.poll() is None:
                os.killpg(backend.pid, signal.SIGKILL)

    driver = process_kit.make()
    found = await driver.inspect(spec.game_id)
    assert (found.state, found.address) == ("running", address)
    await wait_healthy(address)
    async with EngineClient(address) as engine:
        await engine.init(spec.game_id)
    pid = process_kit.state(spec.game_id)["pid"]
    await driver.stop(spec.game_id, grace_seconds=10)
    assert (await driver.inspect(spec.game_id)).state == "exited"
    assert process_info(pid) is None or process_info(pid).zombie  # type: ignore[union-attr]


async def test_an_engine_that_refuses_to_start_is_a_lasting_error(
    process_kit: ProcessKit,
) -> None:
    driver = process_kit.make()
    spec = process_kit.spec(token="too-short")
    await driver.create(spec)
    with pytest.raises(DriverError) as raised:
        await driver.start(spec.game_id)
    assert not raised.value.transient
    assert "code 2" in str(raised.value)
    assert "GALAXY_ENGINE_ADMIN_TOKEN" in str(raised.value)
    assert (await driver.inspect(spec.game_id)).state == "exited"


async def test_state_is_under_the_data_dir_runtime_folder(tmp_path: Path) -> None:
    driver = ProcessDriver(tmp_path)
    assert await driver.list_labelled() == []
    (tmp_path / "runtime" / "not-a-game").mkdir(parents=True)
    assert await driver.list_labelled() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="compares /proc with ps")
async def test_ps_tells_what_proc_tells() -> None:
    # The fallback where there is no /proc (macOS), checked against /proc here.
    # Not a Popen: this test reaps the child itself.
    pid = os.posix_spawnp("sleep", ["sleep", "60"], os.environ)  # noqa: ASYNC221
    try:
        await eventually(
            lambda: getattr(proc_info(pid), "command", None) == "sleep 60",
            message="the child runs sleep",
        )
        for read in (proc_info, ps_info):
            info = read(pid)
            assert info is not None
            assert not info.zombie
            assert info.command == "sleep 60"
            assert read(pid) == info
        os.kill(pid, signal.SIGKILL)

        def zombie() -> bool:
            info = proc_info(pid)
            return info is not None and info.zombie

        await eventually(zombie, timeout=10, message="the killed child is a zombie")
        ps_zombie = ps_info(pid)
        assert ps_zombie is not None
        assert ps_zombie.zombie
        assert reap(pid) == -signal.SIGKILL
        assert proc_info(pid) is None
        assert ps_info(pid) is None
    finally:
        if proc_info(pid) is not None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)  # noqa: ASYNC222 - a killed child
