"""The gateway (`galaxy-gateway serve`) in front of `galaxy-backend serve`, both with
production telemetry (JSON logs, OTLP traces at the sample ratio and metrics to a real
receiver in this process):

1. `GET /api/v1/user/me` through the gateway beside the backend directly, in interleaved
   rounds of wrk (same sessions, same run): req/s, the gateway's share, p50/p99, and the CPU
   time per request of each process (all threads);
2. events published by the backend at an offered rate (operators' notifications to the
   connected players, push channel only, `--per-request` recipients each, paced by the
   clock) reaching real WebSocket clients, one per player: latency from the event's
   `created_at` (set when the backend publishes it) to the frame read by the client;
3. `--sockets` WebSockets (two per player) held open in one gateway process, each signed in
   and past `ready`: the gateway's RSS before and after.

Run: `.venv/bin/python bench/gateway.py [--seconds 8] [--rounds 3] [--rate 1000]
     [--players 1000] [--sockets 10000] [--sample-ratio 0.1]`
Needs: `wrk`, a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN.
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    ME_SCRIPT,
    Production,
    add_signed_in_users,
    backend_env,
    cpu_seconds,
    free_port,
    interleaved,
    median_run,
    percentile,
    production,
    rss_mib,
    serving,
    spawned,
    wait_http,
    wrk_script,
)

TOKEN = "bench-internal-token-" + "g" * 32
ADMIN, PASSWORD = "bench-operator", "bench operator password"
GATEWAY = [sys.executable, "-m", "galaxy_gateway", "serve"]


def raise_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def gateway(prod: Production, *, port: int, backend_port: int, grpc_port: int, ratio: str):
    env = backend_env(
        {
            "GATEWAY_HTTP_ADDR": f"127.0.0.1:{port}",
            "GATEWAY_BACKEND_URL": f"http://127.0.0.1:{backend_port}",
            "GATEWAY_BACKEND_PUSH_ADDRS": f"127.0.0.1:{grpc_port}",
            "GATEWAY_INTERNAL_TOKEN": TOKEN,
            "GATEWAY_OTEL_TRACES_EXPORTER": "otlp",
            "GATEWAY_OTEL_METRICS_EXPORTER": "otlp",
            "GATEWAY_OTEL_TRACES_SAMPLE_RATIO": ratio,
            "GATEWAY_LOG_LEVEL": "info",
            "GATEWAY_LOG_FORMAT": "json",
            # Every client of this bench comes from 127.0.0.1.
            "GATEWAY_WS_MAX_PER_ADDRESS": "20000",
            "GATEWAY_HTTP_MAX_CONNECTIONS": "16000",
            "OTEL_EXPORTER_OTLP_ENDPOINT": prod.otlp_endpoint,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }
    )
    with spawned(GATEWAY, env) as proc:
        wait_http(f"http://127.0.0.1:{port}/readyz")
        yield proc


async def signed_in(dsn: str, count: int, prefix: str) -> tuple[list[str], list[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        users, tokens = await add_signed_in_users(conn, count, prefix)
    finally:
        await conn.close()
    return [str(u) for u in users], tokens


def http_rounds(
    direct: str, through: str, tokens: list[str], *, seconds: int, rounds: int, pids: dict[str, int]
) -> None:
    cpu: dict[str, list[float]] = {"direct": [], "gateway": []}

    def run(name: str, url: str) -> object:
        before = {k: cpu_seconds(p) for k, p in pids.items()}
        result = wrk_script(url, ME_SCRIPT, tokens, connections=64, seconds=seconds)
        spent = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
        per = {k: v / max(result.requests, 1) * 1e6 for k, v in spent.items()}
        cpu[name].append(per["gateway"] if name == "gateway" else per["backend"])
        if name == "gateway":
            cpu.setdefault("backend behind gateway", []).append(per["backend"])
        return result

    results = interleaved(
        rounds,
        {"direct": lambda: run("direct", direct), "gateway": lambda: run("gateway", through)},
    )
    shares = [
        g.requests_per_second / d.requests_per_second
        for d, g in zip(results["direct"], results["gateway"], strict=True)
    ]
    print(f"GET /api/v1/user/me, wrk -t1 -c64, {rounds} interleaved rounds of {seconds} s")
    print(f"{'target':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  CPU us/req")
    for name in ("direct", "gateway"):
        row = median_run(results[name])  # type: ignore[arg-type]
        extra = ""
        if name == "gateway":
            extra = f" (backend behind it {statistics.median(cpu['backend behind gateway']):.0f})"
        print(
            f"{name:10} {row.requests_per_second:>9.0f} {row.p50_ms:>8.2f} {row.p99_ms:>8.2f}"
            f" {row.errors:>7}  {statistics.median(cpu[name]):.0f}{extra}"
        )
    spread = ", ".join(f"{s:.0%}" for s in shares)
    print(f"gateway / direct, same round: median {statistics.median(shares):.0%} ({spread})")


async def open_socket(url: str, token: str) -> websockets.ClientConnection:
    socket = await websockets.connect(url, open_timeout=60, ping_interval=None, max_queue=None)
    await socket.send(json.dumps({"type": "auth", "token": token}))
    ready = json.loads(await socket.recv())
    assert ready["type"] == "ready", ready
    return socket


async def open_many(
    url: str, tokens: list[str], per_token: int
) -> list[websockets.ClientConnection]:
    gate = asyncio.Semaphore(100)

    async def one(token: str) -> websockets.ClientConnection:
        async with gate:
            return await open_socket(url, token)

    return list(await asyncio.gather(*(one(t) for t in tokens for _ in range(per_token))))


async def delivery(
    pids: dict[str, int],
    backend: str,
    ws_url: str,
    users: list[str],
    tokens: list[str],
    *,
    rate: int,
    per_request: int,
    seconds: float,
) -> None:
    sockets = await open_many(ws_url, tokens, 1)
    latencies: list[float] = []

    async def read(socket: websockets.ClientConnection) -> None:
        async for raw in socket:
            now = time.time()
            frame = json.loads(raw)
            if frame.get("type") == "event":
                created = datetime.fromisoformat(frame["created_at"]).timestamp()
                latencies.append((now - created) * 1000)

    readers = [asyncio.create_task(read(s)) for s in sockets]
    async with httpx.AsyncClient(base_url=backend, timeout=30) as client:
        login = await client.post(
            "/api/v1/admin/auth/login", json={"username": ADMIN, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        per_second = rate / per_request
        total = int(per_second * seconds)
        pending: set[asyncio.Task[None]] = set()

        async def one(n: int) -> None:
            recipients = [users[(n * per_request + k) % len(users)] for k in range(per_request)]
            reply = await client.post(
                "/api/v1/admin/notifications",
                json={"user_ids": recipients, "title": f"n{n}", "body": "b", "channels": ["push"]},
                headers=headers,
            )
            reply.raise_for_status()

        began = time.perf_counter()
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        for n in range(total):
            delay = began + n / per_second - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        offered = time.perf_counter() - began
        expected = total * per_request
        deadline = time.perf_counter() + 30
        while len(latencies) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        busy = {
            name: (cpu_seconds(pid) - cpu_before[name]) / (time.perf_counter() - began)
            for name, pid in pids.items()
        }
    for task in readers:
        task.cancel()
    for socket in sockets:
        await socket.close()
    print(
        f"events: {expected} offered in {offered:.1f} s = {expected / offered:,.0f}/s to"
        f" {len(sockets)} sockets; {len(latencies)} received"
    )
    print(
        f"  backend publish -> client socket: p50 {statistics.median(latencies):.1f} ms,"
        f" p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"
    )
    print("  CPU (cores busy): " + ", ".join(f"{k} {v:.2f}" for k, v in busy.items()))


async def hold(ws_url: str, tokens: list[str], gateway_pid: int) -> None:
    before = rss_mib(gateway_pid)
    began = time.perf_counter()
    sockets = await open_many(ws_url, tokens, 2)
    opened = time.perf_counter() - began
    await asyncio.sleep(2)
    after = rss_mib(gateway_pid)
    print(
        f"sockets: {len(sockets)} open and signed in ({len(tokens)} players x 2) in {opened:.1f} s;"
        f" gateway RSS {before:.0f} MiB before, {after:.0f} MiB with them"
        f" ({(after - before) * 1024 / len(sockets):.1f} KiB per socket)"
    )
    await asyncio.gather(*(s.close() for s in sockets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--per-request", type=int, default=50)
    parser.add_argument("--events-seconds", type=float, default=10)
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--sample-ratio", default="0.1")
    parser.add_argument("--skip", default="", help="comma-separated: http,events,sockets")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    raise_open_files()
    with production() as prod:
        port, grpc_port, gateway_port = free_port(), free_port(), free_port()
        env = prod.env(
            port=port,
            sample_ratio=args.sample_ratio,
            extra={
                "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{grpc_port}",
                "BACKEND_INTERNAL_TOKEN": TOKEN,
                "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN,
                "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": PASSWORD,
            },
        )
        with (
            serving(env) as backend,
            gateway(
                prod,
                port=gateway_port,
                backend_port=port,
                grpc_port=grpc_port,
                ratio=args.sample_ratio,
            ) as gw,
        ):
            # Written after the backend's start, which migrated the database.
            users, tokens = asyncio.run(
                signed_in(prod.dsn, max(args.players, args.sockets // 2), "p")
            )
            direct = f"http://127.0.0.1:{port}"
            through = f"http://127.0.0.1:{gateway_port}"
            ws_url = f"ws://127.0.0.1:{gateway_port}/ws"
            print(f"telemetry: OTLP traces at ratio {args.sample_ratio}, OTLP metrics, JSON logs")
            if "http" not in skip:
                http_rounds(
                    direct,
                    through,
                    tokens[:64],
                    seconds=args.seconds,
                    rounds=args.rounds,
                    pids={"backend": backend.pid, "gateway": gw.pid},
                )
            if "events" not in skip:
                asyncio.run(
                    delivery(
                        {"backend": backend.pid, "gateway": gw.pid, "bench": os.getpid()},
                        direct,
                        ws_url,
                        users[: args.players],
                        tokens[: args.players],
                        rate=args.rate,
                        per_request=args.per_request,
                        seconds=args.events_seconds,
                    )
                )
            if "sockets" not in skip:
                asyncio.run(hold(ws_url, tokens[: args.sockets // 2], gw.pid))
        print(f"OTLP receiver: {prod.traces.spans} spans, {prod.metrics.exports} metric exports")


if __name__ == "__main__":
    main()
