"""Mail SQL: the outbox rows, their leases and the attempts; every function takes a connection."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.mail.models import (
    Attempt,
    AttemptResult,
    ClaimedMail,
    Delivery,
    DeliveryStatus,
)
from galaxy_backend.postgres import Connection

CHANNEL = "galaxy_mail"
# What stays of a mail that carried a secret once it is sent, failed or expired.
REDACTED_TEXT = "[This mail carried a secret. It was removed once the mail was sent or expired.]"
REDACTED_HTML = f"<p>{REDACTED_TEXT}</p>"

_DELIVERY_COLUMNS = """
    id, kind, to_address, subject, status, attempts,
    CASE WHEN status IN ('pending', 'retrying') THEN next_attempt_at END AS next_attempt_at,
    last_error, created_at, updated_at, sent_at
"""


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        kind=row["kind"],
        to_address=row["to_address"],
        subject=row["subject"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sent_at=row["sent_at"],
    )


async def insert_delivery(
    conn: Connection,
    *,
    delivery_id: UUID,
    idempotency_key: str,
    kind: str,
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str,
    secret_for: timedelta | None = None,
    unsubscribe_url: str | None = None,
) -> bool:
    """Insert unless the key exists; on insert, wake workers when the transaction commits.

    `secret_for`: the bodies hold a secret valid that long; they are redacted after it.
    """
    row = await conn.fetchrow(
        """
        WITH inserted AS (
            INSERT INTO mail_deliveries
                (id, idempotency_key, kind, to_address, subject, body_text, body_html,
                 redact_at, unsubscribe_url)
            VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $9::interval, $10)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
        )
        SELECT id, pg_notify($8, '') FROM inserted
        """,
        delivery_id,
        idempotency_key,
        kind,
        to_address,
        subject,
        body_text,
        body_html,
        CHANNEL,
        secret_for,
        unsubscribe_url,
    )
    return row is not None


async def insert_many(
    conn: Connection,
    *,
    ids: Sequence[UUID],
    idempotency_keys: Sequence[str],
    kinds: Sequence[str],
    to_addresses: Sequence[str],
    subjects: Sequence[str],
    texts: Sequence[str],
    htmls: Sequence[str],
    unsubscribe_urls: Sequence[str | None],
) -> int:
    """Insert many in one statement, skipping keys that exist; wakes workers at commit."""
    inserted = await conn.fetchval(
        """
        WITH inserted AS (
            INSERT INTO mail_deliveries
                (id, idempotency_key, kind, to_address, subject, body_text, body_html,
                 unsubscribe_url)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::text[], $7::text[], $8::text[])
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING 1
        )
        SELECT c.n, CASE WHEN c.n > 0 THEN pg_notify($9, '') END
        FROM (SELECT count(*) AS n FROM inserted) AS c
        """,
        list(ids),
        list(idempotency_keys),
        list(kinds),
        list(to_addresses),
        list(subjects),
        list(texts),
        list(htmls),
        list(unsubscribe_urls),
        CHANNEL,
    )
    return int(inserted or 0)


async def delivery_id_for_key(conn: Connection, idempotency_key: str) -> UUID | None:
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM mail_deliveries WHERE idempotency_key = $1", idempotency_key
    )
    return found


async def claim_due(
    conn: Connection, *, lease_token: UUID, lease: timedelta, limit: int
) -> list[ClaimedMail]:
    """Lease up to `limit` due rows in one statement; rows other workers hold are skipped.

    A claim moves next_attempt_at to the lease's end, so a 'sending' row is due again
    (picked up by anyone) exactly when its lease has run out.
    """
    rows = await conn.fetch(
        """
        WITH due AS MATERIALIZED (
            SELECT id, next_attempt_at
            FROM mail_deliveries
            WHERE status IN ('pending', 'retrying', 'sending')
              AND next_attempt_at <= now()
              AND (status <> 'sending' OR lease_until <= now())
              AND (redact_at IS NULL OR redact_at > now())
            ORDER BY next_attempt_at
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE mail_deliveries d
        SET status = 'sending',
            lease_token = $1,
            lease_until = now() + $2::interval,
            next_attempt_at = now() + $2::interval,
            updated_at = now()
        FROM due
        WHERE d.id = due.id
        RETURNING d.id, d.kind, d.to_address, d.subject, d.body_text, d.body_html,
                  d.attempts, d.retry_base, due.next_attempt_at AS due_at, d.unsubscribe_url
        """,
        lease_token,
        lease,
        limit,
    )
    mails = [
        ClaimedMail(
            id=row["id"],
            kind=row["kind"],
            to_address=row["to_address"],
            subject=row["subject"],
            body_text=row["body_text"],
            body_html=row["body_html"],
            attempts=row["attempts"],
            retry_base=row["retry_base"],
            due_at=row["due_at"],
            unsubscribe_url=row["unsubscribe_url"],
        )
        for row in rows
    ]
    mails.sort(key=lambda m: m.due_at)
    return mails


async def renew_leases(
    conn: Connection, *, lease_token: UUID, ids: Sequence[UUID], lease: timedelta
) -> set[UUID]:
    """Extend the lease of rows still held under this token; returns those still held."""
    rows = await conn.fetch(
        """
        UPDATE mail_deliveries
        SET lease_until = now() + $3::interval, next_attempt_at = now() + $3::interval
        WHERE id = ANY($2::uuid[]) AND lease_token = $1 AND status = 'sending'
        RETURNING id
        """,
        lease_token,
        list(ids),
        lease,
    )
    return {row["id"] for row in rows}


async def record_results(
    conn: Connection, *, lease_token: UUID, results: Sequence[AttemptResult]
) -> set[UUID]:
    """Apply finished attempts and log them, in one statement; returns the ids applied.

    A row no longer held under this token (its lease ran out and another worker took it)
    is left alone, attempt included.
    """
    if not results:
        return set()
    rows = await conn.fetch(
        """
        WITH r AS (
            SELECT *
            FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::int[], $7::text[],
                        $8::timestamptz[], $9::timestamptz[], $10::float8[])
                AS r(id, attempt, status, outcome, smtp_code, error,
                     started_at, finished_at, retry_in)
        ), applied AS (
            UPDATE mail_deliveries d
            SET status = r.status,
                attempts = r.attempt,
                next_attempt_at = CASE
                    WHEN r.status = 'retrying' THEN now() + make_interval(secs => r.retry_in)
                    ELSE now()
                END,
                lease_until = NULL,
                lease_token = NULL,
                last_error = r.error,
                sent_at = CASE WHEN r.status = 'sent' THEN r.finished_at END,
                updated_at = now(),
                -- Sent or failed for good: a secret in the bodies has served its purpose.
                body_text = CASE WHEN d.redact_at IS NOT NULL AND r.status IN ('sent', 'failed')
                                 THEN $11 ELSE d.body_text END,
                body_html = CASE WHEN d.redact_at IS NOT NULL AND r.status IN ('sent', 'failed')
                                 THEN $12 ELSE d.body_html END,
                redacted_at = CASE WHEN d.redact_at IS NOT NULL AND r.status IN ('sent', 'failed')
                                   THEN now() ELSE d.redacted_at END,
                redact_at = CASE WHEN r.status IN ('sent', 'failed') THEN NULL ELSE d.redact_at END
            FROM r
            WHERE d.id = r.id AND d.lease_token = $1 AND d.status = 'sending'
            RETURNING d.id
        )
        INSERT INTO mail_attempts
            (delivery_id, attempt, started_at, finished_at, outcome, smtp_code, error)
        SELECT r.id, r.attempt, r.started_at, r.finished_at, r.outcome, r.smtp_code, r.error
        FROM r JOIN applied ON applied.id = r.id
        RETURNING delivery_id
        """,
        lease_token,
        [r.delivery_id for r in results],
        [r.attempt for r in results],
        [r.status for r in results],
        [r.outcome for r in results],
        [r.smtp_code for r in results],
        [r.error for r in results],
        [r.started_at for r in results],
        [r.finished_at for r in results],
        [r.retry_in_seconds for r in results],
        REDACTED_TEXT,
        REDACTED_HTML,
    )
    return {row["delivery_id"] for row in rows}


async def release(
    conn: Connection, *, lease_token: UUID, ids: Sequence[UUID], delay: timedelta
) -> int:
    """Hand unsent claimed rows back as pending, lease cleared, due after `delay`."""
    if not ids:
        return 0
    rows = await conn.fetch(
        """
        UPDATE mail_deliveries
        SET status = 'pending',
            lease_until = NULL,
            lease_token = NULL,
            next_attempt_at = now() + $3::interval,
            updated_at = now()
        WHERE id = ANY($2::uuid[]) AND lease_token = $1 AND status = 'sending'
        RETURNING id
        """,
        lease_token,
        list(ids),
        delay,
    )
    return len(rows)


async def redact_expired(conn: Connection) -> int:
    """Mails whose secret expired before they could be sent: failed, bodies redacted.

    A row being sent is left to its worker unless that worker's lease ran out.
    """
    count = await conn.fetchval(
        """
        WITH expired AS (
            UPDATE mail_deliveries
            SET status = CASE WHEN status = 'sent' THEN 'sent' ELSE 'failed' END,
                last_error = CASE WHEN status = 'sent' THEN last_error
                                  ELSE 'its secret expired before it could be sent' END,
                lease_token = NULL, lease_until = NULL,
                body_text = $1, body_html = $2,
                redacted_at = now(), redact_at = NULL, updated_at = now()
            WHERE redact_at <= now() AND (status <> 'sending' OR lease_until <= now())
            RETURNING 1
        )
        SELECT count(*) FROM expired
        """,
        REDACTED_TEXT,
        REDACTED_HTML,
    )
    return int(count or 0)


async def count_by_status(conn: Connection) -> dict[DeliveryStatus, int]:
    """Rows per status, sent ones aside (they only grow): the queue and its dead letters.

    The statuses are listed, not `<> 'sent'`, so the status index serves the count.
    """
    rows = await conn.fetch(
        """
        SELECT status, count(*) AS n FROM mail_deliveries
        WHERE status IN ('pending', 'sending', 'retrying', 'failed')
        GROUP BY status
        """
    )
    return {row["status"]: int(row["n"]) for row in rows}


async def list_deliveries(
    conn: Connection,
    *,
    status: DeliveryStatus | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Delivery]:
    """Newest first, optionally of one status, strictly after a (created_at, id) position."""
    # Fixed SQL per filter combination, so each has its own plan on the matching index.
    created, after_id = after if after is not None else (None, None)
    if status is None and after is None:
        rows = await conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM mail_deliveries"
            " ORDER BY created_at DESC, id DESC LIMIT $1",
            limit,
        )
    elif status is None:
        rows = await conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM mail_deliveries"
            " WHERE (created_at, id) < ($1, $2)"
            " ORDER BY created_at DESC, id DESC LIMIT $3",
            created,
            after_id,
            limit,
        )
    elif after is None:
        rows = await conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM mail_deliveries"
            " WHERE status = $1"
            " ORDER BY created_at DESC, id DESC LIMIT $2",
            status,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"SELECT {_DELIVERY_COLUMNS} FROM mail_deliveries"
            " WHERE status = $1 AND (created_at, id) < ($2, $3)"
            " ORDER BY created_at DESC, id DESC LIMIT $4",
            status,
            created,
            after_id,
            limit,
        )
    return [_delivery(row) for row in rows]


async def requeue_failed(conn: Connection, delivery_id: UUID) -> Delivery | None:
    """A failed row back to pending, due now, with a fresh attempt budget; idle workers wake
    when the transaction commits. None when the row is missing or not failed."""
    row = await conn.fetchrow(
        f"""
        WITH requeued AS (
            UPDATE mail_deliveries
            SET status = 'pending', retry_base = attempts, next_attempt_at = now(),
                updated_at = now()
            WHERE id = $1 AND status = 'failed' AND redacted_at IS NULL
            RETURNING {_DELIVERY_COLUMNS}
        )
        SELECT requeued.*, pg_notify($2, '') FROM requeued
        """,
        delivery_id,
        CHANNEL,
    )
    return _delivery(row) if row else None


async def status_of(conn: Connection, delivery_id: UUID) -> DeliveryStatus | None:
    status: DeliveryStatus | None = await conn.fetchval(
        "SELECT status FROM mail_deliveries WHERE id = $1", delivery_id
    )
    return status


# --- the operator console --------------------------------------------------------------------


async def get_delivery(conn: Connection, delivery_id: UUID) -> Delivery | None:
    row = await conn.fetchrow(
        f"SELECT {_DELIVERY_COLUMNS} FROM mail_deliveries WHERE id = $1", delivery_id
    )
    return _delivery(row) if row else None


async def attempts_of(conn: Connection, delivery_id: UUID) -> list[Attempt]:
    """Every attempt made to send a delivery, the first first (a few at most: the budget)."""
    rows = await conn.fetch(
        """
        SELECT attempt, started_at, finished_at, outcome, smtp_code, error
        FROM mail_attempts WHERE delivery_id = $1 ORDER BY attempt
        """,
        delivery_id,
    )
    return [
        Attempt(
            attempt=row["attempt"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            outcome=row["outcome"],
            smtp_code=row["smtp_code"],
            error=row["error"],
        )
        for row in rows
    ]


async def queue_depths(conn: Connection, *, cap: int) -> dict[str, int]:
    """Mails waiting, being sent, waiting to be retried and failed for good, each counted up
    to `cap`: one short index scan per status, whatever the table holds."""
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM (SELECT 1 FROM mail_deliveries
                                 WHERE status = 'pending' LIMIT $1) q) AS pending,
          (SELECT count(*) FROM (SELECT 1 FROM mail_deliveries
                                 WHERE status = 'sending' LIMIT $1) q) AS sending,
          (SELECT count(*) FROM (SELECT 1 FROM mail_deliveries
                                 WHERE status = 'retrying' LIMIT $1) q) AS retrying,
          (SELECT count(*) FROM (SELECT 1 FROM mail_deliveries
                                 WHERE status = 'failed' LIMIT $1) q) AS failed
        """,
        cap,
    )
    assert row is not None
    return {key: int(value) for key, value in row.items()}
