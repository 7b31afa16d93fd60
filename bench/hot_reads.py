"""The hottest reads (`GET /api/v1/user/me`, `POST /api/v1/internal/sessions/resolve`) and
`/healthz`, beside a bare ASGI app under the same HTTP server, in interleaved rounds.

Each backend runs as `galaxy-backend serve` with production telemetry: JSON logs at info,
traces sampled at the given ratio and exported over OTLP/gRPC, metrics exported over OTLP
(every 10 s) and served to Prometheus (scraped every 10 s), all to real receivers in this
process. One backend per sample ratio, all on one throwaway database and the same 64
sessions (signed in through the API). Every round runs each target once, in turn, so drift
in the machine's speed hits all alike; a target's share of bare is taken within its round
(same-run ratio), and the median and the spread over rounds are printed; "of lsnr" compares
with the bare app under the backend's own listener (`bench/bare_listener.py`: the same
uvicorn settings and one-write transport as `serve`). The CPU time each server process
spent per request comes from its own counters (all threads).

With `--granian`, the bare app and the backend also run under granian (the backend through
`bench/granian_serve.py`, which swaps its HTTP listener for granian's embedded server).

Run: `.venv/bin/python bench/hot_reads.py [--seconds 8] [--rounds 3]
     [--sample-ratios 0.1,1.0] [--granian]`
Needs: `wrk`, a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN, and for `--granian` the `bench`
extra (`.venv/bin/pip install -c requirements.lock -e '.[bench]'`).
"""

import argparse
import contextlib
import functools
import json
import math
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    ME_SCRIPT,
    REPO,
    SECRET_KEY,
    SERVE,
    Production,
    WrkResult,
    bare_app,
    cpu_seconds,
    free_port,
    interleaved,
    production,
    serving,
    sign_in,
    wrk,
    wrk_script,
)

INTERNAL_TOKEN = "bench-internal-token-" + "i" * 32
RESOLVE_SCRIPT = """
local bodies = {}
local index = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  index = index % #bodies + 1
  return wrk.format("POST", "/api/v1/internal/sessions/resolve",
                    {["Authorization"] = "Bearer %s", ["Content-Type"] = "application/json"},
                    bodies[index])
end
""".replace("%s", INTERNAL_TOKEN)


@dataclass
class Target:
    name: str
    url: str
    pid: int
    bare: str  # the bare app whose round result this target is compared with
    script: str | None = None
    data: list[str] = field(default_factory=list)
    also: str | None = None  # a second bare app to compare with


@dataclass
class Sample:
    result: WrkResult
    cpu_us: float


def granian_command(module: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--workers",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        module,
    ]


def hot_read_env(
    prod: Production, *, port: int, metrics_port: int, sample_ratio: str, data: str
) -> dict[str, str]:
    """A backend's environment: production telemetry, Prometheus on `metrics_port`."""
    return prod.env(
        port=port,
        data=data,
        sample_ratio=sample_ratio,
        extra={
            "BACKEND_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "BACKEND_SECRET_KEY": SECRET_KEY,
            "BACKEND_METRICS_ADDR": f"127.0.0.1:{metrics_port}",
            "BACKEND_SMTP_ADDR": "127.0.0.1:9",  # never used: no codes are mailed
            "OTEL_METRIC_EXPORT_INTERVAL": "10000",
        },
    )


def read_targets(
    base: str, pid: int, dsn: str, *, suffix: str, bare: str, also: str | None = None
) -> list[Target]:
    """`GET /me` and `POST .../sessions/resolve` of the backend at `base`, with the tokens
    of 64 sessions signed in through its API."""
    tokens = sign_in(base, dsn, 64)
    bodies = [json.dumps({"token": token}) for token in tokens]
    return [
        Target("GET /me" + suffix, base, pid, bare, ME_SCRIPT, tokens, also),
        Target("POST resolve" + suffix, base, pid, bare, RESOLVE_SCRIPT, bodies, also),
    ]


def measure(target: Target, seconds: int, connections: int) -> Sample:
    before = cpu_seconds(target.pid)
    if target.script is None:
        result = wrk(target.url, connections=connections, seconds=seconds)
    else:
        result = wrk_script(
            target.url, target.script, target.data, connections=connections, seconds=seconds
        )
    used = cpu_seconds(target.pid) - before
    return Sample(result, used / max(1, result.requests) * 1e6)


def measure_rounds(
    targets: list[Target], rounds: int, seconds: int, connections: int
) -> dict[str, list[Sample]]:
    """A 2 s warm-up of every target, then `rounds` interleaved rounds."""
    for target in targets:
        measure(target, 2, connections)
    return interleaved(
        rounds, {t.name: functools.partial(measure, t, seconds, connections) for t in targets}
    )


def shares(samples: dict[str, list[Sample]], name: str, bare: str) -> list[float]:
    """`name`'s req/s as a share of `bare`'s, round by round."""
    return [
        sample.result.requests_per_second / of.result.requests_per_second
        for sample, of in zip(samples[name], samples[bare], strict=True)
    ]


