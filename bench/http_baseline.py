"""HTTP baseline: the backend's hot routes beside a bare ASGI app, under the same uvicorn.

Measures requests/s and latency percentiles with `wrk` (1 thread, 64 connections, loopback)
for: a bare ASGI app under uvicorn (uvloop + httptools, no access log), the backend's
`/healthz`, and its authenticated internal route `/api/v1/internal/push/status`. The
backend runs as `galaxy-backend serve` with a production telemetry configuration: JSON
logs at info, every trace recorded (sample ratio 1.0) and exported over OTLP/gRPC, and
metrics exported over OTLP, to a real OTLP receiver in this process that discards them.

Run: `.venv/bin/python bench/http_baseline.py [--seconds 10] [--connections 64]`
Needs: `wrk` (Debian: apt-get install wrk) and a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN
(default postgresql://postgres@127.0.0.1:5432/postgres).
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    WrkResult,
    bare_and_backend,
    free_port,
    production,
    wrk,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-ratio", default="1.0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    samples: dict[str, list[WrkResult]] = {}

    token = "b" * 48
    bare_port, port = free_port(), free_port()
    with production() as prod:
        env = prod.env(
            port=port,
            sample_ratio=args.sample_ratio,
            extra={"BACKEND_INTERNAL_TOKEN": token},
        )
        targets: list[tuple[str, str, dict[str, str] | None]] = [
            ("bare ASGI", f"http://127.0.0.1:{bare_port}/", None),
            ("backend /healthz", f"http://127.0.0.1:{port}/healthz", None),
            (
                "backend internal (auth)",
                f"http://127.0.0.1:{port}/api/v1/internal/push/status",
                {"Authorization": f"Bearer {token}"},
            ),
        ]
        with bare_and_backend(bare_port, env):
            for _name, url, headers in targets:  # warm-up
                wrk(url, connections=args.connections, seconds=2, headers=headers)
            # Rounds interleave the targets, so drift in the machine's speed hits all alike.
            for _ in range(args.rounds):
                for name, url, headers in targets:
                    result = wrk(
                        url, connections=args.connections, seconds=args.seconds, headers=headers
                    )
                    samples.setdefault(name, []).append(result)
        spans_exported = prod.traces.spans

    results = {
        name: {
            "rps": statistics.median(r.requests_per_second for r in runs),
            "p50_ms": statistics.median(r.p50_ms for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "errors": float(sum(r.errors for r in runs)),
        }
        for name, runs in samples.items()
    }
    bare = results["bare ASGI"]["rps"]
    if args.json:
        print(json.dumps({"results": results, "spans_exported": spans_exported}))
        return
    print(
        f"\nHTTP baseline: wrk -t1 -c{args.connections} -d{args.seconds}s x {args.rounds} "
        f"rounds (medians), loopback, trace sample ratio {args.sample_ratio}"
    )
    print(f"{'target':28} {'req/s':>10} {'of bare':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}")
    for name, row in results.items():
        print(
            f"{name:28} {row['rps']:>10.0f} {row['rps'] / bare:>8.0%} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>8.0f}"
        )
    print(f"spans received by the OTLP sink: {spans_exported}")


if __name__ == "__main__":
    main()
