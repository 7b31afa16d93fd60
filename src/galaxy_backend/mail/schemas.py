"""Request and reply models of the mail queue's admin API."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from galaxy_backend.mail.models import Delivery, DeliveryStatus


class DeliveryOut(BaseModel):
    id: UUID
    kind: str
    to: str
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> "DeliveryOut":
        return cls(
            id=delivery.id,
            kind=delivery.kind,
            to=delivery.to_address,
            subject=delivery.subject,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
            sent_at=delivery.sent_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