@contextlib.contextmanager
def scraping(urls: list[str], period: float) -> Iterator[None]:
    """Scrape every Prometheus endpoint every `period` seconds, as a server would."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(period):
            for url in urls:
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(url, timeout=5)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-ratios", default="0.1,1.0")
    parser.add_argument("--granian", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated target names to run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ratios = args.sample_ratios.split(",")
    servers = ["uvicorn", "granian"] if args.granian else ["uvicorn"]

    with contextlib.ExitStack() as stack:
        prod = stack.enter_context(production())
        targets: list[Target] = []
        prometheus: list[str] = []
        for server in servers:
            bare_port = free_port()
            command = None if server == "uvicorn" else granian_command("bare_app:app", bare_port)
            bare = stack.enter_context(bare_app(bare_port, command))
            bare_name = f"bare ASGI [{server}]"
            targets.append(Target(bare_name, f"http://127.0.0.1:{bare_port}/", bare.pid, bare_name))
            also = None
            if server == "uvicorn":
                # Also under the backend's own listener (one write per response, as served).
                listener_port = free_port()
                listener = stack.enter_context(
                    bare_app(
                        listener_port,
                        [
                            sys.executable,
                            str(REPO / "bench" / "bare_listener.py"),
                            str(listener_port),
                        ],
                    )
                )
                also = "bare ASGI [backend's listener]"
                targets.append(
                    Target(also, f"http://127.0.0.1:{listener_port}/", listener.pid, also)
                )
            for ratio in ratios:
                port, metrics_port = free_port(), free_port()
                env = hot_read_env(
                    prod,
                    port=port,
                    metrics_port=metrics_port,
                    sample_ratio=ratio,
                    data=stack.enter_context(tempfile.TemporaryDirectory()),
                )
                command = SERVE
                if server == "granian":
                    command = [sys.executable, str(REPO / "bench" / "granian_serve.py")]
                backend = stack.enter_context(serving(env, command))
                base = f"http://127.0.0.1:{port}"
                prometheus.append(f"http://127.0.0.1:{metrics_port}/metrics")
                suffix = f" [{server}, ratio {ratio}]"
                targets.append(
                    Target(
                        "/healthz" + suffix, f"{base}/healthz", backend.pid, bare_name, also=also
                    )
                )
                targets += read_targets(
                    base, backend.pid, prod.dsn, suffix=suffix, bare=bare_name, also=also
                )
        if args.only:
            wanted = args.only.split(",")
            targets = [t for t in targets if t.name == t.bare or any(w in t.name for w in wanted)]
        stack.enter_context(scraping(prometheus, 10.0))
        samples = measure_rounds(targets, args.rounds, args.seconds, args.connections)
        final_scrape = httpx.get(prometheus[0], timeout=5).text
        spans_exported, metric_exports = prod.traces.spans, prod.metrics.exports

    of_bare = {t.name: shares(samples, t.name, t.bare) for t in targets}
    of_listener = {t.name: shares(samples, t.name, t.also) for t in targets if t.also is not None}
    rows = {
        name: {
            "rps": statistics.median(s.result.requests_per_second for s in runs),
            "share": statistics.median(of_bare[name]),
            "share_min": min(of_bare[name]),
            "share_max": max(of_bare[name]),
            "share_listener": statistics.median(of_listener.get(name) or [float("nan")]),
            "p50_ms": statistics.median(s.result.p50_ms for s in runs),
            "p99_ms": statistics.median(s.result.p99_ms for s in runs),
            "p99_max_ms": max(s.result.p99_ms for s in runs),
            "cpu_us": statistics.median(s.cpu_us for s in runs),
            "errors": float(sum(s.result.errors for s in runs)),
        }
        for name, runs in samples.items()
    }
    if args.json:
        print(json.dumps({"results": rows, "spans": spans_exported}))
        return
    print(
        f"\nHot reads: wrk -t1 -c{args.connections} -d{args.seconds}s x {args.rounds} "
        "interleaved rounds (medians; share of bare within each round, min-max)"
    )
    header = f"{'target':36} {'req/s':>8} {'of bare':>8} {'spread':>11} {'of lsnr':>7}"
    print(header + f" {'p50 ms':>7} {'p99 ms':>7} {'p99 max':>7} {'CPU us':>7} {'errors':>6}")
    for name, row in rows.items():
        spread = f"{row['share_min']:.0%}-{row['share_max']:.0%}"
        listener_share = "" if math.isnan(row["share_listener"]) else f"{row['share_listener']:.0%}"
        print(
            f"{name:36} {row['rps']:>8.0f} {row['share']:>8.0%} {spread:>11} {listener_share:>7} "
            f"{row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {row['p99_max_ms']:>7.2f} "
            f"{row['cpu_us']:>7.0f} {row['errors']:>6.0f}"
        )
    durations = sum(
        1 for line in final_scrape.splitlines() if line.startswith("http_server_request_duration")
    )
    print(
        f"spans received over OTLP: {spans_exported}; OTLP metric exports: {metric_exports}; "
        f"http_server_request_duration lines in a Prometheus scrape: {durations}"
    )


if __name__ == "__main__":
    main()
