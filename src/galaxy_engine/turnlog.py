"""What happened during one turn: the raw material of that turn's reports and summary."""

from dataclasses import dataclass, field
from typing import Any

from galaxy_engine.orders import Issue


@dataclass(slots=True)
class BattleRecord:
    planet: int
    phase: int
    participants: list[int]
    groups: dict[int, list[dict[str, Any]]]
    shots: int = 0
    kills: int = 0
    losses: dict[int, int] = field(default_factory=dict)
    protocol: list[tuple[int, str, int, str, bool]] = field(default_factory=list)


@dataclass(slots=True)
class BombingRecord:
    planet: int
    name: str
    bomber: int
    old_owner: int
    new_owner: int | None
    pop: float
    ind: float
    product: str
    cap: float
    mat: float
    col: float
    viewers: list[int]


@dataclass(slots=True)
class TurnLog:
    turn: int
    messages: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    global_messages: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[int, list[Issue]] = field(default_factory=dict)
    warnings: dict[int, list[Issue]] = field(default_factory=dict)
    received: dict[int, list[str]] = field(default_factory=dict)
    claims: dict[int, list[int]] = field(default_factory=dict)
    battles: list[BattleRecord] = field(default_factory=list)
    bombings: list[BombingRecord] = field(default_factory=list)
    eliminated: list[int] = field(default_factory=list)

    def tell(self, race: int, kind: str, text: str, **extra: Any) -> None:
        self.messages.setdefault(race, []).append({"kind": kind, "text": text, **extra})

    def announce(self, kind: str, text: str, **extra: Any) -> None:
        self.global_messages.append({"kind": kind, "text": text, **extra})
