"""Notifications from creation to the push subscriber, fan-out, and a 10,000-player broadcast.

The backend runs as `galaxy-backend serve` with production telemetry (JSON logs, OTLP traces
at `--sample-ratio` and metrics to a real OTLP receiver) against a throwaway database, with
a real SMTP sink. Operators' messages are offered at `--rate` notifications/s (requests of
`--per-request` recipients each, paced by the clock) for `--seconds`; 4 real gRPC
subscribers receive every push event. Latency is from the moment the request is sent to
the moment each subscriber holds the event. Then a message to every active player goes to
`--players` accounts (push and email): the time until every route is delivered, that is
every push event published and every mail queued.

Run: `.venv/bin/python bench/notifications.py [--rate 1000] [--seconds 10]`
Needs: a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import grpc
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (
    free_port,
    percentile,
    production,
    serving,
)

from galaxy_proto.push_pb2 import SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub

ADMIN, PASSWORD = "bench-operator", "bench operator password"
TOKEN = "bench-internal-token-" + "t" * 32


async def add_players(dsn: str, count: int, prefix: str) -> list[str]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        rows = await conn.fetch(
            """
            INSERT INTO users (id, email, email_normalized)
            SELECT gen_random_uuid(), $2 || n || '@bench.test', $2 || n || '@bench.test'
            FROM generate_series(1, $1) AS n RETURNING id
            """,
            count,
            prefix,
        )
    finally:
        await conn.close()
    return [str(row["id"]) for row in rows]


async def operator_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """The bootstrap operator signed in: its Authorization header."""
    login = await client.post(
        "/api/v1/admin/auth/login", json={"username": ADMIN, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {login.json()['token']}"}


class Subscriber:
    def __init__(self, grpc_port: int) -> None:
        self.received: dict[str, float] = {}
        self._port = grpc_port
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self._port}")
        call = PushStub(channel).SubscribePush(
            SubscribePushRequest(gateway_id="bench"),
            metadata=[("authorization", f"Bearer {TOKEN}")],
        )

        async def read() -> None:
            async for batch in call:
                now = time.perf_counter()
                for event in batch.events:
                    if event.kind == "notification":
                        self.received[json.loads(event.payload)["id"]] = now

        self._task = asyncio.create_task(read())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def offered_load(
    base: str, grpc_port: int, *, rate: int, per_request: int, seconds: float, users: list[str]
) -> None:
    subscribers = [Subscriber(grpc_port) for _ in range(4)]
    for subscriber in subscribers:
        await subscriber.start()
    sent_at: dict[str, float] = {}
    answered_at: dict[str, float] = {}
    round_trips: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        headers = await operator_headers(client)
        requests_per_second = rate / per_request
        began = time.perf_counter()
        total = int(requests_per_second * seconds)
        pending: set[asyncio.Task[None]] = set()

        async def one(n: int) -> None:
            recipients = [users[(n * per_request + k) % len(users)] for k in range(per_request)]
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/admin/notifications",
                json={"user_ids": recipients, "title": f"n{n}", "body": "b", "channels": ["push"]},
                headers=headers,
            )
            answered = time.perf_counter()
            round_trips.append((answered - started) * 1000)
            for notification_id in response.json()["notification_ids"]:
                sent_at[notification_id] = started
                answered_at[notification_id] = answered

        for n in range(total):
            # Paced by the clock (an open loop): the offered rate does not drop if we lag.
            delay = began + n / requests_per_second - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        offered_seconds = time.perf_counter() - began
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(  # noqa: ASYNC110 - polls the subscribers
            len(s.received) < len(sent_at) for s in subscribers
        ):
            await asyncio.sleep(0.05)
    for subscriber in subscribers:
        subscriber.stop()
    print(
        f"offered {len(sent_at)} notifications in {offered_seconds:.1f}s"
        f" = {len(sent_at) / offered_seconds:,.0f}/s ({per_request} recipients per request)"
    )
    print(
        f"  the operator's request: p50 {statistics.median(round_trips):.1f} ms,"
        f" p99 {percentile(round_trips, 0.99):.1f} ms"
        " (the notifications are committed by its answer)"
    )
    for number, subscriber in enumerate(subscribers, start=1):
        latencies = [
            (subscriber.received[i] - sent_at[i]) * 1000
            for i in sent_at
            if i in subscriber.received
        ]
        last = max(subscriber.received.values(), default=began)
        print(
            f"  subscriber {number}: {len(latencies)}/{len(sent_at)} received,"
            f" {len(latencies) / (last - began):,.0f}/s;"
            f" latency p50 {statistics.median(latencies):.1f} ms,"
            f" p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"
        )
    after_commit = [
        (subscribers[0].received[i] - answered_at[i]) * 1000
        for i in answered_at
        if i in subscribers[0].received
    ]
    print(
        "  after the commit (answer -> subscriber 1):"
        f" p50 {statistics.median(after_commit):.1f} ms,"
        f" p99 {percentile(after_commit, 0.99):.1f} ms (negative: pushed before the answer arrived)"
    )


async def broadcast(base: str, dsn: str, players: int) -> None:
    await add_players(dsn, players, "everyone")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        headers = await operator_headers(client)
        began = time.perf_counter()
        sent = await client.post(
            "/api/v1/admin/notifications",
            json={"audience": "all", "title": "Season 2", "body": "It begins."},
            headers=headers,
        )
        broadcast_id = sent.json()["broadcast_id"]
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        written = 0.0
        while True:
            done = await conn.fetchval(
                "SELECT finished_at IS NOT NULL FROM notification_broadcasts WHERE id = $1",
                broadcast_id,
            )
            if done and not written:
                written = time.perf_counter() - began
            left = await conn.fetchval(
                "SELECT count(*) FROM notification_routes WHERE status <> 'delivered'"
            )
            if done and left == 0:
                break
            await asyncio.sleep(0.05)
        delivered = time.perf_counter() - began
        mails = await conn.fetchval(
            "SELECT count(*) FROM mail_deliveries WHERE kind = 'notification:admin.message'"
        )
        routes = await conn.fetchval("SELECT count(*) FROM notification_routes")
    finally:
        await conn.close()
    print(
        f"broadcast to {players:,} players: notifications written in {written:.1f}s;"
        f" all {routes:,} routes delivered (every push published, {mails:,} mails queued)"
        f" in {delivered:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--sample-ratio", default="0.1")
    args = parser.parse_args()
    with production() as prod:
        port, grpc_port = free_port(), free_port()
        env = prod.env(
            port=port,
            sample_ratio=args.sample_ratio,
            extra={
                "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{grpc_port}",
                "BACKEND_INTERNAL_TOKEN": TOKEN,
                "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN,
                "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": PASSWORD,
                "BACKEND_LOG_LEVEL": "warning",
            },
        )
        with serving(env):
            base = f"http://127.0.0.1:{port}"
            users = asyncio.run(add_players(prod.dsn, 1000, "loaded"))
            asyncio.run(
                offered_load(
                    base,
                    grpc_port,
                    rate=args.rate,
                    per_request=args.per_request,
                    seconds=args.seconds,
                    users=users,
                )
            )
            asyncio.run(broadcast(base, prod.dsn, args.players))


if __name__ == "__main__":
    main()
