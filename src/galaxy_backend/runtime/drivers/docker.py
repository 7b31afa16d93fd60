"""The `docker` driver: each engine a container `galaxy-game-{id}` with a named volume.

Every Docker Engine API call runs in a thread (the SDK is blocking) inside a client span
`docker <operation>`, and is waited for at most the SDK's socket timeout (plus a stop's
grace) and a little more: a daemon that hangs is a transient DriverError, not a hang.
Known to work against Docker and podman's Docker-compatible API (4.3+); where podman
answers differently (a name conflict is a 500, a failed pull is a 200 with the error in
the stream) the driver accepts both.
"""

import asyncio
import io
import math
import os
import socket
import tarfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from uuid import UUID

import docker
from docker.constants import DEFAULT_UNIX_SOCKET
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import LogConfig
from docker.utils import kwargs_from_env, parse_repository_tag
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from requests.exceptions import RequestException

from galaxy_backend.runtime.drivers.base import (
    ENGINE_PORT,
    LABEL_BACKEND,
    LABEL_GAME_ID,
    TOKEN_FILE_VARIABLE,
    TOKEN_VARIABLE,
    DriverError,
    EngineInstance,
    EngineSpec,
    InstanceState,
    instance_name,
    labels_for,
)
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

T = TypeVar("T")
DATA_MOUNT = "/data"
# Beyond the SDK's socket timeout, before a call's thread is given up on.
_CALL_MARGIN_SECONDS = 5.0
# The engine's token, a file in its volume (readable by its user, whatever its uid).
TOKEN_NAME = ".admin-token"  # noqa: S105 - a file name
TOKEN_PATH = f"{DATA_MOUNT}/{TOKEN_NAME}"
_PORT_KEY = f"{ENGINE_PORT}/tcp"
# Pull errors no retry cures: a wrong name or tag, or no right to it.
_PERMANENT_PULL_ERRORS = (
    "not found",
    "manifest unknown",
    "unauthorized",
    "denied",
    "invalid reference",
)


def volume_name(game_id: UUID) -> str:
    return f"{instance_name(game_id)}-data"


