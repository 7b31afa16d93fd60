"""The notification service: notices become inbox entries and delivery routes, in the
transaction of the change that causes them; the worker delivers the routes."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID

from opentelemetry import propagate

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.notification import catalogue, oversight, repository
from galaxy_backend.notification.catalogue import CHANNELS, Kind
from galaxy_backend.notification.errors import (
    BroadcastNotFound,
    DeadLetterNotFound,
    InvalidUnsubscribeToken,
    NotificationNotFound,
    UnknownKind,
    UnknownUsers,
)
from galaxy_backend.notification.models import Notice
from galaxy_backend.notification.oversight import Broadcast
from galaxy_backend.notification.repository import DeadLetter, InboxItem
from galaxy_backend.notification.unsubscribe import UnsubscribeTokens
from galaxy_backend.postgres import Database, Tx, transaction
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

MAX_TITLE_LENGTH = 200
MAX_BODY_LENGTH = 20_000
MAX_RECIPIENTS = 1_000
UNSUBSCRIBE_PATH = "/api/v1/public/notifications/unsubscribe"


@dataclass(frozen=True, slots=True)
class Preference:
    kind: Kind
    push: bool
    email: bool


def _with_defaults(chosen: Mapping[str, tuple[bool | None, bool | None]]) -> list[Preference]:
    """Every kind's channels: the player's choice where made, else the catalogue's."""
    result = []
    for kind in catalogue.KINDS:
        push, email = chosen.get(kind.name, (None, None))
        result.append(
            Preference(
                kind=kind,
                push=kind.push if push is None else push,
                email=kind.email if email is None else email,
            )
        )
    return result


