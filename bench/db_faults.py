"""Database faults against a running backend: how long until it is whole again.

The backend runs as `galaxy-backend serve` with the shipped bounds (`--fast`: the short
ones of tests/faults) against a private PostgreSQL (`initdb`/`pg_ctl`, see
tests/faults/cluster.py) reached through the fault proxy (tests/faults/proxy.py). Two
players play a game ticking `@every 2s` (process driver) while clients call the API
throughout (a player's reads, the game's status, a sign-in write, the edge's fast
routes) and `/readyz` is polled. Then, in turn:

1. restart: `pg_ctl -m fast stop`, down `--down` seconds, start;
2. black hole for `--hole` seconds (connections kept, nothing forwarded), healed with a
   reset of the old connections;
3. the same, healed without a word (the old connections stay open and silent for ever,
   as after a failover).

For each: seconds from the heal until `/readyz` answers 200 and until the next turn has
run, the slowest request from the fault until ready, and the status counts (`-` is no
answer within 60 s). Figures go to stdout.

Run: `.venv/bin/python bench/db_faults.py [--down 6] [--hole 15] [--fast]`
Needs: PostgreSQL's initdb and pg_ctl (Debian's, else pgserver's); as root they run as
the `postgres` user.
"""

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support import SECRET_KEY, SERVE, add_signed_in_users, backend_env, free_port, migrate, spawned

from galaxy_backend.telemetry import configure_logging
from tests.faults.cluster import PrivateCluster
from tests.faults.proxy import FaultProxy
from tests.faults.traffic import ReadinessWatch, Traffic

INTERNAL_TOKEN = "bench-internal-token-" + "t" * 32
FAST = {
    "BACKEND_POSTGRES_ACQUIRE_TIMEOUT": "1s",
    "BACKEND_POSTGRES_STATEMENT_TIMEOUT": "1s",
    "BACKEND_POSTGRES_DEAD_PEER_TIMEOUT": "3s",
    "BACKEND_LOOP_DEADLINE": "6s",
    "BACKEND_CACHE_BUS_HEARTBEAT": "1s",
}
RECOVERY_LIMIT = 120.0


@dataclass
class Figures:
    fault: str
    down: float
    ready: float | None
    turn: float | None
    slowest: float
    statuses: Counter[int | str]


async def until(condition: Callable[[], Awaitable[bool]], limit: float) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if await condition():
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    return None


class Game:
    """Two players and an owner, one game ticking `@every 2s`, seen past the proxy."""

    def __init__(self, tokens: list[str], direct_dsn: str) -> None:
        self.owner, self.a, self.b = ({"Authorization": f"Bearer {t}"} for t in tokens)
        self.direct_dsn = direct_dsn
        self.id = ""

    async def start(self, client: httpx.AsyncClient) -> None:
        created = await client.post(
            "/api/v1/user/games",
            json={
                "name": "Fault bench",
                "min_players": 2,
                "max_players": 2,
                "enrollment_deadline": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "turn_schedule": "@every 2s",
                "turn_time_zone": "UTC",
            },
            headers=self.owner,
        )
        created.raise_for_status()
        self.id = str(created.json()["id"])
        for who, name in ((self.a, "Ants"), (self.b, "Bees")):
            applied = await client.post(
                f"/api/v1/user/games/{self.id}/applications", json={"race_name": name}, headers=who
            )
            applied.raise_for_status()
            approved = await client.post(
                f"/api/v1/user/games/{self.id}/applications/{applied.json()['id']}/approve",
                headers=self.owner,
            )
            approved.raise_for_status()
        started = await client.post(f"/api/v1/user/games/{self.id}/start", headers=self.owner)
        started.raise_for_status()

    async def turn(self) -> int:
        """The game's turn, read straight from the cluster (0 while it is down)."""
        try:
            conn = await asyncpg.connect(self.direct_dsn, timeout=2)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return 0
        try:
            turn = await conn.fetchval(
                "SELECT current_turn FROM backend.runtime_records WHERE game_id = $1",
                uuid.UUID(self.id),
            )
        finally:
            await conn.close()
        return int(turn or 0)


def calls(game: Game) -> dict[str, Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]]:
    emails = itertools.count()
    resolve_headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    return {
        "me": lambda c: c.get("/api/v1/user/me", headers=game.a),
        "public games": lambda c: c.get("/api/v1/public/games"),
        "game": lambda c: c.get(f"/api/v1/user/games/{game.id}", headers=game.a),
        "status": lambda c: c.get(f"/api/v1/user/games/{game.id}/status", headers=game.a),
        "inbox": lambda c: c.get("/api/v1/user/notifications", headers=game.a),
        "sign in": lambda c: c.post(
            "/api/v1/public/auth/email-code", json={"email": f"b{next(emails)}@bench.example"}
        ),
        "confirm": lambda c: c.post(
            "/api/v1/public/auth/email-code/confirm",
            json={"challenge_id": str(uuid.uuid4()), "code": "000000"},
        ),
        "resolve": lambda c: c.post(
            "/api/v1/internal/sessions/resolve",
            json={"token": uuid.uuid4().hex},
            headers=resolve_headers,
        ),
    }


