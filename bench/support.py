"""Shared bench helpers: a throwaway database, an OTLP sink, a backend with production
telemetry and the bare app beside it, seeded and signed-in players, wrk and the figures
(interleaved rounds, medians, percentiles, CPU and RSS of a process)."""

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import grpc
import httpx
import psutil
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

REPO = Path(__file__).resolve().parent.parent
# The checkout's own code, for this process and every backend it spawns, whatever the venv
# has installed (a worktree measures its changes, not the main checkout's).
SRC = REPO / "src"
sys.path.insert(0, str(SRC))
ADMIN_DSN = os.environ.get(
    "GALAXY_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)

from galaxy_backend.auth.credentials import code_hash, token_hash  # noqa: E402 - after SRC
from galaxy_backend.postgres import apply_migrations  # noqa: E402

# The backend's BACKEND_SECRET_KEY wherever a bench prepares sign-in challenges for it.
SECRET_KEY = "bench-secret-key-" + "k" * 32
# Challenges go to this many accounts in turn.
ACCOUNTS = 1000
# wrk: `GET /api/v1/user/me` with the session tokens of the data file, one after the other.
ME_SCRIPT = """
local tokens = {}
local index = 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
request = function()
  index = index % #tokens + 1
  return wrk.format("GET", "/api/v1/user/me", {["Authorization"] = "Bearer " .. tokens[index]})
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, empty database on the bench PostgreSQL; dropped afterwards."""
    name = f"galaxy_bench_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def migrate(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        await apply_migrations(pool)
    finally:
        await pool.close()


async def add_signed_in_users(
    conn: asyncpg.Connection, count: int, email_prefix: str
) -> tuple[list[uuid.UUID], list[str]]:
    """`count` users, each with a live session (its token hashed as the auth service hashes
    it), written straight into the migrated database; their ids and session tokens."""
    users = [uuid.uuid4() for _ in range(count)]
    await conn.copy_records_to_table(
        "users",
        schema_name="backend",
        records=[
            (u, f"{email_prefix}{i}@bench.example", f"{email_prefix}{i}@bench.example")
            for i, u in enumerate(users)
        ],
        columns=["id", "email", "email_normalized"],
    )
    tokens = [f"gsu_{secrets.token_urlsafe(32)}" for _ in users]
    expires = datetime.now(UTC) + timedelta(days=1)
    await conn.copy_records_to_table(
        "sessions",
        schema_name="backend",
        records=[
            (uuid.uuid4(), u, token_hash(t), expires) for u, t in zip(users, tokens, strict=True)
        ],
        columns=["id", "user_id", "token_hash", "expires_at"],
    )
    return users, tokens


async def prepare_challenges(dsn: str, count: int, offset: int) -> list[str]:
    """Insert `count` live sign-in challenges, their codes hashed under SECRET_KEY as the
    service hashes them; return the confirm bodies, one JSON per line."""
    rows, bodies = [], []
    expires = datetime.now(UTC) + timedelta(hours=1)
    for n in range(count):
        challenge_id = uuid.uuid4()
        email = f"player{(offset + n) % ACCOUNTS}@bench.example"
        code = f"{(n * 7919) % 1_000_000:06d}"
        rows.append(
            (
                challenge_id,
                email,
                email,
                code_hash(SECRET_KEY.encode(), challenge_id, code),
                5,
                expires,
            )
        )
        bodies.append(json.dumps({"challenge_id": str(challenge_id), "code": code}))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "auth_challenges",
            schema_name="backend",
            records=rows,
            columns=["id", "email", "email_normalized", "code_hash", "max_attempts", "expires_at"],
        )
    finally:
        await conn.close()
    return bodies


def sign_in(base: str, dsn: str, count: int) -> list[str]:
    """Session tokens of `count` sign-ins through the API (challenges prepared in the
    database, codes confirmed over HTTP)."""
    tokens = []
    with httpx.Client(base_url=base) as client:
        for body in asyncio.run(prepare_challenges(dsn, count, 0)):
            reply = client.post(
                "/api/v1/public/auth/email-code/confirm",
                content=body,
                headers={"content-type": "application/json"},
            )
            reply.raise_for_status()
            tokens.append(reply.json()["token"])
    return tokens


