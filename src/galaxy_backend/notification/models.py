"""What domains hand the notification service: a notice for some users, in a transaction."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell `user_ids`: a catalogue kind, mail title and body, a JSON payload.

    `key`, when given, makes the notice idempotent per user: posting the same key again
    (a retried job, a second sweeper) notifies nobody twice. `mail_text`, per recipient, is
    appended to that recipient's email in a fixed-width block (a turn report); it is kept
    only until the mail is queued, and never shown in the inbox or pushed.
    """

    kind: str
    user_ids: Sequence[UUID]
    title: str
    body: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    mail_text: Mapping[UUID, str] | None = None
