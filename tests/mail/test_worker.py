"""The worker against a real SMTP server: delivery, rejections, retries, outages, stop."""

import asyncio
import itertools
import uuid
from collections import deque
from datetime import timedelta

import pytest

from galaxy_backend.mail import MailService
from galaxy_backend.mail.message import DELIVERY_ID_HEADER
from galaxy_backend.mail.templates import notification, sign_in_code
from galaxy_backend.postgres import Database
from tests.mail.helpers import WorkerFactory, all_sent, enqueue_many, statuses
from tests.support import eventually, free_port
from tests.support.receiver import Receiver


async def attempts_of(database: Database, delivery_id: uuid.UUID) -> list[tuple[str, int | None]]:
    rows = await database.pool.fetch(
        "SELECT outcome, smtp_code FROM mail_attempts WHERE delivery_id = $1 ORDER BY attempt",
        delivery_id,
    )
    return [(row["outcome"], row["smtp_code"]) for row in rows]


async def test_a_queued_mail_arrives_with_its_headers_and_is_marked_sent(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    await make_worker()
    async with database.pool.acquire() as conn, conn.transaction():
        delivery_id = await service.enqueue(
            conn,
            to="Player@Example.org",
            mail=sign_in_code("836214", ttl_minutes=10),
            kind="sign_in_code",
            idempotency_key="sign-in:1",
        )
    await eventually(lambda: all_sent(database, [delivery_id]), message="mail sent")

    [received] = receiver.received
    message = received.message
    assert received.delivery_id == str(delivery_id)
    assert received.mail_from == "noreply@galaxy.test"
    assert received.rcpt_tos == ["Player@Example.org"]
    assert message[DELIVERY_ID_HEADER] == str(delivery_id)
    assert message["Message-ID"] == f"<{delivery_id}@galaxy.test>"
    assert message["From"] == "Galaxy <noreply@galaxy.test>"
    assert message["To"] == "Player@Example.org"
    assert message["Subject"] == "Your Galaxy sign-in code"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and "836214" in plain.get_content()
    assert html is not None and "836214" in html.get_content()

    row = await database.pool.fetchrow("SELECT * FROM mail_deliveries WHERE id = $1", delivery_id)
    assert row is not None
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)
    assert row["sent_at"] is not None
    assert row["lease_until"] is None and row["lease_token"] is None
    assert await attempts_of(database, delivery_id) == [("sent", 250)]


