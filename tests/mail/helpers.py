"""Helpers for mail tests: worker options with short backoffs, queueing, reading states."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from galaxy_backend.mail import MailService
from galaxy_backend.mail.templates import notification
from galaxy_backend.mail.worker import MailWorker
from galaxy_backend.postgres import Database

MAIL_FROM = "Galaxy <noreply@galaxy.test>"

WorkerFactory = Callable[..., Awaitable[MailWorker]]


def worker_options(port: int, **overrides: Any) -> dict[str, Any]:
    """Short backoffs and polls, so retries happen within a test's patience."""
    options: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_username": None,
        "smtp_password": None,
        "smtp_tls": "auto",
        "mail_from": MAIL_FROM,
        "max_attempts": 5,
        "backoff_min": timedelta(milliseconds=20),
        "backoff_max": timedelta(milliseconds=100),
        "poll_interval": timedelta(milliseconds=50),
        "smtp_timeout": timedelta(seconds=5),
        "lease": timedelta(seconds=30),
    }
    options.update(overrides)
    return options


async def enqueue_many(
    service: MailService,
    database: Database,
    count: int,
    *,
    to: str = "player@example.org",
    kind: str = "notification",
) -> list[uuid.UUID]:
    """Queue `count` mails in one transaction; returns their delivery ids in order."""
    ids = []
    async with database.pool.acquire() as conn, conn.transaction():
        for n in range(count):
            ids.append(
                await service.enqueue(
                    conn,
                    to=to,
                    mail=notification(f"Turn {n} ran", f"Body of mail {n}."),
                    kind=kind,
                    idempotency_key=f"test:{uuid.uuid4()}",
                )
            )
    return ids


async def statuses(database: Database) -> dict[uuid.UUID, str]:
    rows = await database.pool.fetch("SELECT id, status FROM mail_deliveries")
    return {row["id"]: row["status"] for row in rows}


async def all_sent(database: Database, ids: list[uuid.UUID] | None = None) -> bool:
    """Whether these mails (or, without ids, every queued mail) are marked sent."""
    found = await statuses(database)
    if ids is None:
        return set(found.values()) == {"sent"}
    return all(found.get(i) == "sent" for i in ids)
