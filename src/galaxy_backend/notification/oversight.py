"""What operators oversee of notifications: broadcasts to every player, a player's
notifications with each channel's state, the depth of the queues."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from galaxy_backend.notification.repository import BROADCAST_CHANNEL
from galaxy_backend.postgres import Connection


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: UUID
    kind: str
    title: str
    body: str
    payload: dict[str, Any]
    channels: list[str]
    trace_parent: str | None
    created_by: str
    created_at: datetime
    after_user_id: UUID | None
    recipients: int
    finished_at: datetime | None


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        payload=row["payload"],
        channels=list(row["channels"]),
        trace_parent=row["trace_parent"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        after_user_id=row["after_user_id"],
        recipients=row["recipients"],
        finished_at=row["finished_at"],
    )


async def insert_broadcast(
    conn: Connection,
    *,
    broadcast_id: UUID,
    kind: str,
    title: str,
    body: str,
    payload: Mapping[str, Any],
    channels: Sequence[str],
    trace_parent: str | None,
    created_by: str,
) -> Broadcast:
    row = await conn.fetchrow(
        """
        WITH inserted AS (
            INSERT INTO notification_broadcasts
                (id, kind, title, body, payload, channels, trace_parent, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING *
        )
        SELECT inserted.*, pg_notify($9, '') FROM inserted
        """,
        broadcast_id,
        kind,
        title,
        body,
        dict(payload),
        list(channels),
        trace_parent,
        created_by,
        BROADCAST_CHANNEL,
    )
    assert row is not None
    return _broadcast(row)


async def get_broadcast(conn: Connection, broadcast_id: UUID) -> Broadcast | None:
    row = await conn.fetchrow("SELECT * FROM notification_broadcasts WHERE id = $1", broadcast_id)
    return _broadcast(row) if row else None


async def lock_open_broadcast(conn: Connection) -> Broadcast | None:
    """The oldest unfinished broadcast nobody else is writing out, locked for this
    transaction."""
    row = await conn.fetchrow(
        """
        SELECT * FROM notification_broadcasts WHERE finished_at IS NULL
        ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
        """
    )
    return _broadcast(row) if row else None


async def broadcast_recipients(conn: Connection, *, after: UUID | None, limit: int) -> list[UUID]:
    """Active players in id order after `after`: not deleted, not blocked for good."""
    rows = await conn.fetch(
        """
        SELECT id FROM users
        WHERE deleted_at IS NULL AND block_kind IS DISTINCT FROM 'permanent'
          AND ($1::uuid IS NULL OR id > $1)
        ORDER BY id
        LIMIT $2
        """,
        after,
        limit,
    )
    return [row["id"] for row in rows]


async def advance_broadcast(
    conn: Connection, *, broadcast_id: UUID, after: UUID | None, added: int, finished: bool
) -> None:
    await conn.execute(
        """
        UPDATE notification_broadcasts
        SET after_user_id = $2, recipients = recipients + $3,
            finished_at = CASE WHEN $4 THEN now() END
        WHERE id = $1
        """,
        broadcast_id,
        after,
        added,
        finished,
    )


@dataclass(frozen=True, slots=True)
class RouteState:
    channel: str
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class SentNotification:
    """A notification as operators see it: whether it was read, and how far each of its
    channels got."""

    id: UUID
    kind: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    routes: tuple[RouteState, ...]


async def sent_to_user(
    conn: Connection, user_id: UUID, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[SentNotification]:
    """What a player's inbox holds, newest first, with how far each channel got (on the
    inbox's index: what the player deleted is not listed)."""
    rows = await conn.fetch(
        """
        SELECT n.id, n.kind, n.title, n.body, n.created_at, n.read_at,
               coalesce((SELECT jsonb_agg(jsonb_build_object(
                            'channel', r.channel, 'status', r.status, 'attempts', r.attempts,
                            'last_error', r.last_error, 'delivered_at', r.delivered_at)
                          ORDER BY r.channel)
                         FROM notification_routes r WHERE r.notification_id = n.id),
                        '[]'::jsonb) AS routes
        FROM notifications n
        WHERE n.user_id = $1 AND n.deleted_at IS NULL
          AND ($2::timestamptz IS NULL OR (n.created_at, n.id) < ($2, $3))
        ORDER BY n.created_at DESC, n.id DESC
        LIMIT $4
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [
        SentNotification(
            id=row["id"],
            kind=row["kind"],
            title=row["title"],
            body=row["body"],
            created_at=row["created_at"],
            read_at=row["read_at"],
            routes=tuple(
                RouteState(
                    channel=r["channel"],
                    status=r["status"],
                    attempts=r["attempts"],
                    last_error=r["last_error"],
                    delivered_at=(
                        datetime.fromisoformat(r["delivered_at"]) if r["delivered_at"] else None
                    ),
                )
                for r in row["routes"]
            ),
        )
        for row in rows
    ]


async def broadcasts(
    conn: Connection, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[Broadcast]:
    """Broadcasts, newest first."""
    rows = await conn.fetch(
        """
        SELECT * FROM notification_broadcasts
        WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2)
        ORDER BY created_at DESC, id DESC
        LIMIT $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_broadcast(row) for row in rows]


async def queue_depths(conn: Connection, *, cap: int) -> dict[str, int]:
    """Routes waiting and being delivered per channel, and dead letters, each counted up to
    `cap` (`push.pending`, ..., `dead_letters`): short scans of partial indexes."""
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM (SELECT 1 FROM notification_routes
            WHERE channel = 'push' AND status = 'pending' LIMIT $1) q) AS "push.pending",
          (SELECT count(*) FROM (SELECT 1 FROM notification_routes
            WHERE channel = 'push' AND status = 'delivering' LIMIT $1) q) AS "push.delivering",
          (SELECT count(*) FROM (SELECT 1 FROM notification_routes
            WHERE channel = 'email' AND status = 'pending' LIMIT $1) q) AS "email.pending",
          (SELECT count(*) FROM (SELECT 1 FROM notification_routes
            WHERE channel = 'email' AND status = 'delivering' LIMIT $1) q) AS "email.delivering",
          (SELECT count(*) FROM (SELECT 1 FROM notification_dead_letters LIMIT $1) q)
            AS dead_letters
        """,
        cap,
    )
    assert row is not None
    return {key: int(value) for key, value in row.items()}
