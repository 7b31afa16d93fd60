"""Start-up to ready on an empty database, and memory at idle.

Spawns `galaxy-backend serve` the way an operator does and times how long until `/readyz`
answers 200: against a new, empty database on the local PostgreSQL (migrations included),
and with no DSN at all (a first start of the embedded PostgreSQL in a new data dir, initdb
included). After 5 s idle it reads the process's resident memory.

Run: `.venv/bin/python bench/startup_rss.py [--runs 3]`
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import backend_env, free_port, rss_mib, spawned, throwaway_database, wait_http


def start_once(extra: dict[str, str], data: str) -> tuple[float, float]:
    port = free_port()
    env = backend_env(
        {
            "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
            "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{free_port()}",
            "BACKEND_DATA_DIR": data,
            "BACKEND_OTEL_TRACES_EXPORTER": "none",
            "BACKEND_OTEL_METRICS_EXPORTER": "none",
            **extra,
        }
    )
    began = time.monotonic()
    with spawned([sys.executable, "-m", "galaxy_backend", "serve"], env) as proc:
        wait_http(f"http://127.0.0.1:{port}/readyz", timeout=120)
        ready = time.monotonic() - began
        time.sleep(5)
        return ready, rss_mib(proc.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for label, embedded in (
        ("empty database (local PostgreSQL)", False),
        ("first start, embedded PostgreSQL", True),
    ):
        readies, rsses = [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as data:
                if embedded:
                    ready, rss = start_once({}, data)
                else:
                    with throwaway_database() as dsn:
                        ready, rss = start_once({"BACKEND_POSTGRES_DSN": dsn}, data)
            readies.append(ready)
            rsses.append(rss)
        rows.append((label, statistics.median(readies), max(readies), statistics.median(rsses)))
    print(f"\nStart-up to ready (median of {args.runs}) and RSS at idle")
    print(f"{'case':36} {'median s':>9} {'max s':>7} {'RSS MiB':>8}")
    for label, median, worst, rss in rows:
        print(f"{label:36} {median:>9.2f} {worst:>7.2f} {rss:>8.1f}")


if __name__ == "__main__":
    main()