async def test_a_permanent_rejection_fails_at_once_and_the_connection_carries_on(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    receiver.handler.refuse["nobody@example.org"] = deque(["550 5.1.1 no such user"] * 5)
    [bounced] = await enqueue_many(service, database, 1, to="nobody@example.org")
    [fine] = await enqueue_many(service, database, 1, to="somebody@example.org")
    await make_worker()

    async def settled() -> bool:
        found = await statuses(database)
        return found[bounced] == "failed" and found[fine] == "sent"

    await eventually(settled, message="one failed, one sent")
    row = await database.pool.fetchrow("SELECT * FROM mail_deliveries WHERE id = $1", bounced)
    assert row is not None
    assert row["attempts"] == 1
    assert "550" in row["last_error"]
    assert await attempts_of(database, bounced) == [("permanent", 550)]
    assert [r.delivery_id for r in receiver.received] == [str(fine)]


async def test_a_temporary_rejection_is_retried_after_a_backoff_then_sent(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    receiver.handler.refuse["grey@example.org"] = deque(["451 4.7.1 greylisted"] * 2)
    [delivery_id] = await enqueue_many(service, database, 1, to="grey@example.org")
    await make_worker(backoff_min=timedelta(milliseconds=50))
    await eventually(lambda: all_sent(database, [delivery_id]), message="sent after retries")

    assert await attempts_of(database, delivery_id) == [
        ("transient", 451),
        ("transient", 451),
        ("sent", 250),
    ]
    rows = await database.pool.fetch(
        "SELECT started_at, finished_at FROM mail_attempts WHERE delivery_id = $1 ORDER BY attempt",
        delivery_id,
    )
    for earlier, later in itertools.pairwise(rows):
        # Each retry waited at least the minimum backoff after the failure before it.
        assert later["started_at"] - earlier["finished_at"] >= timedelta(milliseconds=45)
    assert receiver.counts() == {str(delivery_id): 1}


async def test_temporary_rejections_fail_the_mail_once_the_attempts_are_spent(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    receiver.handler.refuse["full@example.org"] = deque(["452 4.2.2 mailbox full"] * 10)
    [delivery_id] = await enqueue_many(service, database, 1, to="full@example.org")
    await make_worker(max_attempts=3)

    async def failed() -> bool:
        return (await statuses(database))[delivery_id] == "failed"

    await eventually(failed, message="failed after 3 attempts")
    assert await attempts_of(database, delivery_id) == [("transient", 452)] * 3


async def test_an_smtp_outage_loses_nothing_and_does_not_burn_the_attempts(
    service: MailService, database: Database, make_worker: WorkerFactory
) -> None:
    port = free_port()
    ids = await enqueue_many(service, database, 20)
    # Long pauses, so the state during the outage can be looked at calmly.
    await make_worker(
        smtp_port=port,
        max_attempts=3,
        backoff_min=timedelta(seconds=1),
        backoff_max=timedelta(seconds=2),
    )

    async def paused() -> bool:
        failed = await database.pool.fetchval(
            "SELECT count(*) FROM mail_attempts WHERE outcome = 'connection'"
        )
        leased = await database.pool.fetchval(
            "SELECT count(*) FROM mail_deliveries WHERE status = 'sending'"
        )
        return bool(failed >= 1 and leased == 0)

    await eventually(paused, message="a failed connection, then a pause")
    # One attempt was spent, on one mail; the rest of the batch went back untouched.
    spent = await database.pool.fetch("SELECT id, status FROM mail_deliveries WHERE attempts > 0")
    assert [row["status"] for row in spent] == ["retrying"]
    waiting = await database.pool.fetch(
        "SELECT status, lease_until FROM mail_deliveries WHERE attempts = 0"
    )
    assert len(waiting) == 19
    assert {(row["status"], row["lease_until"]) for row in waiting} == {("pending", None)}

    receiver = Receiver()
    await receiver.start(port)
    try:
        await eventually(lambda: all_sent(database, ids), timeout=20, message="all sent")
        assert receiver.counts() == {str(i): 1 for i in ids}
    finally:
        await receiver.stop()
    [first] = [row["id"] for row in spent]
    outcomes = await attempts_of(database, first)
    assert outcomes[0] == ("connection", None)
    assert outcomes[-1] == ("sent", 250)
    error = await database.pool.fetchval(
        "SELECT error FROM mail_attempts WHERE delivery_id = $1 AND attempt = 1", first
    )
    assert error.startswith("connect:")


async def test_stop_finishes_the_current_send_and_hands_the_other_rows_back(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    receiver.handler.stall_data = 1
    ids = await enqueue_many(service, database, 5)
    worker = await make_worker()
    await asyncio.wait_for(receiver.handler.stalled.wait(), 10)
    assert set((await statuses(database)).values()) == {"sending"}

    stopping = asyncio.create_task(worker.stop())
    await eventually(lambda: worker.stopping, message="stop begun")
    receiver.handler.release.set()
    await asyncio.wait_for(stopping, 10)

    [received] = receiver.received
    rows = await database.pool.fetch(
        "SELECT id, status, attempts, lease_until, lease_token, next_attempt_at <= now() AS due"
        " FROM mail_deliveries"
    )
    by_id = {row["id"]: row for row in rows}
    assert by_id[uuid.UUID(received.delivery_id)]["status"] == "sent"
    others = [row for row in rows if str(row["id"]) != received.delivery_id]
    assert len(others) == 4
    for row in others:
        assert row["status"] == "pending"
        assert row["attempts"] == 0
        assert row["lease_until"] is None and row["lease_token"] is None
        assert row["due"]

    # The next process takes them at once.
    await make_worker()
    await eventually(lambda: all_sent(database, ids), message="the rest sent")
    assert receiver.counts() == {str(i): 1 for i in ids}


async def test_due_rows_are_drained_on_start_including_abandoned_leases(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    abandoned, retrying, later = await enqueue_many(service, database, 3)
    await database.pool.execute(
        "UPDATE mail_deliveries SET status = 'sending', lease_token = gen_random_uuid(),"
        " lease_until = now() - interval '1 second', next_attempt_at = now() - interval '1 second'"
        " WHERE id = $1",
        abandoned,
    )
    await database.pool.execute(
        "UPDATE mail_deliveries SET status = 'retrying', attempts = 1 WHERE id = $1", retrying
    )
    await database.pool.execute(
        "UPDATE mail_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE id = $1",
        later,
    )
    # A poll far beyond the test: only the start-up drain can send these.
    await make_worker(poll_interval=timedelta(minutes=10))
    await eventually(lambda: all_sent(database, [abandoned, retrying]), message="drained")
    assert (await statuses(database))[later] == "pending"
    assert await attempts_of(database, retrying) == [("sent", 250)]
    attempt = await database.pool.fetchval(
        "SELECT attempt FROM mail_attempts WHERE delivery_id = $1", retrying
    )
    assert attempt == 2


async def listening_pids(database: Database) -> list[int]:
    rows = await database.pool.fetch(
        "SELECT pid FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN %galaxy_mail%'"
    )
    return [row["pid"] for row in rows]


async def test_an_idle_worker_wakes_on_commit_and_listens_again_after_losing_its_connection(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    await make_worker(poll_interval=timedelta(minutes=10))
    [first] = await enqueue_many(service, database, 1)
    await eventually(lambda: all_sent(database, [first]), timeout=5, message="woken by NOTIFY")

    [pid] = await listening_pids(database)
    await database.pool.execute("SELECT pg_terminate_backend($1)", pid)

    async def listening_again() -> bool:
        pids = await listening_pids(database)
        return len(pids) == 1 and pids[0] != pid

    await eventually(listening_again, timeout=5, message="a new LISTEN connection")
    [second] = await enqueue_many(service, database, 1)
    await eventually(lambda: all_sent(database, [second]), timeout=5, message="woken again")


async def test_a_stop_out_of_time_interrupts_the_send_and_still_hands_every_row_back(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    receiver.handler.stall_data = 1
    await enqueue_many(service, database, 3)
    worker = await make_worker()
    await asyncio.wait_for(receiver.handler.stalled.wait(), 10)

    # The App bounds each stop; here the bound runs out while the server stalls.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await worker.stop()

    rows = await database.pool.fetch("SELECT status, attempts, lease_token FROM mail_deliveries")
    assert [(r["status"], r["attempts"], r["lease_token"]) for r in rows] == [
        ("pending", 0, None)
    ] * 3
    assert receiver.received == []


async def test_a_mail_that_cannot_be_composed_fails_alone(
    service: MailService, database: Database, receiver: Receiver, make_worker: WorkerFactory
) -> None:
    unwritable = notification("News", "Hi.", unsubscribe_url="https://galaxy.test/a b")
    async with database.pool.acquire() as conn, conn.transaction():
        bad = await service.enqueue(
            conn, to="a@example.org", mail=unwritable, kind="notification", idempotency_key="b"
        )
    [fine] = await enqueue_many(service, database, 1, to="b@example.org")
    await make_worker()

    async def settled() -> bool:
        found = await statuses(database)
        return found[bad] == "failed" and found[fine] == "sent"

    await eventually(settled, message="the unwritable one failed, the other sent")
    row = await database.pool.fetchrow("SELECT * FROM mail_deliveries WHERE id = $1", bad)
    assert row is not None
    assert row["attempts"] == 1
    assert "unsubscribe URL" in row["last_error"]
    assert [r.rcpt_tos for r in receiver.received] == [["b@example.org"]]
