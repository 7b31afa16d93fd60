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
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    REPO,
    backend_env,
    free_port,
    otlp_sink,
    spawned,
    throwaway_database,
    wait_http,
    wrk,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sample-ratio", default="1.0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}

    def measure(name: str, url: str, headers: dict[str, str] | None = None) -> None:
        wrk(url, connections=args.connections, seconds=2, headers=headers)  # warm-up
        result = wrk(url, connections=args.connections, seconds=args.seconds, headers=headers)
        results[name] = {
            "rps": result.requests_per_second,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
            "non_2xx": result.errors,
        }

    bare_port = free_port()
    uvicorn_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(bare_port),
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
    with spawned(uvicorn_cmd, backend_env({}), cwd=REPO / "bench"):
        wait_http(f"http://127.0.0.1:{bare_port}/")
        measure("bare ASGI", f"http://127.0.0.1:{bare_port}/")

    token = "b" * 48
    with (
        throwaway_database() as dsn,
        otlp_sink() as (endpoint, traces, _),
        tempfile.TemporaryDirectory() as data,
    ):
        port = free_port()
        env = backend_env(
            {
                "BACKEND_POSTGRES_DSN": dsn,
                "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
                "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{free_port()}",
                "BACKEND_DATA_DIR": data,
                "BACKEND_INTERNAL_TOKEN": token,
                "BACKEND_OTEL_TRACES_EXPORTER": "otlp",
                "BACKEND_OTEL_METRICS_EXPORTER": "otlp",
                "BACKEND_OTEL_TRACES_SAMPLE_RATIO": args.sample_ratio,
                "BACKEND_LOG_LEVEL": "info",
                "BACKEND_LOG_FORMAT": "json",
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_EXPORTER_OTLP_INSECURE": "true",
                "OTEL_BSP_MAX_QUEUE_SIZE": "65536",
            }
        )
        with spawned([sys.executable, "-m", "galaxy_backend", "serve"], env):
            wait_http(f"http://127.0.0.1:{port}/readyz")
            base = f"http://127.0.0.1:{port}"
            measure("backend /healthz", f"{base}/healthz")
            measure(
                "backend internal (auth)",
                f"{base}/api/v1/internal/push/status",
                {"Authorization": f"Bearer {token}"},
            )
        spans_exported = traces.spans

    bare = results["bare ASGI"]["rps"]
    if args.json:
        print(json.dumps({"results": results, "spans_exported": spans_exported}))
        return
    print(
        f"\nHTTP baseline: wrk -t1 -c{args.connections} -d{args.seconds}s, loopback, "
        f"trace sample ratio {args.sample_ratio}"
    )
    print(f"{'target':28} {'req/s':>10} {'of bare':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, row in results.items():
        print(
            f"{name:28} {row['rps']:>10.0f} {row['rps'] / bare:>8.0%} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['non_2xx']:>8.0f}"
        )
    print(f"spans received by the OTLP sink: {spans_exported}")


if __name__ == "__main__":
    main()
