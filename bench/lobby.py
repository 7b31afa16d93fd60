"""The public game listing with 10,000 games, and applications with approvals, beside bare ASGI.

The backend runs as `galaxy-backend serve` with production telemetry (as in http_baseline.py)
against a throwaway database that is migrated and then filled before the backend starts:
10,000 public games (so the listing's index warms with all of them), a game owner and 1,000
players with sessions (tokens hashed as the auth service hashes them). `GET
/api/v1/public/games` (the first page, 20 items) and the bare app are measured in interleaved
rounds; the medians are printed with the listing's share of the bare app's req/s.

Applications: wrk sends `POST .../applications` with a fresh race name for a (player, game)
pair, and as each 201 comes back the next request of the run approves it as the owner; 200
games of 100 seats spread the row locks. Reported: requests/s of both kinds together, and
applications approved per second (counted in the database afterwards).

Run: `.venv/bin/python bench/lobby.py [--seconds 10] [--rounds 3] [--sample-ratio 1.0]`
Needs: `wrk` and a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN.
"""

import argparse
import asyncio
import contextlib
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    add_signed_in_users,
    bare_and_backend,
    cpu_seconds,
    free_port,
    interleaved,
    median_run,
    migrate,
    print_wrk_table,
    production,
    wrk,
    wrk_script,
)

from galaxy_engine.settings import validate_settings
from galaxy_engine.version import ENGINE_VERSION

GAMES = 10_000
PLAYERS = 1_000
APPLICATION_GAMES = 200
SEATS = 100
STATUSES = ("enrollment_open",) * 6 + ("running", "starting", "finished", "paused")

APPLY_SCRIPT = """
local lines = {}
local index = 0
local approvals = {}
local owner
init = function(args)
  owner = args[2]
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
end
request = function()
  if #approvals > 0 then
    local a = table.remove(approvals)
    return wrk.format("POST", "/api/v1/user/games/" .. a[1] .. "/applications/" .. a[2] ..
                      "/approve", {["Authorization"] = "Bearer " .. owner})
  end
  index = index % #lines + 1
  local game, token, name = lines[index]:match("([^ ]+) ([^ ]+) (.+)")
  return wrk.format("POST", "/api/v1/user/games/" .. game .. "/applications",
                    {["Authorization"] = "Bearer " .. token,
                     ["Content-Type"] = "application/json"},
                    '{"race_name":"' .. name .. '"}')
end
response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"([^"]+)"')
    local game = body:match('"game_id":"([^"]+)"')
    approvals[#approvals + 1] = {game, id}
  end
end
"""