class DockerDriver:
    """Engines as containers through the Docker Engine API at `docker_host`.

    `docker_host` None is the SDK's own default (DOCKER_HOST, else the local socket).
    Without `network`, each engine publishes its port 8080 on `127.0.0.1` of the Docker
    host at a port Docker picks (read back after every start: it may change), for a
    backend on that host. With `network` (the backend in a container on it, as in
    compose), engines join that network and are reached as `galaxy-game-{id}:8080`.
    """

    name = "docker"

    def __init__(
        self,
        docker_host: str | None,
        *,
        network: str | None = None,
        tracer: Tracer | None = None,
        timeout: int = 60,
    ) -> None:
        self._docker_host = docker_host
        self._network = network
        self._tracer = tracer or trace.get_tracer(__name__)
        self._timeout = timeout
        self._client: docker.APIClient | None = None
        self._connecting = asyncio.Lock()
        self._network_checked = False

    # --- the interface ----------------------------------------------------------------------

    async def create(self, spec: EngineSpec) -> EngineInstance:
        """Create the container and its volume (pulling the image only if it is absent)."""
        game_id = spec.game_id
        client = await self._api()
        found = await self._call("inspect", game_id, _inspect_container, client, game_id)
        if found is not None:
            # A create cut short after the container was made left no token (or an old one):
            # written again, as every retry of this create must leave an engine that works.
            await self._write_token(client, spec)
            return self._instance(game_id, found)
        await self._ensure_image(client, spec)
        if self._network:
            await self._ensure_network(client, game_id)
        await self._call("volume create", game_id, _create_volume, client, game_id)
        await self._call("create", game_id, self._create_container, client, spec)
        # The token as a file in the engine's volume: the container's config never holds it.
        await self._write_token(client, spec)
        # Ours or, after a lost race with another replica, theirs: the same container.
        found = await self._call("inspect", game_id, _inspect_container, client, game_id)
        if found is None:
            raise DriverError(f"container {instance_name(game_id)} vanished after its creation")
        _log.info("engine created", game_id=str(game_id), driver=self.name, image=spec.image)
        return self._instance(game_id, found)

    async def _write_token(self, client: docker.APIClient, spec: EngineSpec) -> None:
        # The same file each time; podman's archive upload now and then breaks its pipe under
        # load (a 500), so one more try before the runtime job's own retry.
        for attempt in (1, 2):
            try:
                await self._call(
                    "token", spec.game_id, _put_token, client, spec.game_id, spec.admin_token
                )
                return
            except DriverError as error:
                if attempt == 2 or not error.transient:
                    raise

    async def start(self, game_id: UUID) -> EngineInstance:
        """Start the container (unpause a paused one); its address as Docker reports it."""
        client = await self._api()
        found = await self._call("inspect", game_id, _inspect_container, client, game_id)
        if found is None:
            raise DriverError(f"no engine for game {game_id}: create it first", transient=False)
        status = found.get("State", {}).get("Status")
        if status == "paused":
            await self._call("unpause", game_id, client.unpause, found["Id"])
        elif status != "running":
            await self._call("start", game_id, client.start, found["Id"])
        found = await self._call("inspect", game_id, _inspect_container, client, game_id)
        if found is None:
            raise DriverError(f"container {instance_name(game_id)} vanished while starting")
        _log.info("engine started", game_id=str(game_id), driver=self.name)
        return self._instance(game_id, found)

    async def stop(self, game_id: UUID, *, grace_seconds: float = 10.0) -> None:
        """`docker stop -t grace`: SIGTERM, then SIGKILL after the grace (whole seconds)."""
        client = await self._api()
        found = await self._call("inspect", game_id, _inspect_container, client, game_id)
        if found is None or found.get("State", {}).get("Status") not in ("running", "paused"):
            return
        grace = max(0, math.ceil(grace_seconds))
        await self._call(
            "stop", game_id, _stop_container, client, found["Id"], grace, _extra_wait=grace
        )
        _log.info("engine stopped", game_id=str(game_id), driver=self.name)

    async def remove(self, game_id: UUID, *, keep_data: bool = False) -> None:
        """Remove the container (killing it if it runs) and, unless `keep_data`, its volume."""
        client = await self._api()
        await self._call("remove", game_id, _remove_container, client, instance_name(game_id))
        if not keep_data:
            await self._call("volume remove", game_id, _remove_volume, client, volume_name(game_id))
        _log.info("engine removed", game_id=str(game_id), driver=self.name, keep_data=keep_data)

    async def inspect(self, game_id: UUID) -> EngineInstance:
        """The container's state now (`missing` when there is none)."""
        client = await self._api()
        found = await self._call("inspect", game_id, _inspect_container, client, game_id)
        if found is None:
            return EngineInstance(
                game_id=game_id, handle=instance_name(game_id), state="missing", address=None
            )
        return self._instance(game_id, found)

    async def list_labelled(self) -> list[EngineInstance]:
        """Every container labelled `galaxy.backend=1`, running or not."""
        client = await self._api()
        summaries = await self._call(
            "list",
            None,
            client.containers,
            all=True,
            filters={"label": [f"{LABEL_BACKEND}=1"]},
        )
        return [instance for s in summaries if (instance := self._from_summary(s)) is not None]

    async def close(self) -> None:
        """Close the SDK's connection pool."""
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    # --- calls ----------------------------------------------------------------------------------

    async def _api(self) -> docker.APIClient:
        """The SDK client, made on first use: making one asks the daemon for its API version."""
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    self._client = await self._call("connect", None, self._connect)
        return self._client

    def _connect(self) -> docker.APIClient:
        try:
            return docker_client(self._docker_host, self._timeout)
        except ConnectionError as exc:
            raise DriverError(f"docker connect: {exc}") from exc

    async def _call(
        self,
        operation: str,
        game_id: UUID | None,
        function: Callable[..., T],
        *args: Any,
        _extra_wait: float | None = 0.0,
        **kwargs: Any,
    ) -> T:
        """Run one blocking SDK call in a thread, traced and bounded (`_extra_wait` None: by
        the socket timeout of each read only); SDK errors become DriverError."""
        attributes = {"docker.operation": operation}
        if game_id is not None:
            attributes["galaxy.game_id"] = str(game_id)
        with self._tracer.start_as_current_span(
            f"docker {operation}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            bound = (
                None if _extra_wait is None else self._timeout + _extra_wait + _CALL_MARGIN_SECONDS
            )
            try:
                # The thread itself ends at its socket timeout; this bounds the wait for it.
                async with asyncio.timeout(bound):
                    return await asyncio.to_thread(function, *args, **kwargs)
            except TimeoutError as exc:
                error = DriverError(f"docker {operation}: no answer within {bound:g}s")
                span.set_attribute("error.type", "TimeoutError")
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise error from exc
            except (DockerException, RequestException) as exc:
                error = driver_error(operation, exc)
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise error from exc
            except DriverError as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise

    async def _ensure_image(self, client: docker.APIClient, spec: EngineSpec) -> None:
        if await self._call("image inspect", spec.game_id, _has_image, client, spec.image):
            return
        _log.info("pulling engine image", image=spec.image, game_id=str(spec.game_id))
        # A pull may take long as a whole; each of its reads is bounded by the socket timeout.
        await self._call("pull", spec.game_id, _pull, client, spec.image, _extra_wait=None)
        if not await self._call("image inspect", spec.game_id, _has_image, client, spec.image):
            raise DriverError(f"image {spec.image} is absent after its pull", transient=False)

    async def _ensure_network(self, client: docker.APIClient, game_id: UUID) -> None:
        """The engines' network, internal (no way out of it but to its members): made so if
        it is missing, refused if it lets engines reach the internet."""
        assert self._network is not None
        if self._network_checked:
            return
        internal = await self._call("network", game_id, _internal_network, client, self._network)
        if not internal:
            raise DriverError(
                f"the engines' network {self._network} is not internal: engines on it could"
                f" reach the internet (docker network create --internal {self._network})",
                transient=False,
            )
        self._network_checked = True

    def _create_container(self, client: docker.APIClient, spec: EngineSpec) -> None:
        network = self._network
        host_config = client.create_host_config(
            binds={volume_name(spec.game_id): {"bind": DATA_MOUNT, "mode": "rw"}},
            port_bindings=None if network else {_PORT_KEY: {"HostIp": "127.0.0.1", "HostPort": ""}},
            network_mode=network,
            mem_limit=spec.limits.memory_bytes,
            # As much memory and swap as memory alone: no swap.
            memswap_limit=spec.limits.memory_bytes,
            pids_limit=spec.limits.pids,
            nano_cpus=round(spec.limits.cpus * 1e9),
            # An init as PID 1: the engine gets SIGTERM even before its handler is set up.
            init=True,
            read_only=True,
            tmpfs={"/tmp": "size=16m"},  # noqa: S108 - the container's own /tmp
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            log_config=LogConfig(
                type=LogConfig.types.JSON, config={"max-size": "10m", "max-file": "3"}
            ),
        )
        environment = {
            k: v for k, v in spec.env.items() if k not in (TOKEN_VARIABLE, TOKEN_FILE_VARIABLE)
        }
        environment[TOKEN_FILE_VARIABLE] = TOKEN_PATH
        # The API's own shape (the stubs' type for create_networking_config is off).
        networking: dict[str, Any] | None = {"EndpointsConfig": {network: {}}} if network else None
        try:
            client.create_container(
                spec.image,
                name=instance_name(spec.game_id),
                labels=labels_for(spec.game_id, spec.engine_version),
                environment=environment,
                ports=None if network else [ENGINE_PORT],
                host_config=host_config,
                networking_config=networking,
            )
        except APIError as exc:
            if not _is_name_conflict(exc):
                raise

    # --- what Docker said, as an EngineInstance ----------------------------------------------

    def _instance(self, game_id: UUID, attrs: Mapping[str, Any]) -> EngineInstance:
        state = _state(attrs.get("State", {}).get("Status"))
        labels = dict((attrs.get("Config") or {}).get("Labels") or {})
        ports = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
        bindings = ((b.get("HostIp", ""), b.get("HostPort")) for b in ports.get(_PORT_KEY) or [])
        return EngineInstance(
            game_id=game_id,
            handle=str(attrs["Id"]),
            state=state,
            address=self._address(game_id, state, bindings),
            labels=labels,
        )

    def _from_summary(self, summary: Mapping[str, Any]) -> EngineInstance | None:
        labels = dict(summary.get("Labels") or {})
        try:
            game_id = UUID(labels.get(LABEL_GAME_ID, ""))
        except ValueError:
            _log.warning(
                "container labelled galaxy.backend without a game id",
                container=summary.get("Id"),
                names=summary.get("Names"),
            )
            return None
        state = _state(summary.get("State"))
        bindings = (
            (p.get("IP", ""), p.get("PublicPort"))
            for p in summary.get("Ports") or []
            if p.get("PrivatePort") == ENGINE_PORT and p.get("Type", "tcp") == "tcp"
        )
        return EngineInstance(
            game_id=game_id,
            handle=str(summary["Id"]),
            state=state,
            address=self._address(game_id, state, bindings),
            labels=labels,
        )

    def _address(
        self, game_id: UUID, state: InstanceState, bindings: Iterable[tuple[str, object]]
    ) -> str | None:
        """Where a running engine answers: by name on the network, else its published port."""
        if state != "running":
            return None
        if self._network:
            return f"{instance_name(game_id)}:{ENGINE_PORT}"
        return _published(bindings)


