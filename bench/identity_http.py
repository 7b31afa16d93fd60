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
import json
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    WrkResult,
    bare_and_backend,
    free_port,
    interleaved,
    median_run,
    otlp_sink,
    print_wrk_table,
    production_env,
    throwaway_database,
    wrk,
    wrk_script,
)

from galaxy_backend.auth.credentials import code_hash

SECRET_KEY = "bench-secret-key-" + "k" * 32
ACCOUNTS = 1000
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
ROTATE_SCRIPT = """
local tokens = {}
local index = 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
request = function()
  index = index % #tokens + 1
  return wrk.format("GET", "/api/v1/user/me", {["Authorization"] = "Bearer " .. tokens[index]})
end
"""


async def prepare_challenges(dsn: str, count: int, offset: int) -> list[str]:
    """Insert `count` live challenges; return the confirm bodies, one JSON per line."""
    rows, bodies = [], []
    expires = datetime.now(UTC) + timedelta(hours=1)
    for n in range(count):
        challenge_id = uuid.uuid4()
        email = f"player{(offset + n) % ACCOUNTS}@bench.example"
        code = f"{(n * 7919) % 1_000_000:06d}"
        rows.append(
            (
                challenge_id,
                email,
                email,
                code_hash(SECRET_KEY.encode(), challenge_id, code),
                5,
                expires,
            )
        )
        bodies.append(json.dumps({"challenge_id": str(challenge_id), "code": code}))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "auth_challenges",
            schema_name="backend",
            records=rows,
            columns=["id", "email", "email_normalized", "code_hash", "max_attempts", "expires_at"],
        )
    finally:
        await conn.close()
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sample-ratio", default="1.0")
    parser.add_argument("--max-confirms-per-second", type=int, default=4000)
    args = parser.parse_args()
    results: dict[str, WrkResult] = {}
    bare_port, port = free_port(), free_port()
    with (
        throwaway_database() as dsn,
        otlp_sink() as (endpoint, _, __),
        tempfile.TemporaryDirectory() as data,
    ):
        env = production_env(
            dsn=dsn,
            port=port,
            data=data,
            otlp_endpoint=endpoint,
            sample_ratio=args.sample_ratio,
            extra={
                "BACKEND_SECRET_KEY": SECRET_KEY,
                # Never used: the bench mails no codes.
                "BACKEND_SMTP_ADDR": "127.0.0.1:9",
            },
        )
        with bare_and_backend(bare_port, port, env):
            base = f"http://127.0.0.1:{port}"
            budget = args.max_confirms_per_second * (args.seconds + 3)
            warm = asyncio.run(prepare_challenges(dsn, 3000, 0))
            wrk_script(base, CONFIRM_SCRIPT, warm, connections=args.connections, seconds=2)
            bodies = asyncio.run(prepare_challenges(dsn, budget, 3000))
            results["sign-in confirm"] = wrk_script(
                base, CONFIRM_SCRIPT, bodies, connections=args.connections, seconds=args.seconds
            )
            tokens = []
            with httpx.Client(base_url=base) as client:
                for body in asyncio.run(prepare_challenges(dsn, 64, 0)):
                    reply = client.post(
                        "/api/v1/public/auth/email-code/confirm",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    tokens.append(reply.json()["token"])
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
                        ROTATE_SCRIPT,
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
