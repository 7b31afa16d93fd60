"""Engine figures: turn time and peak RSS for 2, 10 and 30 races, and HTTP latency.

    python bench/engine_turn.py [--turns 40] [--races 2,10,30] [--requests 500]
    python bench/engine_turn.py --disk [--turns 20] [--disk-races 30]

Each race count runs in its own process (so its peak RSS is its own) on the default
map, the reference bot writing every race's orders each turn. A turn's time is
`/admin/turn`'s work: orders, phases, both report forms for every race, and the
fsynced commit. Then a 10-race game is served by a real `galaxy-engine serve`
subprocess and PUT orders / GET report are timed over one keep-alive connection.
`--disk`: the data directory's size turn by turn, keeping every state (as the engine
did before it packed old turns: --keep-states 0) and with the default (3), the turn
time, and report reads from a packed turn beside the latest. Prints figures; asserts
nothing.
"""

import argparse
import http.client
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from galaxy_engine.bots import orders_for  # noqa: E402
from galaxy_engine.game import GameService  # noqa: E402
from galaxy_engine.store import pack_files  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"


def players(n: int) -> list[dict[str, str]]:
    return [{"player_id": f"p{i}", "race_name": f"Race{i}"} for i in range(n)]


def play(races: int, turns: int, seed: int) -> dict[str, float]:
    """One game in this process: per-turn times and this process's peak RSS."""
    with tempfile.TemporaryDirectory() as data:
        service = GameService(Path(data))
        service.open()
        service.init({"game_id": "bench", "seed": seed, "settings": {}, "players": players(races)})
        turn_times, order_times, battles = [], [], 0
        for turn in range(1, turns + 1):
            started = time.perf_counter()
            for player in service.status()["players"]:
                if player["alive"]:
                    report = json.loads(service.report(player["player_id"], turn - 1, "json"))
                    service.submit_orders(player["player_id"], turn, orders_for(report))
            ordered = time.perf_counter()
            answer = json.loads(service.run_turn(turn))
            turn_times.append(time.perf_counter() - ordered)
            order_times.append((ordered - started) / races)
            battles += answer["summary"]["battles"]
            if answer["finished"]:
                break
        groups = sum(len(r.groups) for r in service.game.races) if service.game else 0
        service.close()
    return {
        "races": races,
        "turns": len(turn_times),
        "turn_median_s": statistics.median(turn_times),
        "turn_max_s": max(turn_times),
        "turn_last_s": turn_times[-1],
        "orders_per_race_ms": statistics.mean(order_times) * 1000,
        "battles": battles,
        "groups_at_end": groups,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def disk_usage(root: Path) -> tuple[int, int]:
    """Bytes of the files under `root`, and bytes of disk they take (allocated blocks)."""
    files = [path.stat() for path in root.rglob("*") if path.is_file()]
    return sum(f.st_size for f in files), sum(f.st_blocks * 512 for f in files)


def disk(races: int, turns: int, seed: int, keep: int) -> dict[str, Any]:
    """One game keeping `keep` full states: size after each turn, turn times, report reads."""
    with tempfile.TemporaryDirectory() as data:
        service = GameService(Path(data), keep_states=keep)
        service.open()
        service.init({"game_id": "bench", "seed": seed, "settings": {}, "players": players(races)})
        sizes, turn_times = [disk_usage(Path(data))], []
        for turn in range(1, turns + 1):
            for player in service.status()["players"]:
                if player["alive"]:
                    report = json.loads(service.report(player["player_id"], turn - 1, "json"))
                    service.submit_orders(player["player_id"], turn, orders_for(report))
            started = time.perf_counter()
            service.run_turn(turn)
            turn_times.append(time.perf_counter() - started)
            sizes.append(disk_usage(Path(data)))
        last = Path(data) / "turns" / f"{turns:06d}"
        loose = [(f"reports/{f.name}", f) for f in sorted((last / "reports").iterdir())]
        loose += [
            (f"orders/{f.name}", f) for f in sorted((Path(data) / "orders").glob(f"{turns:06d}/*"))
        ]
        pack_times = []
        for _ in range(5):
            started = time.perf_counter()
            packed = pack_files(loose)
            pack_times.append(time.perf_counter() - started)
        loose_bytes = sum(f.stat().st_size for _name, f in loose)
        reads: dict[str, list[float]] = {}
        for label, turn in (("latest", turns), ("oldest", 1)):
            for fmt in ("json", "text"):
                times = reads.setdefault(f"{label}_{fmt}", [])
                for i in range(100):
                    started = time.perf_counter()
                    service.report(f"p{i % races}", turn, fmt)
                    times.append(time.perf_counter() - started)
        service.close()
    return {
        "sizes": sizes,
        "turn_times": turn_times,
        "reads": reads,
        "pack_ms": statistics.median(pack_times) * 1000,
        "loose_bytes": loose_bytes,
        "packed_bytes": len(packed),
    }


def print_disk(races: int, turns: int, seed: int) -> None:
    print(f"disk: {races} races, default map, reference bots, seed {seed}, {turns} turns")
    print("keep states  after turn 1   after last   per turn (last 10)  turn median  max")
    results = {keep: disk(races, turns, seed, keep) for keep in (0, 3)}
    mib = 1024 * 1024
    for keep, r in results.items():
        sizes = [allocated for _bytes, allocated in r["sizes"]]
        tail = sizes[-11:]
        per_turn = (tail[-1] - tail[0]) / (len(tail) - 1)
        label = "0 (all)" if keep == 0 else str(keep)
        print(
            f"{label:>11}  {sizes[1] / mib:9.2f} MiB {sizes[-1] / mib:9.2f} MiB "
            f"{per_turn / 1024:12.0f} KiB {statistics.median(r['turn_times']) * 1000:10.0f} ms "
            f"{max(r['turn_times']) * 1000:5.0f} ms"
        )
    r = results[3]
    print(
        f"packing the last turn: {r['loose_bytes'] / 1024:.0f} KiB of reports and orders -> "
        f"{r['packed_bytes'] / 1024:.0f} KiB in {r['pack_ms']:.0f} ms (median of 5)"
    )
    reads = r["reads"]
    print("report reads in-process with the default (100 each, p50 / p99 ms):")
    for key in ("latest_json", "latest_text", "oldest_json", "oldest_text"):
        times = reads[key]
        print(
            f"  {key:12s} {percentile(times, 50) * 1000:6.2f} / {percentile(times, 99) * 1000:6.2f}"
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def serve_latency(requests: int, turns: int) -> dict[str, float]:
    """PUT orders and GET report against a real server holding a 10-race game."""
    with tempfile.TemporaryDirectory() as data:
        log = Path(data) / "engine.log"
        env = {**os.environ, "GALAXY_ENGINE_ADMIN_TOKEN": TOKEN, "PYTHONPATH": str(SRC)}
        command = [sys.executable, "-m", "galaxy_engine", "serve"]
        command += ["--data", str(Path(data) / "game"), "--port", "0", "--host", "127.0.0.1"]
        with open(log, "wb") as sink:
            process = subprocess.Popen(command, env=env, stderr=sink, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            port = None
            while port is None:
                found = re.search(r"listening on \S+ port (\d+)", log.read_text())
                port = int(found.group(1)) if found else None
                if time.monotonic() > deadline:
                    raise RuntimeError(log.read_text())
                time.sleep(0.05)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

            def call(method: str, path: str, body: object = None) -> tuple[float, bytes]:
                payload = None if body is None else json.dumps(body).encode()
                started = time.perf_counter()
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
                return elapsed, data

            call("POST", "/admin/init", {"game_id": "b", "seed": 1, "players": players(10)})
            for turn in range(1, turns + 1):
                for i in range(10):
                    _t, report = call("GET", f"/players/p{i}/reports/{turn - 1}")
                    orders = orders_for(json.loads(report))
                    call("PUT", f"/players/p{i}/orders", {"turn": turn, "orders": orders})
                call("POST", "/admin/turn", {"turn": turn})
            _t, report = call("GET", f"/players/p0/reports/{turns}")
            orders = orders_for(json.loads(report))
            put_times = [
                call("PUT", "/players/p0/orders", {"turn": turns + 1, "orders": orders})[0]
                for _ in range(requests)
            ]
            get_json = [
                call("GET", f"/players/p{i % 10}/reports/{turns}")[0] for i in range(requests)
            ]
            get_text = [
                call("GET", f"/players/p{i % 10}/reports/{turns}?format=text")[0]
                for i in range(requests)
            ]
            connection.close()
        finally:
            process.terminate()
            process.wait(30)
    ms = 1000.0
    return {
        "report_bytes": len(report),
        "put_p50_ms": percentile(put_times, 50) * ms,
        "put_p99_ms": percentile(put_times, 99) * ms,
        "get_json_p50_ms": percentile(get_json, 50) * ms,
        "get_json_p99_ms": percentile(get_json, 99) * ms,
        "get_text_p50_ms": percentile(get_text, 50) * ms,
        "get_text_p99_ms": percentile(get_text, 99) * ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--races", default="2,10,30")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--disk", action="store_true", help="disk per turn, not turn times")
    parser.add_argument("--disk-races", type=int, default=30)
    args = parser.parse_args()
    if args.disk:
        print_disk(args.disk_races, args.turns, args.seed)
        return
    if args.one:
        print(json.dumps(play(args.one, args.turns, args.seed)))
        return
    print(f"turns: {args.turns} per game, default map, reference bots, seed {args.seed}")
    print("races turns  median   last    max  orders/race  battles groups  peak RSS")
    for races in (int(n) for n in args.races.split(",")):
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(races),
                *("--turns", str(args.turns)),
                "--seed",
                str(args.seed),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(child.stdout)
        print(
            f"{r['races']:5d} {r['turns']:5d} {r['turn_median_s'] * 1000:6.0f}ms "
            f"{r['turn_last_s'] * 1000:5.0f}ms {r['turn_max_s'] * 1000:5.0f}ms "
            f"{r['orders_per_race_ms']:9.1f}ms {r['battles']:8d} {r['groups_at_end']:6d} "
            f"{r['peak_rss_mib']:6.1f} MiB"
        )
    served = min(args.turns, 20)
    lat = serve_latency(args.requests, served)
    print(f"\nserver, 10-race game after {served} turns, {args.requests} requests each:")
    print(f"  PUT orders      p50 {lat['put_p50_ms']:6.2f} ms   p99 {lat['put_p99_ms']:6.2f} ms")
    print(
        f"  GET report json p50 {lat['get_json_p50_ms']:6.2f} ms   "
        f"p99 {lat['get_json_p99_ms']:6.2f} ms   ({lat['report_bytes']} bytes)"
    )
    print(
        f"  GET report text p50 {lat['get_text_p50_ms']:6.2f} ms   "
        f"p99 {lat['get_text_p99_ms']:6.2f} ms"
    )


if __name__ == "__main__":
    main()
