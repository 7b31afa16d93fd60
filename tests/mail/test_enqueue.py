"""Enqueue: inside the caller's transaction, idempotent by key, waking workers at commit."""

import asyncio

import asyncpg
import pytest

from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.mail import MailService, RenderedMail
from galaxy_backend.mail.repository import CHANNEL
from galaxy_backend.mail.templates import sign_in_code
from galaxy_backend.postgres import Database
from tests.support import eventually

MAIL = sign_in_code("123456", ttl_minutes=10)


async def count(database: Database) -> int:
    return int(await database.pool.fetchval("SELECT count(*) FROM mail_deliveries"))


async def test_a_mail_is_queued_only_when_the_callers_transaction_commits(
    service: MailService, database: Database
) -> None:
    async with database.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await service.enqueue(
            conn, to="a@example.org", mail=MAIL, kind="sign_in_code", idempotency_key="k1"
        )
        await transaction.rollback()
    assert await count(database) == 0

    async with database.pool.acquire() as conn, conn.transaction():
        delivery_id = await service.enqueue(
            conn, to="a@example.org", mail=MAIL, kind="sign_in_code", idempotency_key="k1"
        )
    row = await database.pool.fetchrow("SELECT * FROM mail_deliveries WHERE id = $1", delivery_id)
    assert row is not None
    assert row["status"] == "pending"
    assert row["attempts"] == 0
    assert row["to_address"] == "a@example.org"
    assert row["body_text"] == MAIL.text
    assert row["body_html"] == MAIL.html


async def test_the_same_idempotency_key_returns_the_first_delivery_and_inserts_nothing(
    service: MailService, database: Database
) -> None:
    async with database.pool.acquire() as conn:
        first = await service.enqueue(
            conn, to="a@example.org", mail=MAIL, kind="sign_in_code", idempotency_key="same"
        )
        other = RenderedMail(subject="Other", text="other", html="<p>other</p>")
        second = await service.enqueue(
            conn, to="b@example.org", mail=other, kind="sign_in_code", idempotency_key="same"
        )
    assert second == first
    assert await count(database) == 1


async def test_concurrent_enqueues_of_one_key_agree_on_one_delivery(
    service: MailService, database: Database
) -> None:
    async def one() -> object:
        async with database.pool.acquire() as conn, conn.transaction():
            return await service.enqueue(
                conn, to="a@example.org", mail=MAIL, kind="k", idempotency_key="raced"
            )

    ids = await asyncio.gather(*(one() for _ in range(4)))
    assert len(set(ids)) == 1
    assert await count(database) == 1


async def test_listeners_are_woken_at_commit_not_before(
    service: MailService, database: Database, db_dsn: str
) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(db_dsn)
    try:
        await listener.add_listener(CHANNEL, lambda *args: heard.append(args[2]))
        async with database.pool.acquire() as conn, conn.transaction():
            await service.enqueue(
                conn, to="a@example.org", mail=MAIL, kind="k", idempotency_key="n1"
            )
            # A round trip on the listener: a notification sent now would have arrived.
            await listener.fetchval("SELECT 1")
            assert heard == []
        await eventually(lambda: heard == [CHANNEL], timeout=5, message="notification")
    finally:
        await listener.close()


REFUSED: list[tuple[str, RenderedMail, str, str, str]] = [
    ("no-at-sign", MAIL, "k", "x", "to"),
    ("a@example.org\r\nBcc: b@example.org", MAIL, "k", "x", "to"),
    ("<a@example.org>", MAIL, "k", "x", "to"),
    ("a@example.org", RenderedMail("two\nlines", "t", "h"), "k", "x", "subject"),
    ("a@example.org", RenderedMail("", "t", "h"), "k", "x", "subject"),
    ("a@example.org", MAIL, "", "x", "kind"),
    ("a@example.org", MAIL, "k", "", "idempotency_key"),
]


async def test_unusable_input_is_refused_before_anything_is_written(
    service: MailService, database: Database
) -> None:
    async with database.pool.acquire() as conn:
        for to, mail, kind, key, field in REFUSED:
            with pytest.raises(InvalidInput) as caught:
                await service.enqueue(conn, to=to, mail=mail, kind=kind, idempotency_key=key)
            assert caught.value.details["field"] == field, (to, mail, kind, key)
    assert await count(database) == 0
