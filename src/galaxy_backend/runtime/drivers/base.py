"""The interface every runtime driver implements, and what it takes and gives.

An engine instance is named `galaxy-game-{game_id}` and labelled `galaxy.backend=1`,
`galaxy.game_id={game_id}` and `galaxy.engine_version={version}`, so that `list_labelled()`
finds every engine this platform started (on any backend replica, before or after a
restart) and the reconciler can match them with the runtime records, or make the record
again of one whose record was lost. Its state lives in a volume (docker) or a directory
(process) mounted at `/data`, so stopping, restarting or re-creating it loses nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID

LABEL_BACKEND = "galaxy.backend"
LABEL_GAME_ID = "galaxy.game_id"
LABEL_ENGINE_VERSION = "galaxy.engine_version"
NAME_PREFIX = "galaxy-game-"
ENGINE_PORT = 8080
# Where an engine reads its admin token (galaxy_engine.cli reads the same names): the
# variable, or (containers) the file the other variable names.
TOKEN_VARIABLE = "GALAXY_ENGINE_ADMIN_TOKEN"  # noqa: S105 - a variable name, not a secret
TOKEN_FILE_VARIABLE = "GALAXY_ENGINE_ADMIN_TOKEN_FILE"  # noqa: S105 - a variable name

InstanceState = Literal["created", "running", "exited", "missing"]


def instance_name(game_id: UUID) -> str:
    return f"{NAME_PREFIX}{game_id}"


def labels_for(game_id: UUID, engine_version: str | None = None) -> dict[str, str]:
    labels = {LABEL_BACKEND: "1", LABEL_GAME_ID: str(game_id)}
    if engine_version:
        labels[LABEL_ENGINE_VERSION] = engine_version
    return labels


class DriverError(Exception):
    """The driver could not do what was asked; `transient` if trying again may help."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one engine. Docker enforces memory (without swap), CPUs and
    processes; the process driver enforces memory as address space and CPU time."""

    memory_bytes: int = 512 * 1024 * 1024
    cpus: float = 1.0
    pids: int = 256
    # CPU seconds one engine process may use in all (process driver).
    cpu_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What an engine for a game is made of."""

    game_id: UUID
    image: str
    # GALAXY_ENGINE_ADMIN_TOKEN inside the engine; never logged, never stored (nor in a repr).
    admin_token: str = field(repr=False)
    limits: Limits = field(default_factory=Limits)
    env: Mapping[str, str] = field(default_factory=dict)
    # The registry's version it runs (a label, read back by the reconciler's adoption).
    engine_version: str | None = None


@dataclass(frozen=True, slots=True)
class EngineInstance:
    """An engine as the driver sees it now."""

    game_id: UUID
    # The driver's own id of it: a container id, or the process's state directory.
    handle: str
    state: InstanceState
    # Where the engine's HTTP server answers ("host:port"), once it is running.
    address: str | None
    labels: Mapping[str, str] = field(default_factory=dict)


class Driver(Protocol):
    """Creates, starts, stops, removes and finds engines. Every call is idempotent where it
    can be: creating one that exists returns it, stopping a stopped one or removing a
    missing one succeeds. Calls never block the event loop."""

    name: str

    async def create(self, spec: EngineSpec) -> EngineInstance:
        """Create (not start) the engine of `spec.game_id`, or return the existing one."""
        ...

    async def start(self, game_id: UUID) -> EngineInstance:
        """Start it (from its volume: a re-created or restarted engine keeps its game)."""
        ...

    async def stop(self, game_id: UUID, *, grace_seconds: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `grace_seconds`; its data stays."""
        ...

    async def remove(self, game_id: UUID, *, keep_data: bool = False) -> None:
        """Remove the engine and, unless `keep_data`, its data."""
        ...

    async def inspect(self, game_id: UUID) -> EngineInstance:
        """Its state now (`missing` when there is none)."""
        ...

    async def list_labelled(self) -> list[EngineInstance]:
        """Every engine labelled `galaxy.backend=1`, whoever started it."""
        ...

    async def close(self) -> None:
        """Release the driver's clients (the Docker SDK's connection pool)."""
        ...
