"""Mail throughput: mails/s from the queue to a local aiosmtpd, beside a raw aiosmtplib loop.

Runs, in interleaved rounds: a raw aiosmtplib loop sending pre-composed messages over one
connection (the ceiling: SMTP alone, no database, nothing composed while timed); then the
queue drained by 1 and by 2 `MailWorker` processes, timed from the commit of N queued
mails to the moment all N are marked sent. The receiving server is aiosmtpd with a
handler that discards, in its own process; everything runs on uvloop, as in production.
The workers run with production telemetry: JSON logs at info (to /dev/null), every trace
recorded (a span per batch, per SMTP attempt and per SQL statement) and exported over
OTLP with the metrics, to a real OTLP receiver in this process that discards them.

Run: `.venv/bin/python bench/mail_throughput.py [--mails 3000] [--rounds 3]`
Needs a PostgreSQL at GALAXY_BENCH_POSTGRES_DSN (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
import uvloop
from aiosmtpd.smtp import SMTP

sys.path.insert(0, str(Path(__file__).resolve().parent))
# gRPC (the OTLP sink) notes every fork of a worker process at info; only errors matter here.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from support import REPO, otlp_sink, throwaway_database

from galaxy_backend.mail import MailService
from galaxy_backend.mail.message import Sender, compose
from galaxy_backend.mail.templates import notification
from galaxy_backend.mail.worker import MailWorker
from galaxy_backend.postgres import Database, apply_migrations
from galaxy_backend.telemetry import TelemetryRuntime, configure_logging

MAIL_FROM = "Galaxy <noreply@galaxy.bench>"


# --- the receiving server and the worker, each run as a process of this script ---------------


async def serve_sink() -> None:
    class Discard:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Discard(), hostname="bench-sink", loop=loop), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


async def run_worker(dsn: str, port: int, otlp_endpoint: str) -> None:
    configure_logging("info", "json")
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    os.environ["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
    telemetry = TelemetryRuntime(
        traces_exporter="otlp",
        metrics_exporter="otlp",
        sample_ratio=1.0,
        prometheus=False,
        service_version="bench",
    )
    await telemetry.start()
    database = Database(dsn=dsn, data_dir=Path("/tmp"), pool_size=3, connect_timeout=10)
    await database.start()
    worker = MailWorker(
        database=database,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_username=None,
        smtp_password=None,
        smtp_tls="none",
        mail_from=MAIL_FROM,
        max_attempts=8,
        backoff_min=timedelta(seconds=10),
        backoff_max=timedelta(hours=1),
        tracer=telemetry.tracer("galaxy_backend.mail"),
        meter=telemetry.meter("galaxy_backend.mail"),
    )
    await worker.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await worker.stop()
    await database.stop()
    await telemetry.stop()


# --- the measurements ----------------------------------------------------------------------


def mails(count: int) -> list[tuple[str, Any]]:
    return [
        (f"player{n}@example.org", notification(f"Turn {n} ran", f"Game {n % 7}: turn {n} ran."))
        for n in range(count)
    ]


async def spawn(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    return process, line.decode().strip()


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def raw_rate(port: int, batch: list[tuple[str, Any]]) -> float:
    sender = Sender.parse(MAIL_FROM)
    wire = [
        (to, compose(delivery_id=uuid.uuid4(), sender=sender, to=to, subject=m.subject,
                     text=m.text, html=m.html))
        for to, m in batch
    ]  # fmt: skip
    smtp = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, start_tls=False, local_hostname="galaxy.bench"
    )
    await smtp.connect()
    began = time.perf_counter()
    for to, message in wire:
        await smtp.sendmail(sender.address, [to], message)
    elapsed = time.perf_counter() - began
    await smtp.quit()
    return len(wire) / elapsed


async def queue_rate(
    dsn: str,
    port: int,
    otlp: str,
    database: Database,
    batch: list[tuple[str, Any]],
    workers: int,
) -> float:
    await database.pool.execute("TRUNCATE mail_attempts, mail_deliveries")
    processes = [
        process
        for process, _ in await asyncio.gather(
            *(
                spawn("--role", "worker", "--dsn", dsn, "--port", str(port), "--otlp", otlp)
                for _ in range(workers)
            )
        )
    ]
    try:
        service = MailService(database=database)
        async with database.pool.acquire() as conn:
            async with conn.transaction():
                for to, mail in batch:
                    await service.enqueue(
                        conn, to=to, mail=mail, kind="bench", idempotency_key=str(uuid.uuid4())
                    )
            began = time.perf_counter()
        while True:
            sent = await database.pool.fetchval(
                "SELECT count(*) FROM mail_deliveries WHERE status = 'sent'"
            )
            if sent == len(batch):
                break
            await asyncio.sleep(0.01)
        return len(batch) / (time.perf_counter() - began)
    finally:
        for process in processes:
            await stop(process)


async def measure(dsn: str, otlp: str, count: int, rounds: int) -> dict[str, list[float]]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    await apply_migrations(pool)
    await pool.close()
    database = Database(dsn=dsn, data_dir=Path("/tmp"), pool_size=2, connect_timeout=10)
    await database.start()
    sink, port_text = await spawn("--role", "sink")
    port = int(port_text)
    batch = mails(count)
    samples: dict[str, list[float]] = {"raw": [], "1 worker": [], "2 workers": []}
    try:
        await raw_rate(port, batch[:200])  # warm-up
        # Rounds interleave the targets, so drift in the machine's speed hits all alike.
        for _ in range(rounds):
            samples["raw"].append(await raw_rate(port, batch))
            samples["1 worker"].append(await queue_rate(dsn, port, otlp, database, batch, 1))
            samples["2 workers"].append(await queue_rate(dsn, port, otlp, database, batch, 2))
    finally:
        await stop(sink)
        await database.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", choices=["main", "sink", "worker"], default="main")
    parser.add_argument("--dsn")
    parser.add_argument("--port", type=int)
    parser.add_argument("--otlp")
    args = parser.parse_args()
    if args.role == "sink":
        uvloop.run(serve_sink())
        return
    if args.role == "worker":
        uvloop.run(run_worker(args.dsn, args.port, args.otlp))
        return
    configure_logging("warning", "console")
    with throwaway_database() as dsn, otlp_sink() as (endpoint, traces, _):
        samples = uvloop.run(measure(dsn, endpoint, args.mails, args.rounds))
        spans = traces.spans
    raw = statistics.median(samples["raw"])
    print(
        f"\nMail throughput: {args.mails} mails x {args.rounds} rounds (medians), loopback "
        "aiosmtpd discarding, uvloop"
    )
    print(f"{'path':34} {'mails/s':>9} {'of raw':>7}   rounds")
    for name, runs in samples.items():
        median = statistics.median(runs)
        label = "raw aiosmtplib, one connection" if name == "raw" else f"queue -> sent, {name}"
        rounds = ", ".join(f"{r:.0f}" for r in runs)
        print(f"{label:34} {median:>9.0f} {median / raw:>7.0%}   {rounds}")
    print(f"spans received by the OTLP sink: {spans}")


if __name__ == "__main__":
    main()
