"""SQL for notifications, their routes, dead letters, preferences and broadcasts."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from galaxy_backend.postgres import Connection

CHANNEL = "galaxy_notifications"
# A broadcast was queued: workers look for open broadcasts only when told (or at start).
BROADCAST_CHANNEL = "galaxy_broadcasts"

_NOTIFICATION_COLUMNS = "id, kind, title, body, payload, created_at, read_at"


@dataclass(frozen=True, slots=True)
class InboxItem:
    id: UUID
    kind: str
    title: str
    body: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedRoute:
    """A route the worker leased, with what it needs to deliver it."""

    id: UUID
    notification_id: UUID
    user_id: UUID
    channel: str
    attempts: int
    retry_base: int
    kind: str
    title: str
    body: str
    payload: dict[str, Any]
    created_at: datetime
    trace_parent: str | None
    email: str | None
    mail_text: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: UUID
    route_id: UUID
    notification_id: UUID
    user_id: UUID
    kind: str
    channel: str
    attempts: int
    last_error: str | None
    created_at: datetime


def _inbox_item(row: Any) -> InboxItem:
    return InboxItem(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        payload=row["payload"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


async def insert_notifications(
    conn: Connection,
    *,
    ids: Sequence[UUID],
    user_ids: Sequence[UUID],
    kind: str,
    title: str,
    body: str,
    payload: Mapping[str, Any],
    dedupe_key: str | None,
    trace_parent: str | None,
    mail_texts: Sequence[str | None],
    channels: Sequence[str],
    default_push: bool,
    default_email: bool,
) -> list[tuple[UUID, UUID]]:
    """Create one notification per live user (a deleted account gets none) and its routes,
    per `channels` and each user's preferences, in one statement; wakes idle workers at
    commit. A mail text is kept only for a user who gets the email. Returns (notification
    id, user id) of those created (a repeated key: none)."""
    rows = await conn.fetch(
        """
        WITH input AS (
            SELECT t.id, t.user_id, t.mail_text,
                   'push' = ANY($9::text[]) AND coalesce(p.push, $10) AS push,
                   'email' = ANY($9::text[]) AND coalesce(p.email, $11) AS email
            FROM unnest($1::uuid[], $2::uuid[], $13::text[]) AS t(id, user_id, mail_text)
            JOIN users u ON u.id = t.user_id AND u.deleted_at IS NULL
            LEFT JOIN notification_preferences p ON p.user_id = t.user_id AND p.kind = $3
        ), created AS (
            INSERT INTO notifications (id, user_id, kind, title, body, payload, dedupe_key,
                                       trace_parent, mail_text)
            SELECT id, user_id, $3, $4, $5, $6, $7, $8, CASE WHEN email THEN mail_text END
            FROM input
            ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
            RETURNING id, user_id
        ), routed AS (
            INSERT INTO notification_routes (id, notification_id, user_id, channel)
            SELECT gen_random_uuid(), created.id, created.user_id, c.channel
            FROM created
            JOIN input ON input.id = created.id
            CROSS JOIN LATERAL (VALUES ('push', input.push), ('email', input.email))
                AS c(channel, wanted)
            WHERE c.wanted
            RETURNING 1
        ), woken AS (
            SELECT pg_notify($12, '') WHERE EXISTS (SELECT 1 FROM routed)
        )
        SELECT created.id, created.user_id FROM created LEFT JOIN woken ON true
        """,
        list(ids),
        list(user_ids),
        kind,
        title,
        body,
        dict(payload),
        dedupe_key,
        trace_parent,
        list(channels),
        default_push,
        default_email,
        CHANNEL,
        list(mail_texts),
    )
    return [(row["id"], row["user_id"]) for row in rows]


async def live_users(conn: Connection, user_ids: Sequence[UUID]) -> set[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL", list(user_ids)
    )
    return {row["id"] for row in rows}


# --- the inbox -------------------------------------------------------------------------------


async def inbox(
    conn: Connection,
    *,
    user_id: UUID,
    after: tuple[datetime, UUID] | None,
    unread_only: bool,
    limit: int,
) -> list[InboxItem]:
    rows = await conn.fetch(
        f"""
        SELECT {_NOTIFICATION_COLUMNS} FROM notifications
        WHERE user_id = $1 AND deleted_at IS NULL
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
          AND (NOT $4 OR read_at IS NULL)
        ORDER BY created_at DESC, id DESC
        LIMIT $5
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        unread_only,
        limit,
    )
    return [_inbox_item(row) for row in rows]


async def unread_count(conn: Connection, user_id: UUID) -> int:
    count = await conn.fetchval(
        "SELECT count(*) FROM notifications"
        " WHERE user_id = $1 AND deleted_at IS NULL AND read_at IS NULL",
        user_id,
    )
    return int(count or 0)