def _trace_parent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class NotificationService:
    def __init__(self, *, database: Database, tokens: UnsubscribeTokens, public_url: str) -> None:
        self._database = database
        self._tokens = tokens
        self._public_url = public_url.rstrip("/")

    # --- posting notices --------------------------------------------------------------------------

    async def post(self, tx: Tx, notice: Notice) -> list[UUID]:
        """Notify `notice.user_ids` in the caller's transaction: an inbox entry each, and a
        route per channel the kind uses and the user wants. Deleted accounts are skipped;
        a repeated `key` notifies nobody twice. Returns the notifications created."""
        kind = catalogue.kind(notice.kind)  # a kind outside the catalogue is a bug
        return await self._create(
            tx,
            kind=kind,
            user_ids=notice.user_ids,
            title=notice.title[:MAX_TITLE_LENGTH],
            body=notice.body[:MAX_BODY_LENGTH],
            payload=notice.payload,
            key=notice.key,
            channels=kind.channels(),
            mail_text=notice.mail_text,
        )

    async def _create(
        self,
        tx: Tx,
        *,
        kind: Kind,
        user_ids: Sequence[UUID],
        title: str,
        body: str,
        payload: Mapping[str, Any],
        key: str | None,
        channels: Sequence[str],
        mail_text: Mapping[UUID, str] | None = None,
    ) -> list[UUID]:
        recipients = list(dict.fromkeys(user_ids))
        if not recipients:
            return []
        created = await repository.insert_notifications(
            tx.conn,
            ids=[uuid.uuid4() for _ in recipients],
            user_ids=recipients,
            kind=kind.name,
            title=title,
            body=body,
            payload=payload,
            dedupe_key=key,
            trace_parent=_trace_parent(),
            mail_texts=[(mail_text or {}).get(user) for user in recipients],
            channels=list(channels),
            default_push=kind.push,
            default_email=kind.email,
        )
        return [notification_id for notification_id, _ in created]

    async def send(
        self,
        *,
        user_ids: Sequence[UUID],
        title: str,
        body: str,
        payload: Mapping[str, Any],
        channels: Sequence[str],
        actor: Actor,
    ) -> list[UUID]:
        """An operator's message to given players; every id must be a live account."""
        recipients = list(dict.fromkeys(user_ids))
        if not recipients:
            raise InvalidInput("name at least one recipient", field="user_ids")
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidInput(
                f"at most {MAX_RECIPIENTS} recipients; use audience 'all' for everyone",
                field="user_ids",
            )
        kind = catalogue.kind(catalogue.ADMIN_MESSAGE)
        async with transaction(self._database) as tx:
            unknown = set(recipients) - await repository.live_users(tx.conn, recipients)
            if unknown:
                raise UnknownUsers(
                    "no such user",
                    field="user_ids",
                    details={"user_ids": sorted(str(u) for u in unknown)},
                )
            created = await self._create(
                tx,
                kind=kind,
                user_ids=recipients,
                title=title,
                body=body,
                payload=payload,
                key=None,
                channels=channels,
            )
            await write_audit(
                tx.conn,
                actor,
                "notification.send",
                target_type="users",
                details={"recipients": len(recipients), "channels": list(channels), "title": title},
            )
        _log.info("operator message queued", recipients=len(created), admin=actor.username)
        return created

    async def broadcast(
        self,
        *,
        title: str,
        body: str,
        payload: Mapping[str, Any],
        channels: Sequence[str],
        actor: Actor,
    ) -> Broadcast:
        """An operator's message to every active player, written out by the worker in
        batches that survive a restart (each player gets it once)."""
        async with transaction(self._database) as tx:
            broadcast = await oversight.insert_broadcast(
                tx.conn,
                broadcast_id=uuid.uuid4(),
                kind=catalogue.ADMIN_MESSAGE,
                title=title,
                body=body,
                payload=payload,
                channels=channels,
                trace_parent=_trace_parent(),
                created_by=actor.username,
            )
            await write_audit(
                tx.conn,
                actor,
                "notification.broadcast",
                target_type="broadcast",
                target_id=str(broadcast.id),
                details={"channels": list(channels), "title": title},
            )
        _log.info("broadcast queued", broadcast_id=str(broadcast.id), admin=actor.username)
        return broadcast

    async def broadcast_status(self, broadcast_id: UUID) -> Broadcast:
        async with self._database.pool.acquire() as conn:
            found = await oversight.get_broadcast(conn, broadcast_id)
        if found is None:
            raise BroadcastNotFound()
        return found

    async def write_out_broadcast(self, batch_size: int) -> bool:
        """Notify the next batch of one open broadcast's recipients, in one transaction with
        its progress; False when no broadcast is open (or others hold every open one)."""
        async with transaction(self._database) as tx:
            broadcast = await oversight.lock_open_broadcast(tx.conn)
            if broadcast is None:
                return False
            recipients = await oversight.broadcast_recipients(
                tx.conn, after=broadcast.after_user_id, limit=batch_size
            )
            created = await self._create(
                tx,
                kind=catalogue.kind(broadcast.kind),
                user_ids=recipients,
                title=broadcast.title,
                body=broadcast.body,
                payload={**broadcast.payload, "broadcast_id": str(broadcast.id)},
                key=f"broadcast:{broadcast.id}",
                channels=broadcast.channels,
            )
            await oversight.advance_broadcast(
                tx.conn,
                broadcast_id=broadcast.id,
                after=recipients[-1] if recipients else broadcast.after_user_id,
                added=len(created),
                finished=len(recipients) < batch_size,
            )
        if len(recipients) < batch_size:
            _log.info(
                "broadcast written out",
                broadcast_id=str(broadcast.id),
                recipients=broadcast.recipients + len(created),
            )
        return True

    # --- the inbox ---------------------------------------------------------------------------

    async def inbox(
        self, user_id: UUID, *, cursor: str | None, limit: int, unread_only: bool
    ) -> tuple[list[InboxItem], str | None, int]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            items = await repository.inbox(
                conn, user_id=user_id, after=after, unread_only=unread_only, limit=limit + 1
            )
            unread = await repository.unread_count(conn, user_id)
        page, following = page_of(items, limit)
        return page, following, unread

    async def mark_read(self, user_id: UUID, notification_id: UUID) -> None:
        async with self._database.pool.acquire() as conn:
            found = await repository.mark_read(
                conn, user_id=user_id, notification_id=notification_id
            )
        if not found:
            raise NotificationNotFound("no such notification")

    async def mark_all_read(self, user_id: UUID) -> int:
        async with self._database.pool.acquire() as conn:
            return await repository.mark_all_read(conn, user_id)

    async def delete(self, user_id: UUID, notification_id: UUID) -> None:
        async with self._database.pool.acquire() as conn:
            found = await repository.delete(conn, user_id=user_id, notification_id=notification_id)
        if not found:
            raise NotificationNotFound("no such notification")

    # --- preferences -------------------------------------------------------------------------

    async def preferences(self, user_id: UUID) -> list[Preference]:
        async with self._database.pool.acquire() as conn:
            return _with_defaults(await repository.preferences(conn, user_id))

    async def update_preferences(
        self, user_id: UUID, changes: Mapping[str, tuple[bool | None, bool | None]]
    ) -> list[Preference]:
        unknown = sorted(set(changes) - set(catalogue.BY_NAME))
        if unknown:
            raise UnknownKind(
                f"unknown notification kinds: {', '.join(unknown)}", field="preferences"
            )
        async with self._database.pool.acquire() as conn:
            if changes:
                await repository.set_preferences(conn, user_id=user_id, changes=changes)
            return _with_defaults(await repository.preferences(conn, user_id))

    def unsubscribe_url(self, user_id: UUID, kind: str) -> str:
        token = self._tokens.issue(user_id, kind)
        return f"{self._public_url}{UNSUBSCRIBE_PATH}?token={quote(token)}"

    def verify_unsubscribe(self, token: str) -> tuple[UUID, str]:
        """The (user, kind) of a token we signed, for a kind we send; else InvalidInput."""
        user_id, name = self._tokens.verify(token)
        if name not in catalogue.BY_NAME:
            raise InvalidUnsubscribeToken(field="token")
        return user_id, name

    async def unsubscribe(self, token: str) -> Kind:
        """Turn email off for the token's user and kind; no sign-in needed, as RFC 8058 asks."""
        user_id, name = self.verify_unsubscribe(token)
        kind = catalogue.BY_NAME[name]
        async with self._database.pool.acquire() as conn:
            await repository.set_preferences(
                conn, user_id=user_id, changes={kind.name: (None, False)}
            )
        _log.info("unsubscribed from a kind's mail", user_id=str(user_id), kind=kind.name)
        return kind

    # --- dead letters ------------------------------------------------------------------------

    async def dead_letters(
        self,
        *,
        kind: str | None,
        channel: str | None,
        user_id: UUID | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[DeadLetter], str | None]:
        if channel is not None and channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await repository.dead_letters(
                conn, kind=kind, channel=channel, user_id=user_id, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    async def requeue(self, dead_letter_id: UUID, actor: Actor) -> DeadLetter:
        async with transaction(self._database) as tx:
            revived = await repository.requeue(tx.conn, dead_letter_id=dead_letter_id, kind=None)
            if not revived:
                raise DeadLetterNotFound()
            await write_audit(
                tx.conn,
                actor,
                "notification.dead_letter.requeue",
                target_type="notification_route",
                target_id=str(revived[0].route_id),
                details={"kind": revived[0].kind, "channel": revived[0].channel},
            )
        return revived[0]

    async def requeue_kind(self, kind: str, actor: Actor) -> int:
        if kind not in catalogue.BY_NAME:
            raise UnknownKind(field="kind")
        async with transaction(self._database) as tx:
            revived = await repository.requeue(tx.conn, dead_letter_id=None, kind=kind)
            await write_audit(
                tx.conn,
                actor,
                "notification.dead_letter.requeue_kind",
                target_type="notification_kind",
                target_id=kind,
                details={"requeued": len(revived)},
            )
        return len(revived)
