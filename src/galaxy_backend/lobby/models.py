"""The lobby as the rest of the backend sees it: games, players, applications, race names."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from galaxy_backend.lobby.status import ApplicationStatus, GameStatus

Visibility = Literal["public", "private"]
# What a player is to a game (none: a stranger).
Role = Literal["owner", "player", "applicant"]
RaceNameStatus = Literal["pending_registration", "reserved", "released"]


@dataclass(frozen=True, slots=True)
class Player:
    """An approved application: who plays, under which race name."""

    user_id: UUID
    application_id: UUID
    race_name: str
    approved_at: datetime


@dataclass(frozen=True, slots=True)
class RuntimeState:
    """What the runtime last reported about the game's engine."""

    status: str | None = None
    # A plain sentence for players; `detail` (what failed, where) is for operators only.
    message: str | None = None
    detail: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Game:
    id: UUID
    owner_id: UUID
    name: str
    description: str
    status: GameStatus
    visibility: Visibility
    invite_code: str | None
    min_players: int
    max_players: int
    approved_count: int
    enrollment_deadline: datetime
    turn_schedule: str
    turn_time_zone: str
    run_when_all_orders_in: bool
    engine_version: str
    settings: Mapping[str, Any]
    current_turn: int
    runtime: RuntimeState
    final_ranking: Sequence[Mapping[str, Any]] | None
    status_seq: int
    # Bumped by every change of the row or of its players: newer versions win in caches.
    version: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    players: tuple[Player, ...] = field(default=())

    @property
    def free_seats(self) -> int:
        return self.max_players - self.approved_count

    def is_player(self, user_id: UUID) -> bool:
        return any(p.user_id == user_id for p in self.players)

    @property
    def player_ids(self) -> list[UUID]:
        return [p.user_id for p in self.players]


@dataclass(frozen=True, slots=True)
class Application:
    id: UUID
    game_id: UUID
    user_id: UUID
    race_name: str
    status: ApplicationStatus
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class RaceName:
    """A Race Name Directory entry."""

    id: UUID
    name: str
    canonical: str
    skeleton: str
    status: RaceNameStatus
    user_id: UUID
    game_id: UUID
    application_id: UUID
    created_at: datetime
    reserved_at: datetime | None
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class GameStart:
    """What the runtime needs to start a game's engine."""

    game_id: UUID
    game_name: str
    owner_id: UUID
    engine_version: str
    settings: Mapping[str, Any]
    turn_schedule: str
    turn_time_zone: str
    run_when_all_orders_in: bool
    players: tuple[Player, ...]


@dataclass(frozen=True, slots=True)
class EngineOffer:
    """An engine version the runtime's registry offers for new games."""

    version: str
    default: bool


RuntimeOutcome = Literal[
    "started",
    "start_failed",
    "start_withdrawn",
    "paused",
    "stopped",
    "resumed",
    "finished",
    # Still starting: every engine slot of the platform is taken; it starts when one frees.
    "start_waiting",
]
