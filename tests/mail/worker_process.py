"""One mail worker in a process of its own, for the multi-process tests.

`python -m tests.mail.worker_process --dsn DSN --smtp-port PORT [...]` prints `ready` once
the worker listens, runs until SIGTERM or SIGINT, then stops the worker and exits 0.
"""

import argparse
import asyncio
import signal
import tempfile
from datetime import timedelta
from pathlib import Path

import uvloop

from galaxy_backend.mail.worker import MailWorker
from galaxy_backend.postgres import Database
from galaxy_backend.telemetry import configure_logging
from tests.mail.helpers import worker_options


def _seconds(text: str) -> timedelta:
    return timedelta(seconds=float(text))


async def run(args: argparse.Namespace) -> None:
    database = Database(
        dsn=args.dsn, data_dir=Path(tempfile.gettempdir()), pool_size=3, connect_timeout=10
    )
    await database.start()
    worker = MailWorker(
        database=database,
        # The tests' usual settings; a process polls less often than an in-process worker.
        **worker_options(
            args.smtp_port,
            lease=args.lease,
            smtp_timeout=args.smtp_timeout,
            poll_interval=timedelta(milliseconds=200),
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await database.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--lease", type=_seconds, default=timedelta(seconds=30))
    parser.add_argument("--smtp-timeout", type=_seconds, default=timedelta(seconds=5))
    args = parser.parse_args()
    configure_logging("warning", "json")
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
