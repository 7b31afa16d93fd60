"""The hot reads of several commits side by side in one run: what each change did.

Each commit's `src/` is exported (`git archive`) to a temporary directory and served by its
own `galaxy-backend serve` (same production telemetry as hot_reads.py, one sample ratio),
all beside one bare ASGI app under plain uvicorn; rounds interleave every target, and each
target's share of bare is taken within its round.

Run: `.venv/bin/python bench/hot_reads_by_commit.py --commits 30faa21,HEAD [--seconds 6]
     [--rounds 3] [--sample-ratio 0.1]`
Needs: `wrk`, git, and a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN.
"""

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hot_reads import Target, hot_read_env, measure_rounds, read_targets, shares
from support import REPO, bare_app, free_port, production, serving


def export_src(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", required=True, help="comma-separated, oldest first")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-ratio", default="0.1")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        prod = stack.enter_context(production())
        bare_port = free_port()
        bare = stack.enter_context(bare_app(bare_port))
        bare_name = "bare ASGI [uvicorn]"
        targets = [Target(bare_name, f"http://127.0.0.1:{bare_port}/", bare.pid, bare_name)]
        for commit in args.commits.split(","):
            src = export_src(commit, Path(stack.enter_context(tempfile.TemporaryDirectory())))
            port = free_port()
            env = hot_read_env(
                prod,
                port=port,
                metrics_port=free_port(),
                sample_ratio=args.sample_ratio,
                data=stack.enter_context(tempfile.TemporaryDirectory()),
            )
            env["PYTHONPATH"] = str(src)  # that commit's code, not this checkout's
            backend = stack.enter_context(serving(env))
            targets += read_targets(
                f"http://127.0.0.1:{port}",
                backend.pid,
                prod.dsn,
                suffix=f" [{commit}]",
                bare=bare_name,
            )
        samples = measure_rounds(targets, args.rounds, args.seconds, args.connections)
    print(
        f"\nHot reads by commit: wrk -t1 -c{args.connections} -d{args.seconds}s x {args.rounds} "
        f"interleaved rounds, trace sample ratio {args.sample_ratio} (medians; share min-max)"
    )
    print(f"{'target':32} {'req/s':>8} {'of bare':>8} {'spread':>11} {'p99 ms':>7} {'CPU us':>7}")
    for name, runs in samples.items():
        of_bare = shares(samples, name, bare_name)
        rps = statistics.median(s.result.requests_per_second for s in runs)
        p99 = statistics.median(s.result.p99_ms for s in runs)
        cpu = statistics.median(s.cpu_us for s in runs)
        spread = f"{min(of_bare):.0%}-{max(of_bare):.0%}"
        print(
            f"{name:32} {rps:>8.0f} {statistics.median(of_bare):>8.0%} {spread:>11} "
            f"{p99:>7.2f} {cpu:>7.0f}"
        )


if __name__ == "__main__":
    main()