async def seed(dsn: str) -> tuple[str, list[str], list[str]]:
    """Migrate and fill the database; the owner's token, players' tokens, application games."""
    await migrate(dsn)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        users, tokens = await add_signed_in_users(conn, PLAYERS + 1, "p")
        owner = users[0]
        settings = json.dumps(validate_settings({"galaxy_size": 400}))
        deadline = datetime.now(UTC) + timedelta(days=30)
        start = datetime.now(UTC) - timedelta(days=1)
        rows = []
        application_games = []
        for n in range(GAMES):
            game_id = uuid.uuid4()
            hosts_applications = n >= GAMES - APPLICATION_GAMES
            status = "enrollment_open" if hosts_applications else STATUSES[n % len(STATUSES)]
            if hosts_applications:
                application_games.append(str(game_id))
            rows.append(
                (
                    game_id,
                    owner,
                    f"Bench game {n} of the {('Northern', 'Southern', 'Outer')[n % 3]} reach",
                    "A game made for the benchmark.",
                    status,
                    "public",
                    2,
                    SEATS if hosts_applications else 8,
                    0 if hosts_applications else n % 9 // 2,
                    deadline,
                    "0 18 * * *",
                    "Europe/Berlin",
                    ENGINE_VERSION,
                    settings,
                    start + timedelta(seconds=n),
                )
            )
        await conn.copy_records_to_table(
            "games",
            records=rows,
            columns=[
                "id",
                "owner_id",
                "name",
                "description",
                "status",
                "visibility",
                "min_players",
                "max_players",
                "approved_count",
                "enrollment_deadline",
                "turn_schedule",
                "turn_time_zone",
                "engine_version",
                "settings",
                "created_at",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return tokens[0], tokens[1:], application_games


def application_lines(tokens: list[str], games: list[str]) -> list[str]:
    """One line per (game, player) pair, games interleaved so that approvals spread."""
    lines = []
    for seat in range(SEATS):
        for g, game in enumerate(games):
            player = (g * 7 + seat) % len(tokens)  # a game's seats go to distinct players
            lines.append(f"{game} {tokens[player]} Bench {seat}x{g}")
    return lines


async def approved(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM backend.game_applications WHERE status = 'approved'"
        )
        return count
    finally:
        await conn.close()


class CpuMeter:
    """CPU seconds the backend and PostgreSQL spent during a run, per request."""

    def __init__(self, pid: int) -> None:
        self._pid = pid

    def _postgres(self) -> float:
        total = 0.0
        for proc in psutil.process_iter(["name", "cmdline"]):
            if "galaxy_bench" in " ".join(proc.info["cmdline"] or []):
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
        return total

    def __enter__(self) -> "CpuMeter":
        self._start = (cpu_seconds(self._pid, children=False), self._postgres())
        return self

    def __exit__(self, *_: object) -> None:
        self.backend = cpu_seconds(self._pid, children=False) - self._start[0]
        self.postgres = self._postgres() - self._start[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sample-ratio", default="1.0")
    args = parser.parse_args()
    bare_port, port = free_port(), free_port()
    with production() as prod:
        owner, players, games = asyncio.run(seed(prod.dsn))
        env = prod.env(
            port=port,
            sample_ratio=args.sample_ratio,
            extra={
                "BACKEND_SMTP_ADDR": "127.0.0.1:9",
                "BACKEND_USER_DEFAULT_MAX_ACTIVE_GAMES": "1000",
            },
        )
        with bare_and_backend(bare_port, env) as backend:
            base = f"http://127.0.0.1:{port}"
            listing = f"{base}/api/v1/public/games"
            wrk(listing, connections=args.connections, seconds=2)
            rounds = interleaved(
                args.rounds,
                {
                    "bare ASGI": lambda: wrk(
                        f"http://127.0.0.1:{bare_port}/",
                        connections=args.connections,
                        seconds=args.seconds,
                    ),
                    "GET /public/games": lambda: wrk(
                        listing, connections=args.connections, seconds=args.seconds
                    ),
                },
            )
            with CpuMeter(backend.pid) as listing_cpu:
                listed = wrk(listing, connections=args.connections, seconds=args.seconds)
            lines = application_lines(players, games)
            before = asyncio.run(approved(prod.dsn))
            with CpuMeter(backend.pid) as applying_cpu:
                applying = wrk_script(
                    base,
                    APPLY_SCRIPT,
                    lines,
                    connections=args.connections,
                    seconds=args.seconds,
                    args=[owner],
                )
            approvals = asyncio.run(approved(prod.dsn)) - before
    results = {name: median_run(runs) for name, runs in rounds.items()}
    results["apply + approve"] = applying
    print(
        f"\nLobby HTTP: wrk -t1 -c{args.connections} -d{args.seconds}s, loopback, {GAMES} games,"
        f" trace sample ratio {args.sample_ratio} (listing and bare: median of {args.rounds}"
        " interleaved rounds)"
    )
    print_wrk_table(results, results["bare ASGI"].requests_per_second)
    print(
        f"applications approved: {approvals / args.seconds:.0f}/s ({approvals} in {args.seconds}s)"
    )
    for name, runs in rounds.items():
        print(f"  {name} rounds: " + ", ".join(f"{r.requests_per_second:.0f}" for r in runs))
    listed_requests = listed.requests_per_second * args.seconds
    applied_requests = applying.requests_per_second * args.seconds
    print(
        f"backend CPU per request: listing {listing_cpu.backend / listed_requests * 1e6:.0f} us"
        f" (a separate run at {listed.requests_per_second:.0f} req/s),"
        f" apply/approve {applying_cpu.backend / applied_requests * 1e3:.2f} ms"
        f" (PostgreSQL {applying_cpu.postgres / applied_requests * 1e3:.2f} ms);"
        f" backend busy {applying_cpu.backend / args.seconds:.0%} of a core while applying"
    )


if __name__ == "__main__":
    main()