# --- blocking helpers (each called in a thread by DockerDriver._call) ---------------------------


def docker_client(docker_host: str | None, timeout: int) -> docker.APIClient:
    """An SDK client of `docker_host` (None: DOCKER_HOST and its TLS settings, else the local
    socket), speaking the daemon's API version; ConnectionError if its socket is not there."""
    address = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_UNIX_SOCKET
    problem = _unix_socket_problem(address, timeout)
    if problem is not None:
        raise ConnectionError(problem)
    if docker_host is None:
        return docker.APIClient(version="auto", timeout=timeout, **kwargs_from_env())
    return docker.APIClient(base_url=docker_host, version="auto", timeout=timeout)


def _unix_socket_problem(address: str, timeout: float) -> str | None:
    # Checked first: the SDK leaves the socket of a failed unix connect unclosed.
    scheme, _, path = address.partition("://")
    if scheme not in ("unix", "http+unix"):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(path)
        except OSError as exc:
            return f"cannot connect to {path}: {exc.strerror or exc}"
    return None


def _inspect_container(client: docker.APIClient, game_id: UUID) -> dict[str, Any] | None:
    try:
        attrs: dict[str, Any] = client.inspect_container(instance_name(game_id))
    except NotFound:
        return None
    return attrs


def _has_image(client: docker.APIClient, image: str) -> bool:
    try:
        client.inspect_image(image)  # type: ignore[no-untyped-call]
    except (ImageNotFound, NotFound):
        return False
    return True


