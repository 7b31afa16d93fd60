"""Opaque keyset-pagination cursors: a row's (created_at, id), for lists newest first."""

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from uuid import UUID

from galaxy_backend.kernel.errors import InvalidInput


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The list position a cursor stands for; InvalidInput if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, row_id = raw.partition("|")
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:
            raise ValueError("naive")
        # In UTC here: an offset that pushes the moment out of range fails now, not in SQL.
        return moment.astimezone(UTC), UUID(row_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None


class Listed(Protocol):
    """A row of a list newest first: what its cursor is made of."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


R = TypeVar("R", bound=Listed)


def page_of(rows: Sequence[R], limit: int) -> tuple[list[R], str | None]:
    """The first `limit` of the `limit + 1` rows fetched, and the cursor after them if more."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    return page, encode_cursor(page[-1].created_at, page[-1].id)
