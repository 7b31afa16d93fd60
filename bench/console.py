"""The operator console's status page on a platform of 10,000 players and 1,000 games.

A throwaway database is migrated and filled with SQL `generate_series` (well under a minute):
10,000 players with a session each, 1,000 games in every status (400 running, 50 paused,
150 finished, each with its runtime record and 20 turns), 4 players and their race
names per game, 100,000 notifications with their routes (some waiting, some dead), 50,000
mails (some retrying, some failed), runtime jobs and an audit trail. What waits is due
tomorrow, so the workers leave the figures alone while they are measured; this process
holds the reconciler's advisory lock, so no round marks the engineless records removed.
The database is vacuumed and analysed, as autovacuum keeps a live one.

Then `galaxy-backend serve` (production telemetry into a local OTLP sink) runs on it and
two figures are printed:

* the page: Chromium (Debian's, through Playwright) opens `/console/#/status` signed in,
  until the figures are on screen: the first open (signing in, nothing cached) and the median and
  worst of `--opens` more; target <= 1 s;
* the database time per refresh: each of the overview's statements run under
  `EXPLAIN (ANALYZE)` (planning plus execution, as PostgreSQL counts it), summed per
  refresh, and the backend's own timing of those statements as `/status` reports it
  (`database_ms`: round trips included); median and worst of `--refreshes`; target <= 20 ms.

Run: `.venv/bin/python bench/console.py [--opens 10] [--refreshes 50]`
Needs: a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN and Chromium at /usr/bin/chromium
(GALAXY_BENCH_CHROMIUM).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from playwright.async_api import async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import free_port, migrate, production, serving

from galaxy_backend.console.status import COUNT_CAP
from galaxy_backend.mail import repository as mail_repository
from galaxy_backend.notification import oversight as notification_oversight
from galaxy_backend.runtime import repository as runtime_repository
from galaxy_backend.runtime.reconciler import RECONCILE_LOCK_KEY
from galaxy_engine.settings import validate_settings
from galaxy_engine.version import ENGINE_VERSION

PLAYERS = 10_000
GAMES = 1_000
ADMIN = ("bench-operator", "a long bench operator password")
CHROMIUM = os.environ.get("GALAXY_BENCH_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Game statuses by g % 20, and the runtime record of those that started.
SEED = """
INSERT INTO users (id, email, email_normalized, display_name, country, created_at,
                   last_sign_in_at)
SELECT gen_random_uuid(), 'p' || n || '@bench.example', 'p' || n || '@bench.example',
       'Player ' || n, (ARRAY['DE','FR','US','GB','NL','SE','PL','BR','JP','CA'])[1 + n % 10],
       now() - n * interval '50 minutes', now() - (n % 1000) * interval '1 minute'
FROM generate_series(1, {players}) n;

INSERT INTO sessions (id, user_id, token_hash, expires_at, last_seen_at)
SELECT gen_random_uuid(), id, sha256(convert_to(id::text, 'UTF8')), now() + interval '30 days',
       now() - interval '1 hour'
FROM users;

CREATE TEMP TABLE seat AS
SELECT id, row_number() OVER (ORDER BY created_at, id) - 1 AS n FROM users;
CREATE INDEX ON seat (n);

INSERT INTO games (id, owner_id, name, description, status, visibility, min_players,
                   max_players, approved_count, enrollment_deadline, turn_schedule,
                   turn_time_zone, engine_version, settings, current_turn, created_at,
                   started_at, finished_at)
