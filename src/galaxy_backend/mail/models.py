"""What the mail repository returns and takes: deliveries, claimed mails, attempt results."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

DeliveryStatus = Literal["pending", "sending", "retrying", "sent", "failed"]
STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)

# sent; transient (4xx); permanent (5xx or unsendable); connection (no SMTP reply at all).
AttemptOutcome = Literal["sent", "transient", "permanent", "connection"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One queued mail as operators see it: never its bodies (they may hold a sign-in code)."""

    id: UUID
    kind: str
    to_address: str
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedMail:
    """A row the worker leased: what it needs to send it and to number the attempt."""

    id: UUID
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    attempts: int
    retry_base: int
    due_at: datetime
    unsubscribe_url: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One finished attempt and the delivery state it leads to."""

    delivery_id: UUID
    attempt: int
    status: DeliveryStatus
    outcome: AttemptOutcome
    smtp_code: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime
    retry_in_seconds: float | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending a delivery, as operators see it."""

    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: AttemptOutcome
    smtp_code: int | None
    error: str | None
