"""What the runtime keeps about a started game, and the jobs that act on its engine."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

# (The table's CHECK also allows 'stopping', which nothing writes: a stop is its job's.)
RecordStatus = Literal["starting", "running", "paused", "stopped", "finished", "failed", "removed"]
JobKind = Literal["start", "stop", "restart", "remove"]
JobStatus = Literal["queued", "running", "done", "failed"]
TurnTrigger = Literal["scheduled", "forced", "all_orders_in"]

# Statuses in which the engine should be running and answering.
LIVE: frozenset[str] = frozenset({"running", "paused"})


@dataclass(frozen=True, slots=True)
class EnginePlayer:
    player_id: UUID
    race_name: str


@dataclass(frozen=True, slots=True)
class RuntimeRecord:
    game_id: UUID
    game_name: str
    owner_id: UUID
    players: tuple[EnginePlayer, ...]
    seed: int
    settings: dict[str, Any]
    engine_version: str
    image: str
    driver: str
    handle: str | None
    address: str | None
    status: RecordStatus
    turn_schedule: str
    turn_time_zone: str
    run_when_all_orders_in: bool
    current_turn: int
    next_tick_at: datetime | None
    skip_next_tick: bool
    turn_requested: str | None
    health_failures: int
    restarts: int
    last_health_at: datetime | None
    last_error: str | None
    final_ranking: list[dict[str, Any]] | None
    winner: str | None
    reported_status: str | None
    # Waiting for a free engine slot (BACKEND_RUNTIME_MAX_ENGINES) since then.
    waiting_since: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    def has_player(self, user_id: UUID) -> bool:
        return any(p.player_id == user_id for p in self.players)

    def player_ids(self) -> list[UUID]:
        return [p.player_id for p in self.players]


@dataclass(frozen=True, slots=True)
class Job:
    id: UUID
    game_id: UUID
    kind: JobKind
    status: JobStatus
    attempts: int
    not_before: datetime
    reason: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class EngineVersion:
    version: str
    image: str
    is_default: bool
    # Offered for new games; a version taken out keeps running the games that use it.
    enabled: bool = True