def _pull(client: docker.APIClient, image: str) -> None:
    repository, tag = parse_repository_tag(image)
    # The error arrives in the progress stream (podman answers 200 even when it fails);
    # read it to its end so that the connection goes back to the pool.
    failure = None
    for message in client.pull(repository, tag=tag or "latest", stream=True, decode=True):
        error = message.get("error") if isinstance(message, dict) else None
        failure = failure or error
    if failure:
        permanent = any(word in str(failure).lower() for word in _PERMANENT_PULL_ERRORS)
        raise DriverError(f"cannot pull {image}: {failure}", transient=not permanent)


def _create_volume(client: docker.APIClient, game_id: UUID) -> None:
    try:
        client.create_volume(name=volume_name(game_id), labels=labels_for(game_id))
    except APIError as exc:
        # Docker returns the existing volume; podman 4 refuses a concurrent create with a 500.
        if "already exists" not in str(exc.explanation or ""):
            raise


def _put_token(client: docker.APIClient, game_id: UUID, token: str) -> None:
    data = token.encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        entry = tarfile.TarInfo(TOKEN_NAME)
        entry.size = len(data)
        entry.mode = 0o444
        tar.addfile(entry, io.BytesIO(data))
    if not client.put_archive(instance_name(game_id), DATA_MOUNT, archive.getvalue()):
        raise DriverError(f"cannot write the token of {instance_name(game_id)}")


def _internal_network(client: docker.APIClient, name: str) -> bool:
    """Whether the network is internal, making it (internal) if there is none."""
    try:
        found: dict[str, Any] = client.inspect_network(name)
    except NotFound:
        try:
            client.create_network(name, driver="bridge", internal=True, labels={LABEL_BACKEND: "1"})
        except APIError as exc:
            # Another replica made it at the same moment: what it made is read below.
            if not _is_name_conflict(exc) and "already exists" not in str(exc.explanation or ""):
                raise
        found = client.inspect_network(name)
    return bool(found.get("Internal"))


def _stop_container(client: docker.APIClient, container: str, grace: int) -> None:
    try:
        client.stop(container, timeout=grace)
    except NotFound:
        return


def _remove_container(client: docker.APIClient, name: str) -> None:
    try:
        client.remove_container(name, force=True)
    except NotFound:
        return
    except APIError as exc:
        # Both daemons may already be removing it (a concurrent remove): done either way.
        if "already in progress" not in str(exc.explanation or ""):
            raise


def _remove_volume(client: docker.APIClient, name: str) -> None:
    try:
        client.remove_volume(name)
    except NotFound:
        return


def _is_name_conflict(exc: APIError) -> bool:
    # Docker answers 409; podman 4 answers 500 "... is already in use".
    return exc.status_code == 409 or "already in use" in str(exc.explanation or "")


def _state(status: object) -> InstanceState:
    if status == "created":
        return "created"
    if status == "running":
        return "running"
    # exited, dead, paused, restarting, removing: not serving, whatever comes next.
    return "exited"


def _published(bindings: Iterable[tuple[str, object]]) -> str | None:
    """`127.0.0.1:port` for the binding on loopback (or any address), if there is one."""
    for host, port in bindings:
        if port in (None, "", "0", 0):
            continue
        if host in ("127.0.0.1", "0.0.0.0", ""):  # noqa: S104 - reading a binding
            return f"127.0.0.1:{port}"
        if host in ("::1", "::"):
            return f"[::1]:{port}"
    return None


def driver_error(operation: str, exc: Exception) -> DriverError:
    """An SDK failure as a DriverError; transient unless the daemon refused the request."""
    if isinstance(exc, APIError):
        code = exc.status_code
        reason = exc.explanation or str(exc)
        transient = code is None or code >= 500 or code in (408, 409, 429)
        return DriverError(f"docker {operation}: {code} {reason}", transient=transient)
    return DriverError(f"docker {operation}: {exc}", transient=True)