SELECT gen_random_uuid(), (SELECT id FROM seat WHERE seat.n = (g * 4) % {players}),
       'Bench game ' || g, 'A game made for the benchmark.',
       CASE WHEN g % 20 < 8 THEN 'running' WHEN g % 20 < 14 THEN 'enrollment_open'
            WHEN g % 20 < 17 THEN 'finished' WHEN g % 20 = 17 THEN 'paused'
            WHEN g % 20 = 18 THEN 'cancelled' ELSE 'start_failed' END,
       'public', 2, 8, 4, now() + interval '7 days', '0 18 * * *', 'UTC', $1, $2::jsonb,
       CASE WHEN g % 20 < 8 OR g % 20 IN (14, 15, 16, 17) THEN 20 ELSE 0 END,
       now() - g * interval '3 hours',
       CASE WHEN g % 20 < 8 OR g % 20 IN (14, 15, 16, 17) THEN now() - g * interval '2 hours' END,
       CASE WHEN g % 20 IN (14, 15, 16) THEN now() - interval '1 day' END
FROM generate_series(1, {games}) g;

CREATE TEMP TABLE numbered AS
SELECT id, status, row_number() OVER (ORDER BY created_at, id) - 1 AS g FROM games;

INSERT INTO game_applications (id, game_id, user_id, race_name, status, created_at, decided_at)
SELECT gen_random_uuid(), numbered.id, seat.id, 'Race ' || numbered.g || '-' || k,
       'approved', now() - interval '10 days', now() - interval '9 days'
FROM numbered CROSS JOIN generate_series(0, 3) k
JOIN seat ON seat.n = (numbered.g * 4 + k) % {players};

INSERT INTO race_names (id, name, canonical, skeleton, status, user_id, game_id,
                        application_id, created_at, reserved_at)
SELECT gen_random_uuid(), race_name, lower(race_name), lower(race_name) || '#skel',
       'reserved', user_id, game_id, id, created_at, decided_at
FROM game_applications;

INSERT INTO runtime_records (game_id, game_name, owner_id, players, seed, settings,
                             engine_version, image, driver, status, turn_schedule,
                             turn_time_zone, current_turn, next_tick_at, reported_status,
                             slot_taken, created_at, finished_at)
SELECT g.id, g.name, g.owner_id, '[]'::jsonb, 7, g.settings, g.engine_version,
       'galaxy-engine:latest', 'process',
       CASE g.status WHEN 'finished' THEN 'finished' WHEN 'paused' THEN 'paused'
                     ELSE 'running' END,
       '0 18 * * *', 'UTC', g.current_turn,
       CASE WHEN g.status = 'running' THEN now() + interval '1 day' END,
       CASE g.status WHEN 'finished' THEN 'finished' WHEN 'paused' THEN 'paused'
                     ELSE 'running' END,
       g.status IN ('running', 'paused'), g.created_at, g.finished_at
FROM games g WHERE g.status IN ('running', 'paused', 'finished');

INSERT INTO runtime_turns (game_id, turn, trigger, scheduled_at, started_at, finished_at)
SELECT r.game_id, t, 'schedule', now() - (21 - t) * interval '1 day',
       now() - (21 - t) * interval '1 day', now() - (21 - t) * interval '1 day'
FROM runtime_records r CROSS JOIN generate_series(1, 20) t;

INSERT INTO runtime_jobs (id, game_id, kind, status, attempts, created_at, finished_at)
SELECT gen_random_uuid(), r.game_id, k, 'done', 1, r.created_at, r.created_at
FROM runtime_records r CROSS JOIN unnest(ARRAY['start', 'restart']) k;

INSERT INTO notifications (id, user_id, kind, title, body, created_at, read_at)
SELECT gen_random_uuid(), seat.id, 'game.turn', 'Turn ' || i || ' ran', 'Your report is ready.',
       now() - i * interval '10 seconds', CASE WHEN i % 3 = 0 THEN now() END
FROM generate_series(1, 100000) i JOIN seat ON seat.n = i % {players};

INSERT INTO notification_routes (id, notification_id, user_id, channel, status, attempts,
                                 next_attempt_at, created_at, delivered_at, last_error)
SELECT gen_random_uuid(), id, user_id, c,
       CASE WHEN row_number() OVER () % 400 = 0 THEN 'dead'
            WHEN row_number() OVER () % 250 = 0 THEN 'pending' ELSE 'delivered' END,
       1, now() + interval '1 day', created_at, created_at, NULL
