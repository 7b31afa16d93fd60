"""Fixtures for mail: the real database, a real SMTP receiver, workers with short backoffs."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from galaxy_backend.mail import MailService
from galaxy_backend.mail.worker import MailWorker
from galaxy_backend.postgres import Database
from tests.mail.helpers import WorkerFactory, worker_options
from tests.support.receiver import Receiver


@pytest.fixture
def service(database: Database) -> MailService:
    return MailService(database=database)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_worker(database: Database, receiver: Receiver) -> AsyncIterator[WorkerFactory]:
    """Start workers against the receiver (or `smtp_port=`); each is stopped at the end."""
    workers: list[MailWorker] = []

    async def make(**overrides: Any) -> MailWorker:
        worker = MailWorker(database=database, **worker_options(receiver.port, **overrides))
        await worker.start()
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        await worker.stop()