async def mark_read(conn: Connection, *, user_id: UUID, notification_id: UUID) -> bool:
    found = await conn.fetchval(
        """
        UPDATE notifications SET read_at = coalesce(read_at, now())
        WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL
        RETURNING true
        """,
        notification_id,
        user_id,
    )
    return bool(found)


async def mark_all_read(conn: Connection, user_id: UUID) -> int:
    count = await conn.fetchval(
        """
        WITH marked AS (
            UPDATE notifications SET read_at = now()
            WHERE user_id = $1 AND deleted_at IS NULL AND read_at IS NULL
            RETURNING 1
        )
        SELECT count(*) FROM marked
        """,
        user_id,
    )
    return int(count or 0)


async def delete(conn: Connection, *, user_id: UUID, notification_id: UUID) -> bool:
    """Out of the inbox; its deliveries under way still happen."""
    found = await conn.fetchval(
        """
        UPDATE notifications SET deleted_at = now()
        WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL
        RETURNING true
        """,
        notification_id,
        user_id,
    )
    return bool(found)


# --- preferences -----------------------------------------------------------------------------


async def preferences(
    conn: Connection, user_id: UUID
) -> dict[str, tuple[bool | None, bool | None]]:
    rows = await conn.fetch(
        "SELECT kind, push, email FROM notification_preferences WHERE user_id = $1", user_id
    )
    return {row["kind"]: (row["push"], row["email"]) for row in rows}


async def set_preferences(
    conn: Connection, *, user_id: UUID, changes: Mapping[str, tuple[bool | None, bool | None]]
) -> None:
    """Set the given channels per kind (None leaves a channel as it was)."""
    kinds = list(changes)
    await conn.execute(
        """
        INSERT INTO notification_preferences AS p (user_id, kind, push, email)
        SELECT $1, t.kind, t.push, t.email
        FROM unnest($2::text[], $3::bool[], $4::bool[]) AS t(kind, push, email)
        ON CONFLICT (user_id, kind) DO UPDATE
        SET push = coalesce(excluded.push, p.push),
            email = coalesce(excluded.email, p.email),
            updated_at = now()
        """,
        user_id,
        kinds,
        [changes[k][0] for k in kinds],
        [changes[k][1] for k in kinds],
    )


# --- routes ----------------------------------------------------------------------------------


async def claim_routes(
    conn: Connection, *, lease_token: UUID, lease: timedelta, limit: int
) -> list[ClaimedRoute]:
    """Lease up to `limit` due routes in one statement, skipping those others hold."""
    rows = await conn.fetch(
        """
        WITH due AS MATERIALIZED (
            SELECT id FROM notification_routes
            WHERE status IN ('pending', 'delivering') AND next_attempt_at <= now()
            ORDER BY next_attempt_at
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE notification_routes r
            SET status = 'delivering', lease_token = $1, next_attempt_at = now() + $2::interval
            FROM due WHERE r.id = due.id
            RETURNING r.id, r.notification_id, r.user_id, r.channel, r.attempts, r.retry_base
        )
        SELECT claimed.*, n.kind, n.title, n.body, n.payload, n.created_at, n.trace_parent,
               CASE WHEN claimed.channel = 'email' THEN n.mail_text END AS mail_text,
               CASE WHEN u.deleted_at IS NULL THEN u.email END AS email
        FROM claimed
        JOIN notifications n ON n.id = claimed.notification_id
        JOIN users u ON u.id = claimed.user_id
        ORDER BY n.created_at
        """,
        lease_token,
        lease,
        limit,
    )
    return [
        ClaimedRoute(
            id=row["id"],
            notification_id=row["notification_id"],
            user_id=row["user_id"],
            channel=row["channel"],
            attempts=row["attempts"],
            retry_base=row["retry_base"],
            kind=row["kind"],
            title=row["title"],
            body=row["body"],
            payload=row["payload"],
            created_at=row["created_at"],
            trace_parent=row["trace_parent"],
            email=row["email"],
            mail_text=row["mail_text"],
        )
        for row in rows
    ]


async def forget_mail_texts(conn: Connection, notification_ids: Sequence[UUID]) -> None:
    """Their mails are queued: the texts that only served them go."""
    await conn.execute(
        "UPDATE notifications SET mail_text = NULL"
        " WHERE id = ANY($1::uuid[]) AND mail_text IS NOT NULL",
        list(notification_ids),
    )


