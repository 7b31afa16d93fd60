"""The `process` driver: each engine a detached local process, its state in a directory.

    BACKEND_DATA_DIR/runtime/{game_id}/
        state.json     pid, port, labels and the spec without its token (replaced whole)
        admin-token    the engine's token, owner-only; the engine reads it from here
        data/          the engine's --data directory: the game itself
        engine.log     the engine's stdout and stderr

An engine runs in its own session, so it outlives the backend; a restarted backend finds
it again by scanning the runtime directory and checking that each recorded pid is still
that engine (start marker and command line), not a reused pid or a zombie.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

from galaxy_backend.kernel.files import write_atomically
from galaxy_backend.runtime.drivers.base import (
    LABEL_BACKEND,
    TOKEN_FILE_VARIABLE,
    TOKEN_VARIABLE,
    DriverError,
    EngineInstance,
    EngineSpec,
    Limits,
    labels_for,
)
from galaxy_backend.runtime.drivers.proc import (
    ProcessInfo,
    process_info,
    processes_running,
    reap,
)
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

STATE_FILE = "state.json"
TOKEN_FILE = "admin-token"  # noqa: S105 - a file name
LOG_FILE = "engine.log"
DATA_DIR = "data"
_STATE_VERSION = 1
# The engine's documented start line: "listening on ADDR port N".
_LISTENING = "listening on "
# Variables an engine inherits from the backend; nothing else (the backend's secrets stay).
_INHERITED = ("PATH", "PYTHONPATH", "LANG", "TZ", "TMPDIR", "HOME", "SYSTEMROOT")
_KILL_WAIT_SECONDS = 5.0
# Run by the engine's interpreter before the engine: address space (the memory limit) and
# CPU time (SIGXCPU at the limit, SIGKILL 5 s of CPU later), then exec argv[3:].
_LIMITED_EXEC = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1]))); "
    "resource.setrlimit(resource.RLIMIT_CPU, (int(sys.argv[2]), int(sys.argv[2]) + 5)); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


@dataclass(frozen=True, slots=True)
class _State:
    """What state.json holds: never the token."""

    game_id: UUID
    labels: Mapping[str, str]
    spec: Mapping[str, Any]
    pid: int | None = None
    # The pid's start marker (proc.ProcessInfo.started) when it was spawned.
    started: str | None = None
    port: int | None = None
    # Where in engine.log this run's lines begin (its "listening on" line among them).
    log_offset: int = 0
    ever_started: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": _STATE_VERSION,
                "game_id": str(self.game_id),
                "labels": dict(self.labels),
                "spec": dict(self.spec),
                "pid": self.pid,
                "started": self.started,
                "port": self.port,
                "log_offset": self.log_offset,
                "ever_started": self.ever_started,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> "_State":
        raw = json.loads(text)
        return cls(
            game_id=UUID(raw["game_id"]),
            labels={str(k): str(v) for k, v in raw["labels"].items()},
            spec=raw["spec"],
            pid=raw.get("pid"),
            started=raw.get("started"),
            port=raw.get("port"),
            log_offset=int(raw.get("log_offset") or 0),
            ever_started=bool(raw.get("ever_started")),
        )


class ProcessDriver:
    """Engines as local processes under `data_dir/runtime/`: the default without Docker,
    for development (an engine shares the backend's machine, user and network).

    `python` runs `-m galaxy_engine` (the backend's own interpreter, where the engine
    package is installed), its address space bounded by the memory limit and its CPU time
    by `cpu_seconds` (RLIMIT_AS, RLIMIT_CPU); CPUs are not bounded.
    """

    name = "process"

    def __init__(
        self,
        data_dir: Path,
        python: str = sys.executable,
        *,
        start_timeout: float = 30.0,
        host: str = "127.0.0.1",
        log_max_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self._root = Path(data_dir) / "runtime"
        self._python = python
        self._start_timeout = start_timeout
        self._host = host
        self._log_max_bytes = log_max_bytes
        self._locks: dict[UUID, asyncio.Lock] = {}
        # Engines to reap once they have exited (pid: start marker): those this driver
        # spawned, and zombies it saw that were not ready to be reaped yet.
        self._children: dict[int, str | None] = {}

    # --- the interface ----------------------------------------------------------------------

    async def create(self, spec: EngineSpec) -> EngineInstance:
        """Create the engine's directory and state (nothing runs yet), or return the one there."""
        async with self._lock(spec.game_id):
            state = await asyncio.to_thread(self._read_state, spec.game_id)
            if state is None:
                state = _State(
                    game_id=spec.game_id,
                    labels=labels_for(spec.game_id, spec.engine_version),
                    spec=_spec_record(spec),
                )
                await asyncio.to_thread(self._write_new, state, spec.admin_token)
                _log.info("engine created", game_id=str(spec.game_id), driver=self.name)
            return await asyncio.to_thread(self._instance, spec.game_id, state)

    async def start(self, game_id: UUID) -> EngineInstance:
        """Start the engine on a free loopback port and return once it listens."""
        async with self._lock(game_id):
            state = await asyncio.to_thread(self._read_state, game_id)
            if state is None:
                raise DriverError(f"no engine for game {game_id}: create it first", transient=False)
            if await asyncio.to_thread(self._running_info, state) is not None:
                if state.port is None:
                    # Started by a call that was cancelled before the engine listened.
                    port = await self._wait_listening(state, state.log_offset)
                    state = replace(state, port=port)
                    await asyncio.to_thread(self._write_state, state)
                return await asyncio.to_thread(self._instance, game_id, state)
            # A killed engine may still be exiting, holding its data directory's lock.
            if not await self._wait_gone(state, _KILL_WAIT_SECONDS):
                raise DriverError(f"the last engine of game {game_id} is still exiting")
            await self._kill_strays(state)
            # There, or the engine could not start: a clear error rather than its exit.
            await asyncio.to_thread(self._read_token, game_id)
            offset = await asyncio.to_thread(self._prepare_log, game_id)
            pid, started = await asyncio.to_thread(self._spawn, state)
            state = replace(
                state, pid=pid, started=started, port=None, log_offset=offset, ever_started=True
            )
            # Recorded before waiting: a backend that dies now still finds the process.
            await asyncio.to_thread(self._write_state, state)
            port = await self._wait_listening(state, offset)
            state = replace(state, port=port)
            await asyncio.to_thread(self._write_state, state)
            _log.info("engine started", game_id=str(game_id), driver=self.name, pid=pid, port=port)
            return await asyncio.to_thread(self._instance, game_id, state)

    async def stop(self, game_id: UUID, *, grace_seconds: float = 10.0) -> None:
        """SIGTERM to the engine's process group, SIGKILL after `grace_seconds`."""
        async with self._lock(game_id):
            state = await asyncio.to_thread(self._read_state, game_id)
            if state is None or state.pid is None:
                return
            if await asyncio.to_thread(self._running_info, state) is not None:
                await self._signal(state, signal.SIGTERM)
                if not await self._wait_gone(state, grace_seconds):
                    _log.warning(
                        "engine ignored SIGTERM, killing it",
                        game_id=str(game_id),
                        grace_seconds=grace_seconds,
                    )
                    await self._kill(state)
            await asyncio.to_thread(self._write_state, replace(state, pid=None, port=None))
            _log.info("engine stopped", game_id=str(game_id), driver=self.name)

    async def remove(self, game_id: UUID, *, keep_data: bool = False) -> None:
        """Kill the engine if it runs; delete its directory, or all but `data/` and its log."""
        async with self._lock(game_id):
            state = await asyncio.to_thread(self._read_state, game_id)
            if state is not None and await asyncio.to_thread(self._is_running, state):
                await self._kill(state)
            await asyncio.to_thread(self._delete, game_id, keep_data)
            _log.info("engine removed", game_id=str(game_id), driver=self.name, keep_data=keep_data)

    async def inspect(self, game_id: UUID) -> EngineInstance:
        """The engine's state now; `exited` for a dead, zombie or reused pid."""
        return await asyncio.to_thread(self._inspect, game_id)

    async def list_labelled(self) -> list[EngineInstance]:
        """Every engine directory with a state file labelled `galaxy.backend=1`."""
        return await asyncio.to_thread(self._list)

    async def close(self) -> None:
        """Nothing to release: engines keep running, and their state is on disk."""

    # --- blocking helpers (each called in a thread) ----------------------------------------

    def _dir(self, game_id: UUID) -> Path:
        return self._root / str(game_id)

    def _read_state(self, game_id: UUID) -> _State | None:
        path = self._dir(game_id) / STATE_FILE
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DriverError(f"cannot read {path}: {exc}") from exc
        try:
            return _State.from_json(text)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DriverError(f"{path} is not a state file: {exc}", transient=False) from exc

    def _write_new(self, state: _State, token: str) -> None:
        directory = self._dir(state.game_id)
        try:
            (directory / DATA_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomically(directory / TOKEN_FILE, token)
        except OSError as exc:
            raise DriverError(f"cannot create {directory}: {exc}") from exc
        # Last: a directory counts as an engine only once it has its state file.
        self._write_state(state)

    def _write_state(self, state: _State) -> None:
        try:
            write_atomically(self._dir(state.game_id) / STATE_FILE, state.to_json())
        except OSError as exc:
            raise DriverError(f"cannot write the state of game {state.game_id}: {exc}") from exc

    def _read_token(self, game_id: UUID) -> str:
        path = self._dir(game_id) / TOKEN_FILE
        try:
            return path.read_text()
        except FileNotFoundError:
            raise DriverError(
                f"{path} is missing: re-create the engine of game {game_id}", transient=False
            ) from None
        except OSError as exc:
            raise DriverError(f"cannot read {path}: {exc}") from exc

    def _prepare_log(self, game_id: UUID) -> int:
        """Keep one older log once it grows past the limit; the offset this start writes at."""
        log = self._dir(game_id) / LOG_FILE
        try:
            size = log.stat().st_size
        except FileNotFoundError:
            return 0
        if size <= self._log_max_bytes:
            return size
        os.replace(log, log.with_name(LOG_FILE + ".1"))
        return 0

    def _spawn(self, state: _State) -> tuple[int, str | None]:
        directory = self._dir(state.game_id)
        limits, defaults = state.spec.get("limits", {}), Limits()
        memory = int(limits.get("memory_bytes", defaults.memory_bytes))
        cpu_seconds = int(limits.get("cpu_seconds", defaults.cpu_seconds))
        argv = [
            self._python,
            # Limits first, then exec the engine: its pid and command line are the engine's.
            "-c",
            _LIMITED_EXEC,
            str(memory),
            str(cpu_seconds),
            self._python,
            "-m",
            "galaxy_engine",
            "--log-level",
            "info",
            "serve",
            "--data",
            str((directory / DATA_DIR).resolve()),
            "--host",
            self._host,
            # The engine binds a free port itself and logs it: no window for a collision.
            "--port",
            "0",
        ]
        env = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith("LC_")}
        env.update(state.spec.get("env", {}))
        # Few malloc arenas: each reserves address space, which the limit counts.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        # The owner-only file, not the token: an engine's environment is easier to read.
        env.pop(TOKEN_VARIABLE, None)
        env[TOKEN_FILE_VARIABLE] = str((directory / TOKEN_FILE).resolve())
        log = str(directory / LOG_FILE)
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        try:
            try:
                # Its own session: the backend's signals and exit do not reach it.
                pid = os.posix_spawn(self._python, argv, env, file_actions=actions, setsid=True)
            except NotImplementedError:
                pid = os.posix_spawn(self._python, argv, env, file_actions=actions, setpgroup=0)
        except OSError as exc:
            raise DriverError(f"cannot run {self._python}: {exc}", transient=False) from exc
        info = process_info(pid)
        started = None if info is None else info.started
        self._children[pid] = started
        return pid, started

    def _alive(self, state: _State) -> ProcessInfo | None:
        """The recorded process if it still exists (a zombie of ours is reaped: gone)."""
        if state.pid is None:
            return None
        info = process_info(state.pid)
        if info is None or info.started != state.started:
            return None
        if info.zombie:
            # A multi-threaded process reads as a zombie a moment before it can be reaped.
            if reap(state.pid) is None:
                self._children[state.pid] = state.started
            return None
        return info

    def _running_info(self, state: _State) -> ProcessInfo | None:
        """The engine's process if it is alive and really it (not a reused or dying pid)."""
        info = self._alive(state)
        if info is None:
            return None
        data = str((self._dir(state.game_id) / DATA_DIR).resolve())
        if "galaxy_engine" not in info.command or data not in info.command:
            return None
        return info

    def _reap_children(self) -> None:
        """Collect every engine of `_children` that has exited since."""
        for pid, started in list(self._children.items()):
            info = process_info(pid)
            if info is None or info.started != started or (info.zombie and reap(pid) is not None):
                del self._children[pid]

    def _is_running(self, state: _State) -> bool:
        return self._running_info(state) is not None

    def _instance(self, game_id: UUID, state: _State | None) -> EngineInstance:
        handle = str(self._dir(game_id))
        if state is None:
            return EngineInstance(game_id=game_id, handle=handle, state="missing", address=None)
        if self._running_info(state) is not None:
            # No port recorded: its start was cut short; the engine's log may have it.
            port = state.port or _listening_port(self._log_since(game_id, state.log_offset))
            host = f"[{self._host}]" if ":" in self._host else self._host
            address = None if port is None else f"{host}:{port}"
            return EngineInstance(
                game_id=game_id,
                handle=handle,
                state="running",
                address=address,
                labels=dict(state.labels),
            )
        return EngineInstance(
            game_id=game_id,
            handle=handle,
            state="exited" if state.ever_started else "created",
            address=None,
            labels=dict(state.labels),
        )

    def _inspect(self, game_id: UUID) -> EngineInstance:
        self._reap_children()
        return self._instance(game_id, self._read_state(game_id))

    def _list(self) -> list[EngineInstance]:
        self._reap_children()
        try:
            entries = sorted(self._root.iterdir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise DriverError(f"cannot list {self._root}: {exc}") from exc
        found = []
        for entry in entries:
            try:
                game_id = UUID(entry.name)
            except ValueError:
                continue
            try:
                state = self._read_state(game_id)
            except DriverError as exc:
                _log.warning("engine state unreadable", path=str(entry), error=str(exc))
                continue
            if state is not None and state.labels.get(LABEL_BACKEND) == "1":
                found.append(self._instance(game_id, state))
        return found

    def _delete(self, game_id: UUID, keep_data: bool) -> None:
        directory = self._dir(game_id)
        try:
            if keep_data:
                # The state file first: without it the directory is no engine any more.
                for name in (STATE_FILE, TOKEN_FILE):
                    (directory / name).unlink(missing_ok=True)
            else:
                shutil.rmtree(directory, ignore_errors=False)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise DriverError(f"cannot remove {directory}: {exc}") from exc

    def _log_since(self, game_id: UUID, offset: int) -> str:
        try:
            with (self._dir(game_id) / LOG_FILE).open("rb") as log:
                log.seek(offset)
                return log.read(1 << 20).decode(errors="replace")
        except FileNotFoundError:
            return ""

    # --- waiting on the process ---------------------------------------------------------------

    async def _wait_listening(self, state: _State, offset: int) -> int:
        """The port from the engine's "listening on" line; DriverError if it exits first."""
        assert state.pid is not None
        deadline = time.monotonic() + self._start_timeout
        interval = 0.01
        while True:
            text = await asyncio.to_thread(self._log_since, state.game_id, offset)
            port = _listening_port(text)
            if port is not None:
                return port
            info = await asyncio.to_thread(process_info, state.pid)
            if info is None or info.zombie or info.started != state.started:
                code = await asyncio.to_thread(reap, state.pid)
                last = _last_line(await asyncio.to_thread(self._log_since, state.game_id, offset))
                # Exit 2 is a refusal (no token, data directory unusable): retrying won't help.
                raise DriverError(
                    f"engine of game {state.game_id} exited at start"
                    + ("" if code is None else f" with code {code}")
                    + (f": {last}" if last else ""),
                    transient=code != 2,
                )
            if time.monotonic() > deadline:
                await self._kill(state)
                raise DriverError(
                    f"engine of game {state.game_id} did not listen within "
                    f"{self._start_timeout:g}s (killed)"
                )
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.2)

    async def _wait_gone(self, state: _State, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        interval = 0.01
        # Until the pid is gone or reaped, not merely until its command line is empty.
        while await asyncio.to_thread(self._alive, state) is not None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.1)
        return True

    async def _kill_strays(self, state: _State) -> None:
        """Kill engines on this data directory that no state file names (their backend died
        between spawning one and recording it): each would hold the directory's lock."""
        data = str((self._dir(state.game_id) / DATA_DIR).resolve())
        strays = [
            pid
            for pid in await asyncio.to_thread(processes_running, f"--data {data} ")
            if pid != os.getpid()
        ]
        for pid in strays:
            _log.warning("killing a stray engine", game_id=str(state.game_id), pid=pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + _KILL_WAIT_SECONDS
        while strays and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            strays = [p for p in strays if await asyncio.to_thread(_still_there, p)]
        if strays:
            raise DriverError(f"stray engines of game {state.game_id} outlived SIGKILL: {strays}")

    async def _signal(self, state: _State, number: signal.Signals) -> None:
        await asyncio.to_thread(self._send, state, number)

    def _send(self, state: _State, number: signal.Signals) -> None:
        # Checked again right before: never signal a pid that is no longer the engine's.
        if state.pid is not None and self._alive(state) is not None:
            # The whole group: anything the engine started goes with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(state.pid, number)

    async def _kill(self, state: _State) -> None:
        await self._signal(state, signal.SIGKILL)
        if not await self._wait_gone(state, _KILL_WAIT_SECONDS):
            raise DriverError(f"engine of game {state.game_id} (pid {state.pid}) outlived SIGKILL")
        await asyncio.to_thread(self._reap_children)

    def _lock(self, game_id: UUID) -> asyncio.Lock:
        return self._locks.setdefault(game_id, asyncio.Lock())


def _still_there(pid: int) -> bool:
    info = process_info(pid)
    if info is not None and info.zombie:
        reap(pid)
        return False
    return info is not None


def _spec_record(spec: EngineSpec) -> dict[str, Any]:
    """The spec as state.json keeps it: everything but the token."""
    return {
        "image": spec.image,
        "limits": {
            "memory_bytes": spec.limits.memory_bytes,
            "cpus": spec.limits.cpus,
            "cpu_seconds": spec.limits.cpu_seconds,
        },
        "env": {k: v for k, v in spec.env.items() if k != TOKEN_VARIABLE},
    }


def _listening_port(text: str) -> int | None:
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("msg", "") if isinstance(entry, dict) else ""
        if isinstance(message, str) and message.startswith(_LISTENING):
            port = message.rpartition(" port ")[2]
            if port.isdigit():
                return int(port)
    return None


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][-500:] if lines else ""
