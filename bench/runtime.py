"""Engines: start request to `running`, and many running games ticking on their schedules.

The backend runs as `galaxy-backend serve` (production telemetry: OTLP traces at
`--sample-ratio` and metrics to a real OTLP receiver) against a throwaway database, with
the process driver (and, with `--docker unix:///...`, the docker driver for the start
figures). Players and their sessions are written into the database; everything else goes
through the HTTP API: create a game, two applications, two approvals, start.

1. Start → running: `--starts` games started one after the other; the time from the start
   request to the game's page saying `running` (engine spawned, /healthz answered,
   /admin/init done, the lobby told).
2. Load: `--games` games started together, each ticking `@every <--period>`; for
   `--seconds` once all run: turns/s sustained, tick lag (a turn's start after its slot)
   p50/p99/max from `runtime_turns`, the backend's RSS and CPU, the engines' total RSS.

Run: `.venv/bin/python bench/runtime.py [--games 200] [--period 5s] [--seconds 60]`
Needs: a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN.
"""

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    add_signed_in_users,
    cpu_seconds,
    free_port,
    migrate,
    percentile,
    production,
    rss_mib,
    serving,
)

from galaxy_backend.runtime.drivers.docker import DockerDriver
from galaxy_backend.runtime.drivers.process import ProcessDriver
from galaxy_backend.telemetry import configure_logging


async def seed_players(dsn: str, count: int) -> list[str]:
    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        _, tokens = await add_signed_in_users(conn, count, "r")
    finally:
        await conn.close()
    return tokens


class Platform:
    def __init__(self, client: httpx.AsyncClient, tokens: list[str]) -> None:
        self.client = client
        self.owner, self.a, self.b = ({"Authorization": f"Bearer {t}"} for t in tokens)
        self._n = 0

    async def game(self, schedule: str) -> str:
        """A created, filled and started game's id."""
        self._n += 1
        n = self._n
        created = await self.client.post(
            "/api/v1/user/games",
            json={
                "name": f"Bench {n}",
                "min_players": 2,
                "max_players": 2,
                "enrollment_deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "turn_schedule": schedule,
                "turn_time_zone": "UTC",
            },
            headers=self.owner,
        )
        created.raise_for_status()
        game_id = str(created.json()["id"])
        for who, name in ((self.a, f"Ants {n}"), (self.b, f"Bees {n}")):
            applied = await self.client.post(
                f"/api/v1/user/games/{game_id}/applications", json={"race_name": name}, headers=who
            )
            applied.raise_for_status()
            approved = await self.client.post(
                f"/api/v1/user/games/{game_id}/applications/{applied.json()['id']}/approve",
                headers=self.owner,
            )
            approved.raise_for_status()
        return game_id

    async def start(self, game_id: str) -> None:
        started = await self.client.post(f"/api/v1/user/games/{game_id}/start", headers=self.owner)
        started.raise_for_status()

    async def running(self, game_id: str) -> bool:
        page = await self.client.get(f"/api/v1/user/games/{game_id}", headers=self.owner)
        return bool(page.json()["status"] == "running")


async def time_starts(platform: Platform, count: int) -> list[float]:
    seconds = []
    for _ in range(count):
        game_id = await platform.game("@every 1h")
        began = time.perf_counter()
        await platform.start(game_id)
        while not await platform.running(game_id):  # noqa: ASYNC110 - polls the HTTP API
            await asyncio.sleep(0.02)
        seconds.append(time.perf_counter() - began)
    return seconds


