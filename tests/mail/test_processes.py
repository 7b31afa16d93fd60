"""Worker processes sharing one queue: no mail twice, none lost, even after kill -9."""

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from galaxy_backend.mail import MailService
from galaxy_backend.postgres import Database
from tests.mail.helpers import WorkerFactory, all_sent, enqueue_many, statuses
from tests.support import REPO, eventually
from tests.support.receiver import Receiver

Spawn = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn_worker(db_dsn: str, receiver: Receiver, tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start `tests.mail.worker_process` and wait for its `ready`; killed at the end if alive."""
    started: list[asyncio.subprocess.Process] = []

    async def spawn(*options: str) -> asyncio.subprocess.Process:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.mail.worker_process",
            "--dsn", db_dsn, "--smtp-port", str(receiver.port), *options,
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
        log.close()
        started.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line == b"ready\n", (tmp_path / f"worker-{len(started) - 1}.log").read_text()
        return process

    yield spawn
    for process in started:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.wait(), 10)


async def test_two_worker_processes_drain_a_thousand_mails_without_a_duplicate(
    service: MailService, database: Database, receiver: Receiver, spawn_worker: Spawn
) -> None:
    workers = list(await asyncio.gather(spawn_worker(), spawn_worker()))
    ids = await enqueue_many(service, database, 1000)

    async def drained() -> bool:
        count = await database.pool.fetchval(
            "SELECT count(*) FROM mail_deliveries WHERE status = 'sent'"
        )
        return bool(count == len(ids))

    await eventually(drained, timeout=90, interval=0.1, message="1,000 mails sent")
    counts = receiver.counts()
    assert set(counts) == {str(i) for i in ids}, "a mail is missing"
    assert max(counts.values()) == 1, "a mail was delivered twice"
    assert len({r.peer for r in receiver.received}) >= 2, "both processes took part"
    attempts = await database.pool.fetchval("SELECT count(*) FROM mail_attempts")
    assert attempts == len(ids)

    for process in workers:
        process.send_signal(signal.SIGTERM)
    assert [await asyncio.wait_for(p.wait(), 15) for p in workers] == [0, 0]


async def test_a_worker_killed_mid_send_loses_nothing(
    service: MailService,
    database: Database,
    receiver: Receiver,
    spawn_worker: Spawn,
    make_worker: WorkerFactory,
) -> None:
    receiver.handler.stall_data = 1
    ids = await enqueue_many(service, database, 5)
    doomed = await spawn_worker("--lease", "3", "--smtp-timeout", "1.5")
    await asyncio.wait_for(receiver.handler.stalled.wait(), 30)
    doomed.kill()
    assert await asyncio.wait_for(doomed.wait(), 10) == -signal.SIGKILL
    # It died holding every row: they stay leased until the lease runs out.
    assert set((await statuses(database)).values()) == {"sending"}

    await make_worker()

    await eventually(lambda: all_sent(database), timeout=30, message="delivered by the next worker")
    assert receiver.counts() == {str(i): 1 for i in ids}
    numbers = await database.pool.fetch("SELECT DISTINCT attempt FROM mail_attempts")
    assert [row["attempt"] for row in numbers] == [1]


async def test_a_worker_killed_after_some_sends_repeats_none_of_them(
    service: MailService,
    database: Database,
    receiver: Receiver,
    spawn_worker: Spawn,
    make_worker: WorkerFactory,
) -> None:
    # Three mails are accepted, the fourth is mid-DATA when the worker dies.
    receiver.handler.stall_after_accepting = 3
    ids = await enqueue_many(service, database, 10)
    doomed = await spawn_worker("--lease", "3", "--smtp-timeout", "1.5")
    await asyncio.wait_for(receiver.handler.stalled.wait(), 30)
    doomed.kill()
    assert await asyncio.wait_for(doomed.wait(), 10) == -signal.SIGKILL
    # Each accepted mail was recorded as sent before the next one was started.
    found = await statuses(database)
    assert sorted(found.values()).count("sent") == 3

    await make_worker()

    await eventually(lambda: all_sent(database), timeout=30, message="delivered by the next worker")
    # Only the one in flight could have gone twice; it never reached the receiver here.
    assert receiver.counts() == {str(i): 1 for i in ids}