FROM notifications CROSS JOIN unnest(ARRAY['push', 'email']) c;

INSERT INTO notification_dead_letters (id, route_id, notification_id, user_id, kind, channel,
                                       attempts, last_error, created_at)
SELECT gen_random_uuid(), r.id, r.notification_id, r.user_id, 'game.turn', r.channel, 8,
       'the mail could not be queued', r.created_at
FROM notification_routes r WHERE r.status = 'dead';

INSERT INTO mail_deliveries (id, idempotency_key, kind, to_address, subject, body_text,
                             body_html, status, attempts, next_attempt_at, last_error,
                             created_at, updated_at, sent_at)
SELECT gen_random_uuid(), 'bench:' || n, 'notification', 'p' || n % {players} || '@bench.example',
       'Turn ran', 'text', '<p>html</p>',
       CASE WHEN n % 500 = 0 THEN 'failed' WHEN n % 333 = 0 THEN 'retrying' ELSE 'sent' END,
       CASE WHEN n % 500 = 0 THEN 8 ELSE 1 END,
       now() + interval '1 day',
       CASE WHEN n % 500 = 0 THEN '550 5.1.1 no such user' END,
       now() - n * interval '20 seconds', now() - n * interval '20 seconds',
       CASE WHEN n % 500 <> 0 AND n % 333 <> 0 THEN now() - n * interval '20 seconds' END
FROM generate_series(1, 50000) n;

INSERT INTO admin_audit (admin_username, action, target_type, target_id, created_at)
SELECT 'bench-operator', (ARRAY['user.block', 'user.unblock', 'runtime.force_turn'])[1 + n % 3],
       'user', n::text, now() - n * interval '1 minute'
FROM generate_series(1, 5000) n;
"""


async def seed(dsn: str) -> float:
    began = time.perf_counter()
    await migrate(dsn)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        settings = json.dumps(validate_settings({"galaxy_size": 400}))
        sql = SEED.format(players=PLAYERS, games=GAMES)
        statements = [s for s in sql.split(";\n") if s.strip()]
        for statement in statements:
            if "$1" in statement:
                await conn.execute(statement, ENGINE_VERSION, settings)
            else:
                await conn.execute(statement)
        # As autovacuum leaves a live platform: statistics and the visibility map current
        # (index-only scans count without reading the tables).
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - began


class Explaining:
    """A connection that runs each statement under EXPLAIN (ANALYZE) first, keeping the
    time PostgreSQL spent planning and executing it, then runs it for its rows."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.statements: list[float] = []

    @property
    def server_ms(self) -> float:
        return sum(self.statements)

    async def _explain(self, query: str, *args: Any) -> None:
        plan = await self._conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *args)
        top = json.loads(plan)[0]
        self.statements.append(float(top["Planning Time"]) + float(top["Execution Time"]))

    async def fetchrow(self, query: str, *args: Any) -> Any:
        await self._explain(query, *args)
        return await self._conn.fetchrow(query, *args)


async def explained_refreshes(dsn: str, count: int) -> list[list[float]]:
    """PostgreSQL's own time per refresh: the overview's statements, each explained."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        format="text",
    )
    totals = []
    try:
        for _ in range(count):
            spy = Explaining(conn)
            await mail_repository.queue_depths(spy, cap=COUNT_CAP)  # type: ignore[arg-type]
            await notification_oversight.queue_depths(spy, cap=COUNT_CAP)  # type: ignore[arg-type]
            await runtime_repository.overview(spy, cap=COUNT_CAP)  # type: ignore[arg-type]
            totals.append(spy.statements)
    finally:
        await conn.close()
    return totals


async def page_opens(base: str, count: int) -> tuple[float, list[float], dict[str, Any]]:
    """Chromium: sign in, then open the status page `count` times until its figures show."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
        )
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        began = time.perf_counter()
        await page.goto(f"{base}/console/")
        await page.get_by_test_id("console-username").fill(ADMIN[0])
        await page.get_by_test_id("console-password").fill(ADMIN[1])
        await page.get_by_test_id("console-login").click()
        await page.get_by_test_id("status-records").wait_for()
        first = time.perf_counter() - began
        opens = []
        for _ in range(count):
            await page.goto("about:blank")
            began = time.perf_counter()
            await page.goto(f"{base}/console/#/status")
            await page.get_by_test_id("status-records").wait_for()
            opens.append(time.perf_counter() - began)
        shown = {
            "engines": await page.get_by_test_id("status-engines").inner_text(),
            "dead letters": await page.get_by_test_id("status-dead-notifications").inner_text(),
            "mails failed": await page.get_by_test_id("status-dead-mail").inner_text(),
        }
        await browser.close()
    return first, opens, shown


