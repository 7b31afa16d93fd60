"""What keeping every turn's reports costs: bytes per turn in PostgreSQL, and the time to
pack a turn and read one report back.

    python bench/report_archive.py [--races 2,10,30] [--turns 20]

Each game runs in this process on the default map, the reference bot writing every race's
orders; after each turn every race's reports (JSON and text) are packed as the turn
scheduler packs them (`runtime/archive.py`: zstd against a dictionary made of one of the
turn's reports) and written with the runtime's own repository into a throwaway database
on the bench PostgreSQL. Printed per race count: the reports' size as the engine wrote them,
as packed, and as PostgreSQL holds them (the tables with their TOAST and indexes, divided by
the turns), beside what compressing each report on its own would give (zlib level 6, zstd
level 3); then the packing time of a turn and the time to read one report back (the SQL
and the decompression). Prints figures; asserts nothing.
"""

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import throwaway_database  # also puts the checkout's src/ first on the path

from galaxy_backend.postgres import Database, apply_migrations
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.archive import KeptTurn, PlayerReport, pack, unpack
from galaxy_backend.runtime.models import EnginePlayer
from galaxy_backend.telemetry import configure_logging
from galaxy_engine.bots import orders_for
from galaxy_engine.game import GameService


async def one_game(dsn: str, races: int, turns: int) -> dict[str, float]:
    game_id = uuid.uuid4()
    players = [EnginePlayer(uuid.uuid4(), f"Race {i}") for i in range(races)]
    with tempfile.TemporaryDirectory() as data:
        database = Database(dsn=dsn, data_dir=Path(data), pool_size=2, connect_timeout=5.0)
        await database.start()
        try:
            await apply_migrations(database.pool)
            async with database.pool.acquire() as conn:
                await repository.insert_record(
                    conn,
                    game_id=game_id,
                    game_name="Bench",
                    owner_id=players[0].player_id,
                    players=players,
                    seed=7,
                    settings={},
                    engine_version="bench",
                    image="bench",
                    driver="process",
                    turn_schedule="@every 1h",
                    turn_time_zone="UTC",
                    run_when_all_orders_in=False,
                )
            return await play(database, game_id, players, Path(data) / "engine", turns)
        finally:
            await database.stop()


async def play(
    database: Database, game_id: uuid.UUID, players: list[EnginePlayer], data: Path, turns: int
) -> dict[str, float]:
    service = GameService(data)
    service.open()
    service.init(
        {
            "game_id": "Bench",
            "seed": 7,
            "settings": {},
            "players": [{"player_id": str(p.player_id), "race_name": p.race_name} for p in players],
        }
    )
    raw = packed_bytes = zlib_bytes = zstd_bytes = 0
    pack_times: list[float] = []
    kept = 0
    for turn in range(turns + 1):
        if turn:
            for p in service.status()["players"]:
                if p["alive"]:
                    report = json.loads(service.report(p["player_id"], turn - 1, "json"))
                    service.submit_orders(p["player_id"], turn, orders_for(report))
            if json.loads(service.run_turn(turn))["finished"]:
                break
        reports = [
            PlayerReport(
                p.player_id,
                service.report(str(p.player_id), turn, "json"),
                service.report(str(p.player_id), turn, "text"),
            )
            for p in players
        ]
        started = time.perf_counter()
        packed = pack(reports)
        pack_times.append(time.perf_counter() - started)
        raw += packed.raw_bytes
        packed_bytes += packed.stored_bytes
        single = zstandard.ZstdCompressor(level=3)
        for r in reports:
            zlib_bytes += len(zlib.compress(r.json, 6)) + len(zlib.compress(r.text, 6))
            zstd_bytes += len(single.compress(r.json)) + len(single.compress(r.text))
        async with database.pool.acquire() as conn:
            await repository.keep_reports(conn, game_id, KeptTurn(turn, {"turn": turn}, packed))
        kept += 1
    service.close()
    async with database.pool.acquire() as conn:
        on_disk = await conn.fetchval(
            "SELECT pg_total_relation_size('runtime_reports')"
            " + pg_total_relation_size('runtime_report_turns')"
        )
        read_times = []
        for n in range(200):
            player = players[n % len(players)].player_id
            started = time.perf_counter()
            row = await repository.kept_report(
                conn, game_id=game_id, turn=n % kept, player_id=player, text=n % 2 == 1
            )
            assert row is not None
            unpack(*row)
            read_times.append(time.perf_counter() - started)
    return {
        "turns": kept,
        "raw_kb": raw / kept / 1024,
        "packed_kb": packed_bytes / kept / 1024,
        "postgres_kb": on_disk / kept / 1024,
        "zlib_kb": zlib_bytes / kept / 1024,
        "zstd_kb": zstd_bytes / kept / 1024,
        "pack_ms": statistics.median(pack_times) * 1000,
        "read_ms": statistics.median(read_times) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--races", default="2,10,30")
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    configure_logging("warning", "console")
    print(
        "races | turns | as written kB/turn | kept kB/turn | in PostgreSQL kB/turn"
        " | each alone: zlib-6 / zstd-3 kB/turn | pack ms/turn | read one report ms"
    )
    for races in (int(r) for r in args.races.split(",")):
        with throwaway_database() as dsn:
            f = asyncio.run(one_game(dsn, races, args.turns))
        print(
            f"{races} | {f['turns']:.0f} | {f['raw_kb']:.0f} | {f['packed_kb']:.1f}"
            f" | {f['postgres_kb']:.1f} | {f['zlib_kb']:.0f} / {f['zstd_kb']:.0f}"
            f" | {f['pack_ms']:.1f} | {f['read_ms']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
