"""Sign-in confirmations per second and `GET /api/v1/user/me`, beside the bare ASGI app.

The backend runs as `galaxy-backend serve` with production telemetry (as in http_baseline.py)
against a throwaway database. Challenges are prepared in the database with codes hashed under
the backend's configured secret key (the same function the service uses), so the load is the
confirmation itself: one attempt, the account upsert and a new session per request. Codes of
1,000 accounts are confirmed in turn; each challenge is used once. `/me` is read with the
tokens of 64 sessions, from the caches.

Run: `.venv/bin/python bench/identity_http.py [--seconds 10] [--sample-ratio 1.0]`
Needs: `wrk` and a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN.
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    ME_SCRIPT,
    SECRET_KEY,
    WrkResult,
    bare_and_backend,
    free_port,
    interleaved,
    median_run,
    prepare_challenges,
    print_wrk_table,
    production,
    sign_in,
    wrk,
    wrk_script,
)

CONFIRM_SCRIPT = """
local bodies = {}
local index = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  index = index + 1
  return wrk.format("POST", "/api/v1/public/auth/email-code/confirm",
                    {["Content-Type"] = "application/json"}, bodies[index])
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sample-ratio", default="1.0")
    parser.add_argument("--max-confirms-per-second", type=int, default=4000)
    args = parser.parse_args()
    results: dict[str, WrkResult] = {}
    bare_port, port = free_port(), free_port()
    with production() as prod:
        env = prod.env(
            port=port,
            sample_ratio=args.sample_ratio,
            extra={
                "BACKEND_SECRET_KEY": SECRET_KEY,
                # Never used: the bench mails no codes.
                "BACKEND_SMTP_ADDR": "127.0.0.1:9",
            },
        )
        with bare_and_backend(bare_port, env):
            base = f"http://127.0.0.1:{port}"
            budget = args.max_confirms_per_second * (args.seconds + 3)
            warm = asyncio.run(prepare_challenges(prod.dsn, 3000, 0))
            wrk_script(base, CONFIRM_SCRIPT, warm, connections=args.connections, seconds=2)
            bodies = asyncio.run(prepare_challenges(prod.dsn, budget, 3000))
            results["sign-in confirm"] = wrk_script(
                base, CONFIRM_SCRIPT, bodies, connections=args.connections, seconds=args.seconds
            )
            tokens = sign_in(base, prod.dsn, 64)
            rounds = interleaved(
                3,
                {
                    "bare ASGI": lambda: wrk(
                        f"http://127.0.0.1:{bare_port}/",
                        connections=args.connections,
                        seconds=args.seconds,
                    ),
                    "GET /me": lambda: wrk_script(
                        base,
                        ME_SCRIPT,
                        tokens,
                        connections=args.connections,
                        seconds=args.seconds,
                    ),
                },
            )
    for name, runs in rounds.items():
        results[name] = median_run(runs)
    print(
        f"\nIdentity HTTP: wrk -t1 -c{args.connections} -d{args.seconds}s, loopback, "
        f"trace sample ratio {args.sample_ratio} (GET /me and bare: median of 3 rounds)"
    )
    print_wrk_table(results, results["bare ASGI"].requests_per_second)


if __name__ == "__main__":
    main()