class _TraceSink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0

    def Export(self, request: Any, context: Any) -> Any:
        self.spans += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsSink(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self.exports = 0

    def Export(self, request: Any, context: Any) -> Any:
        self.exports += 1
        return metrics_service_pb2.ExportMetricsServiceResponse()


@contextlib.contextmanager
def otlp_sink() -> Iterator[tuple[str, _TraceSink, _MetricsSink]]:
    """A real OTLP/gRPC receiver that accepts and discards, so exporters do their full work."""
    traces, metrics = _TraceSink(), _MetricsSink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(traces, server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(metrics, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", traces, metrics
    finally:
        server.stop(grace=1)


def wait_http(url: str, timeout: float = 60.0) -> float:
    """Seconds until `url` answered 200."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - began
        time.sleep(0.01)
    raise TimeoutError(f"{url} not ready in {timeout}s")


@contextlib.contextmanager
def spawned(
    cmd: list[str], env: dict[str, str], cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def backend_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def bare_uvicorn_command(port: int) -> list[str]:
    """The bare ASGI app under the same uvicorn settings as the backend's listener."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--lifespan",
        "off",
        "--log-level",
        "warning",
    ]


@dataclass
class Production:
    """What a backend with production telemetry runs against: a throwaway database, an OTLP
    sink and a data directory."""

    dsn: str
    otlp_endpoint: str
    traces: _TraceSink
    metrics: _MetricsSink
    data: str

    def env(
        self,
        *,
        port: int,
        sample_ratio: str,
        extra: dict[str, str] | None = None,
        data: str | None = None,
    ) -> dict[str, str]:
        """A backend configured as in production: JSON logs at info, OTLP traces and
        metrics; `data` in place of the shared data directory."""
        return backend_env(
            {
                "BACKEND_POSTGRES_DSN": self.dsn,
                "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
                "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{free_port()}",
                "BACKEND_DATA_DIR": data or self.data,
                "BACKEND_OTEL_TRACES_EXPORTER": "otlp",
                "BACKEND_OTEL_METRICS_EXPORTER": "otlp",
                "BACKEND_OTEL_TRACES_SAMPLE_RATIO": sample_ratio,
                "BACKEND_LOG_LEVEL": "info",
                "BACKEND_LOG_FORMAT": "json",
                "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_endpoint,
                "OTEL_EXPORTER_OTLP_INSECURE": "true",
                **(extra or {}),
            }
        )


@contextlib.contextmanager
def production() -> Iterator[Production]:
    """A throwaway database, an OTLP sink and a data directory, all gone afterwards."""
    with (
        throwaway_database() as dsn,
        otlp_sink() as (endpoint, traces, metrics),
        tempfile.TemporaryDirectory() as data,
    ):
        yield Production(dsn, endpoint, traces, metrics, data)


SERVE = [sys.executable, "-m", "galaxy_backend", "serve"]


@contextlib.contextmanager
def serving(env: dict[str, str], command: list[str] = SERVE) -> Iterator[subprocess.Popen[bytes]]:
    """`galaxy-backend serve` (or `command`) with `env`, answering on /readyz."""
    with spawned(command, env) as proc:
        wait_http(f"http://{env['BACKEND_HTTP_ADDR']}/readyz")
        yield proc


@contextlib.contextmanager
def bare_app(port: int, command: list[str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """The bare ASGI app (bench/bare_app.py) under plain uvicorn, or `command`, answering."""
    with spawned(
        command or bare_uvicorn_command(port), backend_env({}), cwd=REPO / "bench"
    ) as proc:
        wait_http(f"http://127.0.0.1:{port}/")
        yield proc


@contextlib.contextmanager
def bare_and_backend(bare_port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The bare ASGI baseline and `galaxy-backend serve` (with `env`), both answering; the
    backend's process."""
    with bare_app(bare_port), serving(env) as backend:
        yield backend


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User and system CPU time so far of a process and (unless `children` is false) its
    children, all threads together (granian's command line serves from a worker process)."""
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *(process.children(recursive=True) if children else [])]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def rss_mib(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    headers: dict[str, str] | None = None,
    extra: list[str] | None = None,
    script_args: list[str] | None = None,
) -> WrkResult:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for this benchmark: apt-get install wrk")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    cmd += extra or []
    tail = ["--", *script_args] if script_args else []
    out = subprocess.run([*cmd, url, *tail], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    # Failed requests: non-2xx answers plus socket errors (connect, read, write, timeout).
    errors = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(non_2xx.group(1))
    if socket := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in socket.groups())
    return WrkResult(rps, p50, p99, errors, requests)


def wrk_script(
    url: str,
    script: str,
    lines: list[str],
    *,
    connections: int,
    seconds: int,
    args: Sequence[str] = (),
) -> WrkResult:
    """wrk driven by the Lua `script`, whose `init` reads `lines` from the file given as its
    first argument; `args` follow it."""
    with tempfile.TemporaryDirectory() as tmp:
        script_path, data_path = Path(tmp) / "script.lua", Path(tmp) / "data.txt"
        script_path.write_text(script)
        data_path.write_text("\n".join(lines) + "\n")
        return wrk(
            url,
            connections=connections,
            seconds=seconds,
            extra=["-s", str(script_path)],
            script_args=[str(data_path), *args],
        )


T = TypeVar("T")


def interleaved(rounds: int, runs: Mapping[str, Callable[[], T]]) -> dict[str, list[T]]:
    """Every run once per round, in turn, so drift in the machine's speed hits all alike;
    each name's results in round order."""
    results: dict[str, list[T]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return results


def median_run(runs: list[WrkResult]) -> WrkResult:
    """The run with the median req/s (the upper one of an even count), figures and all."""
    return sorted(runs, key=lambda r: r.requests_per_second)[len(runs) // 2]


def print_wrk_table(results: Mapping[str, WrkResult], bare_rps: float) -> None:
    """req/s, its share of the bare app's, p50/p99 and errors, a line per target."""
    print(f"{'target':20} {'req/s':>10} {'of bare':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}")
    for name, row in results.items():
        print(
            f"{name:20} {row.requests_per_second:>10.0f} "
            f"{row.requests_per_second / bare_rps:>8.0%} {row.p50_ms:>8.2f} {row.p99_ms:>8.2f} "
            f"{row.errors:>8}"
        )


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (0-1) of the sorted values, NaN if there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")