async def load(
    platform: Platform, dsn: str, *, games: int, period: str, seconds: float, pid: int
) -> None:
    ids = [await platform.game(f"@every {period}") for _ in range(games)]
    began = time.perf_counter()
    for game_id in ids:
        await platform.start(game_id)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        while True:
            running = await conn.fetchval("SELECT count(*) FROM games WHERE status = 'running'")
            if running >= games:
                break
            await asyncio.sleep(0.5)
        print(f"{games} games started and running in {time.perf_counter() - began:.1f}s")
        cpu_before = cpu_seconds(pid, children=False)
        window_start = datetime.now(UTC)
        await asyncio.sleep(seconds)
        window_end = datetime.now(UTC)
        cpu = cpu_seconds(pid, children=False) - cpu_before
        rows = await conn.fetch(
            "SELECT started_at, scheduled_at FROM runtime_turns WHERE started_at BETWEEN $1 AND $2"
            " AND trigger = 'scheduled'",
            window_start,
            window_end,
        )
        rss = rss_mib(pid)
    finally:
        await conn.close()
    lags = [max((r["started_at"] - r["scheduled_at"]).total_seconds(), 0.0) for r in rows]
    engines = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "galaxy_engine" in " ".join(p.info["cmdline"] or [])
    ]
    engine_rss = sum(p.memory_info().rss for p in engines) / (1 << 20)
    print(
        f"over {seconds:.0f}s: {len(rows)} scheduled turns = {len(rows) / seconds:.1f} turns/s"
        f" ({games} games @every {period});"
        f" tick lag p50 {statistics.median(lags) * 1000:.0f} ms,"
        f" p99 {percentile(lags, 0.99) * 1000:.0f} ms,"
        f" max {max(lags) * 1000:.0f} ms"
    )
    print(
        f"backend: RSS {rss:.0f} MiB, CPU {cpu / seconds * 100:.0f}% of a core;"
        f" {len(engines)} engines: RSS {engine_rss:.0f} MiB in all"
    )


async def session(
    base: str, tokens: list[str], args: argparse.Namespace, dsn: str, pid: int, driver: str
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        platform = Platform(client, tokens)
        starts = await time_starts(platform, args.starts)
        print(
            f"{driver} driver: start -> running over {len(starts)} games:"
            f" median {statistics.median(starts):.2f}s, max {max(starts):.2f}s"
        )
        if driver == "process" and args.games:
            await load(
                platform, dsn, games=args.games, period=args.period, seconds=args.seconds, pid=pid
            )


async def remove_engines(driver: str, data: Path, docker_host: str | None, dsn: str) -> None:
    """The engines this run started (they outlive the backend on purpose), and no others."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        games = [r["game_id"] for r in await conn.fetch("SELECT game_id FROM runtime_records")]
    finally:
        await conn.close()
    chosen = ProcessDriver(data) if driver == "process" else DockerDriver(docker_host)
    try:
        for game_id in games:
            await chosen.remove(game_id)
    finally:
        await chosen.close()


def run(args: argparse.Namespace, driver: str) -> None:
    configure_logging("warning", "console")
    with production() as prod:
        tokens = asyncio.run(seed_players(prod.dsn, 3))
        port = free_port()
        extra = {
            "BACKEND_RUNTIME_DRIVER": driver,
            "BACKEND_RUNTIME_WORKER_POOL_SIZE": str(args.workers),
            "BACKEND_USER_DEFAULT_MAX_OWNED_GAMES": "1000",
            "BACKEND_USER_DEFAULT_MAX_ACTIVE_GAMES": "1000",
            "BACKEND_LOG_LEVEL": "warning",
            "BACKEND_POSTGRES_POOL_SIZE": "20",
        }
        if driver == "docker":
            extra["BACKEND_DOCKER_HOST"] = args.docker
        env = prod.env(
            port=port,
            sample_ratio=args.sample_ratio,
            extra=extra,
        )
        try:
            with serving(env) as proc:
                asyncio.run(
                    session(f"http://127.0.0.1:{port}", tokens, args, prod.dsn, proc.pid, driver)
                )
        finally:
            asyncio.run(remove_engines(driver, Path(prod.data), args.docker, prod.dsn))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--period", default="5s")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sample-ratio", default="0.1")
    parser.add_argument("--docker", help="a Docker API (e.g. unix:///run/podman-galaxy.sock)")
    args = parser.parse_args()
    run(args, "process")
    if args.docker:
        run(args, "docker")


if __name__ == "__main__":
    main()
