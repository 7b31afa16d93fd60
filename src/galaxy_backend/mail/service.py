"""The mail service: enqueue inside the caller's transaction; list and retry for operators."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.mail import repository
from galaxy_backend.mail.errors import (
    IdempotencyKeyBusy,
    MailDeliveryNotFailed,
    MailDeliveryNotFound,
    MailDeliveryRedacted,
)
from galaxy_backend.mail.models import STATUSES, Delivery
from galaxy_backend.mail.templates import RenderedMail
from galaxy_backend.postgres import Connection, PoolProvider, in_transaction
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

MAX_LIST_LIMIT = 200
MAX_ADDRESS_LENGTH = 320
MAX_KEY_LENGTH = 200
MAX_KIND_LENGTH = 64
MAX_SUBJECT_LENGTH = 900


def _check_address(to: str) -> None:
    # Header or envelope injection needs whitespace, a line break or angle brackets.
    local, _, domain = to.rpartition("@")
    if (
        not local
        or not domain
        or len(to) > MAX_ADDRESS_LENGTH
        or any(ch.isspace() or ch in "<>,;\x00" for ch in to)
    ):
        raise InvalidInput("not a usable email address", field="to")


def _check_mail(mail: RenderedMail) -> None:
    if not mail.subject or len(mail.subject) > MAX_SUBJECT_LENGTH:
        raise InvalidInput("subject must be 1..900 characters", field="subject")
    if "\r" in mail.subject or "\n" in mail.subject:
        raise InvalidInput("subject must be one line", field="subject")


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One mail of a fan-out: who, what, and the key that makes queueing it idempotent."""

    to: str
    mail: RenderedMail
    kind: str
    idempotency_key: str


def usable_address(to: str) -> bool:
    try:
        _check_address(to)
    except InvalidInput:
        return False
    return True


class MailService:
    """Queues mails for the worker (transactional outbox) and serves the admin views."""

    def __init__(self, *, database: PoolProvider) -> None:
        self._database = database

    async def enqueue(
        self,
        conn: Connection,
        *,
        to: str,
        mail: RenderedMail,
        kind: str,
        idempotency_key: str,
        secret_for: timedelta | None = None,
    ) -> UUID:
        """Queue one mail in the caller's transaction; the same key yields the same delivery.

        The mail leaves only if that transaction commits, and idle workers wake at commit.
        `secret_for`: the bodies carry a secret valid that long (a sign-in code); they are
        kept only until the mail is sent or fails, and never past that, and an expired one
        is not sent at all.
        """
        _check_address(to)
        _check_mail(mail)
        if not kind or len(kind) > MAX_KIND_LENGTH:
            raise InvalidInput("kind must be 1..64 characters", field="kind")
        if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
            raise InvalidInput("idempotency_key must be 1..200 characters", field="idempotency_key")
        delivery_id = uuid.uuid4()
        inserted = await repository.insert_delivery(
            conn,
            delivery_id=delivery_id,
            idempotency_key=idempotency_key,
            kind=kind,
            to_address=to,
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
            secret_for=secret_for,
            unsubscribe_url=mail.unsubscribe_url,
        )
        if inserted:
            return delivery_id
        existing = await repository.delivery_id_for_key(conn, idempotency_key)
        if existing is None:
            # The other row is invisible to this transaction's snapshot (REPEATABLE READ).
            raise IdempotencyKeyBusy()
        return existing

    async def enqueue_many(self, conn: Connection, mails: Sequence[OutgoingMail]) -> int:
        """Queue many mails in the caller's transaction in one statement (a fan-out); the
        same idempotency key twice yields one delivery. Returns how many were new."""
        for outgoing in mails:
            _check_address(outgoing.to)
            _check_mail(outgoing.mail)
        if not mails:
            return 0
        return await repository.insert_many(
            conn,
            ids=[uuid.uuid4() for _ in mails],
            idempotency_keys=[m.idempotency_key for m in mails],
            kinds=[m.kind for m in mails],
            to_addresses=[m.to for m in mails],
            subjects=[m.mail.subject for m in mails],
            texts=[m.mail.text for m in mails],
            htmls=[m.mail.html for m in mails],
            unsubscribe_urls=[m.mail.unsubscribe_url for m in mails],
        )

    async def redact_expired(self) -> int:
        """Fail and redact mails whose secret expired before they could be sent."""
        async with self._database.pool.acquire() as conn:
            count = await repository.redact_expired(conn)
        if count:
            _log.info("mails with an expired secret redacted", mails=count)
        return count

    async def list_deliveries(
        self, *, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[Delivery], str | None]:
        """One page, newest first; the cursor continues after the page's last row."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidInput(f"limit must be 1..{MAX_LIST_LIMIT}", field="limit")
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await repository.list_deliveries(
                conn, status=status, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    async def retry(self, delivery_id: UUID, actor: Actor) -> Delivery:
        """Send a failed mail again, with a fresh attempt budget; audited with the change."""
        async with in_transaction(self._database) as conn:
            delivery = await repository.requeue_failed(conn, delivery_id)
            if delivery is None:
                status = await repository.status_of(conn, delivery_id)
                if status is None:
                    raise MailDeliveryNotFound()
                if status == "failed":
                    raise MailDeliveryRedacted()
                raise MailDeliveryNotFailed(
                    f"only a failed delivery can be retried (this one is {status})",
                    details={"status": status},
                )
            await write_audit(
                conn,
                actor,
                "mail.delivery.retry",
                target_type="mail_delivery",
                target_id=str(delivery_id),
                details={"kind": delivery.kind, "attempts": delivery.attempts},
            )
        _log.info(
            "mail delivery requeued by an operator",
            delivery_id=str(delivery_id),
            admin=actor.username,
        )
        return delivery
