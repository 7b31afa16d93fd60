"""Request and reply models of notifications: the inbox, preferences, broadcasts, dead letters."""

import math
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

from galaxy_backend.kernel.fields import INT64_MAX, INT64_MIN, Text, refused_character
from galaxy_backend.notification import catalogue
from galaxy_backend.notification.service import (
    MAX_BODY_LENGTH,
    MAX_RECIPIENTS,
    MAX_TITLE_LENGTH,
)

ChannelName = Literal["push", "email"]


KindName = Annotated[str, Text(64)]


Token = Annotated[str, Text(512)]


# Notification payloads are small JSON objects: the inbox keeps them and push sends them.
MAX_PAYLOAD_KEYS = 50


def _storable(value: JsonValue) -> JsonValue:
    """A JSON value jsonb stores as given: no NUL or control characters in any string or
    key, integers within int64, no NaN or infinity (which would come back as null)."""
    if isinstance(value, str):
        if refused_character(value, multiline=True) is not None:
            raise ValueError("strings must not contain control or unassigned characters")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError("integers must be within int64")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    else:
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return value


PayloadValue = Annotated[JsonValue, AfterValidator(_storable)]


class NotificationOut(BaseModel):
    id: UUID
    kind: str
    title: str
    body: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class InboxOut(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class MarkedOut(BaseModel):
    marked: int


class PreferenceOut(BaseModel):
    kind: str
    description: str
    push: bool
    email: bool


class PreferencesOut(BaseModel):
    items: list[PreferenceOut]


class ChannelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    push: bool | None = None
    email: bool | None = None


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preferences: Annotated[dict[KindName, ChannelChoice], Field(max_length=len(catalogue.KINDS))]


class UnsubscribedOut(BaseModel):
    kind: str
    email: bool


class AdminNotificationIn(BaseModel):
    """To given players (`user_ids`) or, with `"audience": "all"`, to every active one."""

    model_config = ConfigDict(extra="forbid")
    user_ids: Annotated[list[UUID], Field(max_length=MAX_RECIPIENTS)] | None = None
    audience: Literal["all"] | None = None
    kind: Literal["admin.message"] = "admin.message"
    title: Annotated[str, Text(MAX_TITLE_LENGTH)]
    body: Annotated[str, Text(MAX_BODY_LENGTH, multiline=True)]
    payload: Annotated[dict[KindName, PayloadValue], Field(max_length=MAX_PAYLOAD_KEYS)] = {}
    channels: Annotated[list[ChannelName], Field(min_length=1, max_length=2)] = ["push", "email"]

    @model_validator(mode="after")
    def _one_audience(self) -> "AdminNotificationIn":
        if (self.user_ids is None) == (self.audience is None):
            raise ValueError("give either user_ids or audience 'all'")
        return self


class AdminNotificationOut(BaseModel):
    notification_ids: list[UUID]
    broadcast_id: UUID | None = None


class BroadcastOut(BaseModel):
    id: UUID
    kind: str
    title: str
    channels: list[str]
    created_by: str
    created_at: datetime
    recipients: int
    finished_at: datetime | None


class DeadLetterOut(BaseModel):
    id: UUID
    route_id: UUID
    notification_id: UUID
    user_id: UUID
    kind: str
    channel: str
    attempts: int
    last_error: str | None
    created_at: datetime


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


class RequeueKindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: KindName


class RequeuedOut(BaseModel):
    requeued: int
