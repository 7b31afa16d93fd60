"""Every kind of notification the platform sends, with the channels it uses by default.

A player may turn either channel of any kind on or off (their preferences); an email of
any kind carries a one-click unsubscribe for that kind. README lists the same table.
"""

from dataclasses import dataclass
from typing import Literal

Channel = Literal["push", "email"]
CHANNELS: tuple[Channel, ...] = ("push", "email")


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    description: str
    push: bool
    email: bool

    def channels(self) -> tuple[Channel, ...]:
        return tuple(c for c in CHANNELS if getattr(self, c))


ADMIN_MESSAGE = "admin.message"

KINDS: tuple[Kind, ...] = (
    Kind(ADMIN_MESSAGE, "A message from the operators", push=True, email=True),
    # Accounts (user service).
    Kind("account.blocked", "Your account was blocked", push=False, email=True),
    Kind("account.unblocked", "Your account was unblocked", push=True, email=True),
    Kind("account.entitlements_changed", "Your tier or game limits changed", push=True, email=True),
    # Lobby.
    Kind("lobby.application.received", "A player applied to your game", push=True, email=True),
    Kind("lobby.application.approved", "Your application was approved", push=True, email=True),
    Kind("lobby.application.rejected", "Your application was rejected", push=True, email=True),
    Kind("lobby.application.expired", "Your application expired", push=True, email=True),
    Kind(
        "lobby.application.closed",
        "Your pending application was closed (enrollment ended, the game was cancelled)",
        push=True,
        email=True,
    ),
    Kind("lobby.player.removed", "You were removed from a game", push=True, email=True),
    Kind("lobby.player.left", "A player left your game", push=True, email=False),
    Kind("lobby.game.status_changed", "A game you play changed status", push=True, email=True),
    Kind(
        "lobby.game.below_min_players",
        "Your game's enrollment ended below its minimum of players",
        push=True,
        email=True,
    ),
    # Runtime.
    Kind(
        "runtime.turn.ready",
        "A new turn ran: its summary, the way to your report (attached to the email)",
        push=True,
        email=True,
    ),
    Kind("runtime.game.finished", "A game you play has finished", push=True, email=True),
    Kind("runtime.game.start_failed", "Your game could not be started", push=True, email=True),
    Kind("runtime.game.engine_failed", "A game's engine failed for good", push=True, email=True),
)

BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}


def kind(name: str) -> Kind:
    """The kind called `name`; KeyError for one that is not in the catalogue."""
    return BY_NAME[name]
