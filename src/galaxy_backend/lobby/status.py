"""Game and application statuses, and the one table of transitions of each."""

from typing import Literal, get_args

from galaxy_backend.lobby.errors import WrongApplicationStatus, WrongStatus

GameStatus = Literal[
    "enrollment_open",
    "enrollment_closed",
    "starting",
    "running",
    "paused",
    "start_failed",
    "finished",
    "cancelled",
]
GAME_STATUSES: tuple[GameStatus, ...] = get_args(GameStatus)
ApplicationStatus = Literal[
    "pending", "approved", "rejected", "withdrawn", "removed", "left", "expired", "closed"
]

# docs/architecture.md: enrollment_open -> enrollment_closed -> starting -> running -> finished,
# plus start_failed, paused and cancelled. `starting -> enrollment_closed` is the runtime
# handing a start back (the owner may start again); `start_failed -> starting` a retry.
TRANSITIONS: dict[GameStatus, frozenset[GameStatus]] = {
    "enrollment_open": frozenset({"enrollment_closed", "cancelled"}),
    "enrollment_closed": frozenset({"starting", "cancelled"}),
    "starting": frozenset({"running", "start_failed", "enrollment_closed", "cancelled"}),
    "running": frozenset({"paused", "finished", "cancelled"}),
    "paused": frozenset({"running", "finished", "cancelled"}),
    "start_failed": frozenset({"starting", "cancelled"}),
    "finished": frozenset(),
    "cancelled": frozenset(),
}
TERMINAL: frozenset[GameStatus] = frozenset({"finished", "cancelled"})
# Statuses in which the game holds its players (and counts against their active limit).
LIVE: frozenset[GameStatus] = frozenset(s for s in GAME_STATUSES if s not in TERMINAL)
# Before the start: the game can still be edited (open only) and players may leave.
BEFORE_START: frozenset[GameStatus] = frozenset({"enrollment_open", "enrollment_closed"})


def wrong_status(current: GameStatus, action: str) -> WrongStatus:
    return WrongStatus(
        f"the game is {current.replace('_', ' ')}; cannot {action}",
        details={"status": current},
    )


def check_transition(current: GameStatus, target: GameStatus, action: str) -> None:
    """Raise 409 `wrong_status` (with the current status) unless current -> target is allowed."""
    if target not in TRANSITIONS[current]:
        raise wrong_status(current, action)


def check_path(current: GameStatus, path: tuple[GameStatus, ...], action: str) -> None:
    """Check a chain of transitions taken in one change (open -> closed -> starting)."""
    status = current
    for target in path:
        if target not in TRANSITIONS[status]:
            raise wrong_status(current, action)
        status = target


# Applications: a pending one is decided once; an approved player may leave or be removed
# before the start. Every other status is final.
APPLICATION_TRANSITIONS: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    "pending": frozenset({"approved", "rejected", "withdrawn", "expired", "closed"}),
    "approved": frozenset({"removed", "left"}),
    "rejected": frozenset(),
    "withdrawn": frozenset(),
    "removed": frozenset(),
    "left": frozenset(),
    "expired": frozenset(),
    "closed": frozenset(),
}


def wrong_application_status(current: ApplicationStatus, action: str) -> WrongApplicationStatus:
    return WrongApplicationStatus(
        f"the application is {current}; cannot {action}",
        details={"status": current},
    )


def check_application_transition(
    current: ApplicationStatus, target: ApplicationStatus, action: str
) -> None:
    """Raise 409 `wrong_application_status` unless current -> target is allowed."""
    if target not in APPLICATION_TRANSITIONS[current]:
        raise wrong_application_status(current, action)