async def mark_delivered(conn: Connection, *, lease_token: UUID, ids: Sequence[UUID]) -> set[UUID]:
    """Routes still held under this token become delivered; returns those."""
    if not ids:
        return set()
    rows = await conn.fetch(
        """
        UPDATE notification_routes
        SET status = 'delivered', delivered_at = now(), lease_token = NULL,
            attempts = attempts + 1, last_error = NULL
        WHERE id = ANY($2::uuid[]) AND lease_token = $1 AND status = 'delivering'
        RETURNING id
        """,
        lease_token,
        list(ids),
    )
    return {row["id"] for row in rows}


@dataclass(frozen=True, slots=True)
class Failure:
    route_id: UUID
    error: str
    # None: no more attempts (a dead letter); else when to try again.
    retry_in_seconds: float | None


async def record_failures(
    conn: Connection, *, lease_token: UUID, failures: Sequence[Failure]
) -> None:
    """Reschedule the routes that may try again; move the others to the dead letters."""
    if not failures:
        return
    await conn.execute(
        """
        WITH f AS (
            SELECT * FROM unnest($2::uuid[], $3::text[], $4::float8[]) AS f(id, error, retry_in)
        ), updated AS (
            UPDATE notification_routes r
            SET status = CASE WHEN f.retry_in IS NULL THEN 'dead' ELSE 'pending' END,
                attempts = r.attempts + 1,
                last_error = f.error,
                lease_token = NULL,
                next_attempt_at = CASE WHEN f.retry_in IS NULL THEN r.next_attempt_at
                                       ELSE now() + make_interval(secs => f.retry_in) END
            FROM f
            WHERE r.id = f.id AND r.lease_token = $1 AND r.status = 'delivering'
            RETURNING r.id, r.notification_id, r.user_id, r.channel, r.attempts, r.status,
                      r.last_error
        )
        INSERT INTO notification_dead_letters
            (id, route_id, notification_id, user_id, kind, channel, attempts, last_error)
        SELECT gen_random_uuid(), u.id, u.notification_id, u.user_id, n.kind, u.channel,
               u.attempts, u.last_error
        FROM updated u JOIN notifications n ON n.id = u.notification_id
        WHERE u.status = 'dead'
        """,
        lease_token,
        [f.route_id for f in failures],
        [f.error for f in failures],
        [f.retry_in_seconds for f in failures],
    )


async def release(conn: Connection, *, lease_token: UUID, ids: Sequence[UUID]) -> None:
    """Claimed routes not attempted (a stop): due again now, no attempt spent."""
    if not ids:
        return
    await conn.execute(
        """
        UPDATE notification_routes
        SET status = 'pending', lease_token = NULL, next_attempt_at = now()
        WHERE id = ANY($2::uuid[]) AND lease_token = $1 AND status = 'delivering'
        """,
        lease_token,
        list(ids),
    )


async def count_routes(conn: Connection) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        """
        SELECT channel, status, count(*) AS n FROM notification_routes
        WHERE status IN ('pending', 'delivering', 'dead')
        GROUP BY channel, status
        """
    )
    return {(row["channel"], row["status"]): int(row["n"]) for row in rows}


# --- dead letters ----------------------------------------------------------------------------


def _dead_letter(row: Any) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        route_id=row["route_id"],
        notification_id=row["notification_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        channel=row["channel"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
    )


async def dead_letters(
    conn: Connection,
    *,
    kind: str | None,
    channel: str | None,
    user_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[DeadLetter]:
    rows = await conn.fetch(
        """
        SELECT * FROM notification_dead_letters
        WHERE ($1::text IS NULL OR kind = $1)
          AND ($2::text IS NULL OR channel = $2)
          AND ($3::uuid IS NULL OR user_id = $3)
          AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
        ORDER BY created_at DESC, id DESC
        LIMIT $6
        """,
        kind,
        channel,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_dead_letter(row) for row in rows]


async def requeue(
    conn: Connection, *, dead_letter_id: UUID | None, kind: str | None
) -> list[DeadLetter]:
    """Put dead routes back in the queue with a fresh budget (one, or every one of a kind);
    their dead letters go. Idle workers wake at commit."""
    rows = await conn.fetch(
        """
        WITH gone AS (
            DELETE FROM notification_dead_letters
            WHERE ($1::uuid IS NOT NULL AND id = $1) OR ($2::text IS NOT NULL AND kind = $2)
            RETURNING *
        ), revived AS (
            UPDATE notification_routes r
            SET status = 'pending', retry_base = r.attempts, next_attempt_at = now(),
                last_error = NULL
            FROM gone WHERE r.id = gone.route_id AND r.status = 'dead'
            RETURNING r.id
        ), woken AS (
            SELECT pg_notify($3, '') WHERE EXISTS (SELECT 1 FROM revived)
        )
        SELECT gone.* FROM gone LEFT JOIN woken ON true
        """,
        dead_letter_id,
        kind,
        CHANNEL,
    )
    return [_dead_letter(row) for row in rows]