def api_refreshes(base: str, count: int) -> tuple[list[float], list[float], dict[str, Any]]:
    """`GET /api/v1/admin/status`: its database_ms as the backend timed it, and the reply
    time seen here."""
    with httpx.Client(base_url=base, timeout=10) as client:
        login = client.post(
            "/api/v1/admin/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        database, replies = [], []
        body: dict[str, Any] = {}
        for _ in range(count):
            began = time.perf_counter()
            reply = client.get("/api/v1/admin/status", headers=headers)
            replies.append((time.perf_counter() - began) * 1000)
            reply.raise_for_status()
            body = reply.json()
            database.append(float(body["database_ms"]))
    return database, replies, body


def figures(values: list[float], digits: int = 1) -> str:
    return f"median {statistics.median(values):.{digits}f}, worst {max(values):.{digits}f}"


async def hold_reconciler(dsn: str) -> asyncpg.Connection:
    """Hold the reconciler's lock: the backend's rounds skip (the records have no engines)."""
    conn = await asyncpg.connect(dsn)
    await conn.execute("SELECT pg_advisory_lock($1)", RECONCILE_LOCK_KEY)
    return conn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opens", type=int, default=10)
    parser.add_argument("--refreshes", type=int, default=50)
    args = parser.parse_args()
    with production() as prod:
        seconds = asyncio.run(seed(prod.dsn))
        print(f"seeded {PLAYERS} players and {GAMES} games in {seconds:.1f} s")
        loop = asyncio.new_event_loop()
        lock = loop.run_until_complete(hold_reconciler(prod.dsn))
        port = free_port()
        env = prod.env(
            port=port,
            sample_ratio="0.01",
            extra={
                "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN[0],
                "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": ADMIN[1],
                "BACKEND_RUNTIME_DRIVER": "process",
                "BACKEND_LOG_LEVEL": "warning",
            },
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with serving(env):
                database, replies, body = api_refreshes(base, args.refreshes)
                explained = asyncio.run(explained_refreshes(prod.dsn, args.refreshes))
                first, opens, shown = asyncio.run(page_opens(base, args.opens))
        finally:
            loop.run_until_complete(lock.close())
            loop.close()
    q = body["queues"]
    print(
        f"status: {body['runtime']['records']} records, {body['runtime']['engines_running']}"
        f" engines, mail {q['mail']}, routes {q['notification_routes']},"
        f" dead letters {body['dead_letters']}"
    )
    print(f"page shows: {shown}")
    print(
        f"status page open in Chromium (s): first {first:.3f} (with sign-in), {figures(opens, 3)}"
    )
    print(
        f"database time per refresh, EXPLAIN ANALYZE (ms): {figures([sum(e) for e in explained])}"
    )
    for n, name in enumerate(("mail", "notifications", "runtime")):
        print(f"  {name} statement (ms): {figures([e[n] for e in explained])}")
    print(
        f"database time per refresh, as the backend timed it (ms): first {database[0]:.1f},"
        f" then {figures(database[1:])}"
    )
    print(
        f"GET /api/v1/admin/status reply (ms): first {replies[0]:.1f}, then {figures(replies[1:])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