async def measure(
    name: str,
    inject: Callable[[], Awaitable[None]],
    heal: Callable[[], Awaitable[None]],
    down: float,
    game: Game,
    traffic: Traffic,
    watch: ReadinessWatch,
) -> Figures:
    turn_before = await game.turn()
    began = time.monotonic()
    await inject()
    await asyncio.sleep(down)
    await heal()
    healed = time.monotonic()
    turn_at_heal = max(turn_before, await game.turn())

    async def ready() -> bool:
        return any(p.status == 200 for p in watch.since(healed))

    async def turned() -> bool:
        return await game.turn() > turn_at_heal

    ready_after = await until(ready, RECOVERY_LIMIT)
    turn_after = None
    if await until(turned, RECOVERY_LIMIT) is not None:
        turn_after = time.monotonic() - healed
    end = healed + (ready_after or RECOVERY_LIMIT)
    during = traffic.between(began, end)
    return Figures(
        fault=name,
        down=down,
        ready=ready_after,
        turn=turn_after,
        slowest=max((a.seconds for a in during), default=0.0),
        statuses=Counter(a.status if a.status is not None else "-" for a in during),
    )


async def run(args: argparse.Namespace) -> list[Figures]:
    cluster = PrivateCluster()
    proxy: FaultProxy | None = None
    try:
        cluster.init()
        cluster.start()
        database = f"galaxy_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(cluster.dsn(), timeout=10)
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        await migrate(cluster.dsn(database))
        seed = await asyncpg.connect(cluster.dsn(database))
        _, tokens = await add_signed_in_users(seed, 3, "fault")
        await seed.close()
        proxy = FaultProxy("127.0.0.1", cluster.port)
        await proxy.start()
        port = free_port()
        with tempfile.TemporaryDirectory() as data:
            env = backend_env(
                {
                    "BACKEND_POSTGRES_DSN": proxy.dsn(database),
                    "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
                    "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{free_port()}",
                    "BACKEND_DATA_DIR": data,
                    "BACKEND_RUNTIME_DRIVER": "process",
                    "BACKEND_SECRET_KEY": SECRET_KEY,
                    "BACKEND_INTERNAL_TOKEN": INTERNAL_TOKEN,
                    "BACKEND_AUTH_IP_RATE_LIMIT": "100000",
                    "BACKEND_OTEL_TRACES_EXPORTER": "none",
                    "BACKEND_OTEL_METRICS_EXPORTER": "none",
                    "BACKEND_LOG_LEVEL": "error",
                    **(FAST if args.fast else {}),
                }
            )
            with spawned(SERVE, env):
                return await exercise(
                    args, cluster, proxy, Game(tokens, cluster.dsn(database)), port
                )
    finally:
        if proxy is not None:
            await proxy.stop()
        cluster.remove()


async def exercise(
    args: argparse.Namespace, cluster: PrivateCluster, proxy: FaultProxy, game: Game, port: int
) -> list[Figures]:
    base = f"http://127.0.0.1:{port}"
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as client,
        httpx.AsyncClient(base_url=base, timeout=60) as probes,
    ):

        async def answers() -> bool:
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        if await until(answers, 60) is None:
            raise SystemExit("the backend did not become ready")
        await game.start(client)
        if await until(lambda: _turned_once(game), 60) is None:
            raise SystemExit("the game did not run a turn")
        traffic = Traffic(client, calls(game))
        watch = ReadinessWatch(probes)
        traffic.start()
        watch.start()

        async def stop_server() -> None:
            await asyncio.to_thread(cluster.stop, "fast")

        async def start_server() -> None:
            await asyncio.to_thread(cluster.start)

        async def hole() -> None:
            proxy.black_hole()

        async def heal_reset() -> None:
            proxy.heal(reset_old=True)

        async def heal_silent() -> None:
            proxy.heal(reset_old=False)

        figures = []
        try:
            for name, inject, heal, down in (
                ("restart (pg_ctl -m fast)", stop_server, start_server, args.down),
                ("black hole, healed with a reset", hole, heal_reset, args.hole),
                ("black hole, healed silently", hole, heal_silent, args.hole),
            ):
                figures.append(await measure(name, inject, heal, down, game, traffic, watch))
        finally:
            await traffic.stop()
            await watch.stop()
        return figures


async def _turned_once(game: Game) -> bool:
    return await game.turn() >= 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--down", type=float, default=6.0, help="seconds PostgreSQL is down")
    parser.add_argument("--hole", type=float, default=15.0, help="seconds of black hole")
    parser.add_argument("--fast", action="store_true", help="the short bounds of the tests")
    args = parser.parse_args()
    configure_logging("warning", "console")
    figures = asyncio.run(run(args))
    bounds = "short (tests/faults)" if args.fast else "shipped defaults"
    print(f"bounds: {bounds}; game @every 2s; 4 clients calling the API throughout")
    header = (
        f"{'fault':34} {'down':>6} {'ready after heal':>17} {'next turn after heal':>21}"
        f" {'slowest request':>16}  statuses (fault start to ready)"
    )
    print(header)
    for f in figures:
        ready = f"{f.ready:.1f}s" if f.ready is not None else "never"
        turn = f"{f.turn:.1f}s" if f.turn is not None else "never"
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(f.statuses.items(), key=str))
        print(
            f"{f.fault:34} {f.down:>5.0f}s {ready:>17} {turn:>21} {f.slowest:>15.2f}s  {statuses}"
        )


if __name__ == "__main__":
    main()
