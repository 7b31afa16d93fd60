"""Reply models of the console's own admin routes."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from galaxy_backend.lobby.models import Role
from galaxy_backend.lobby.schemas import AdminRaceNameOut
from galaxy_backend.mail.schemas import DeliveryOut
from galaxy_backend.runtime.schemas import GameStandingOut, RecordOut, TurnOut


class ComponentOut(BaseModel):
    name: str
    started: bool


class LoopOut(BaseModel):
    name: str
    rounds: int
    seconds_since_round: float
    overdue: bool


class CacheOut(BaseModel):
    name: str
    warm: bool


class PoolOut(BaseModel):
    size: int
    idle: int
    max_size: int
    embedded: bool


class MailQueueOut(BaseModel):
    pending: int
    sending: int
    retrying: int
    failed: int


class RouteQueueOut(BaseModel):
    channel: str
    pending: int
    delivering: int


class QueuesOut(BaseModel):
    mail: MailQueueOut
    notification_routes: list[RouteQueueOut]
    runtime_jobs: dict[str, int]


class DeadLettersOut(BaseModel):
    notifications: int
    mail_failed: int


class SubscriberOut(BaseModel):
    gateway_id: str
    cursor: int
    lag: int


class PushOut(BaseModel):
    last_cursor: int
    oldest_cursor: int
    retained: int
    capacity: int
    subscribers: list[SubscriberOut]


class SchedulerOut(BaseModel):
    ticks_due: int
    lag_seconds: float


class RuntimeOut(BaseModel):
    driver: str
    records: dict[str, int]
    engines_running: int
    max_engines: int | None
    scheduler: SchedulerOut


class StatusOut(BaseModel):
    """The platform at a glance. Queue figures are counted up to `count_cap`; `database_ms`
    is how long this answer's statements took."""

    generated_at: datetime
    ready: bool
    reasons: list[str]
    components: list[ComponentOut]
    loops: list[LoopOut]
    caches: list[CacheOut]
    database_pool: PoolOut
    queues: QueuesOut
    dead_letters: DeadLettersOut
    push: PushOut
    runtime: RuntimeOut
    count_cap: int
    database_ms: float


class PlayerSessionOut(BaseModel):
    id: UUID
    device_name: str | None
    client_ip: str | None
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class PlayerSessionPage(BaseModel):
    items: list[PlayerSessionOut]
    next_cursor: str | None


class PlayerRaceNamePage(BaseModel):
    items: list[AdminRaceNameOut]
    next_cursor: str | None


class PlayerGameOut(BaseModel):
    id: UUID
    name: str
    status: str
    current_turn: int
    # owner, player (approved), or applicant (a live application).
    role: Role | None
    race_name: str | None
    created_at: datetime


class PlayerGamePage(BaseModel):
    items: list[PlayerGameOut]
    next_cursor: str | None


class RouteStateOut(BaseModel):
    channel: str
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class SentNotificationOut(BaseModel):
    id: UUID
    kind: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    routes: list[RouteStateOut]


class SentNotificationPage(BaseModel):
    items: list[SentNotificationOut]
    next_cursor: str | None


class EngineStateOut(BaseModel):
    """The runtime record of a game and its standing; `standing.engine_answered` says
    whether the engine itself answered (who has sent orders)."""

    record: RecordOut
    standing: GameStandingOut


class TurnPage(BaseModel):
    items: list[TurnOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    smtp_code: int | None
    error: str | None


class DeliveryDetailOut(DeliveryOut):
    attempts_made: list[AttemptOut]


class BroadcastSummaryOut(BaseModel):
    id: UUID
    kind: str
    title: str
    channels: list[str]
    created_by: str
    created_at: datetime
    recipients: int
    finished_at: datetime | None


class BroadcastPage(BaseModel):
    items: list[BroadcastSummaryOut]
    next_cursor: str | None
