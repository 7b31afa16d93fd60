"""What the runtime refuses, each with its stable code (the edge maps the kind to a status).

A game nobody may see is the lobby's `GameNotFound`; an engine's own refusals keep the
code the engine gave (`engine_client.py`)."""

from galaxy_backend.kernel.errors import (
    BadGateway,
    Conflict,
    Forbidden,
    GatewayTimeout,
    NotFound,
    RateLimited,
    Unavailable,
)


class RuntimeNotFound(NotFound):
    code = "runtime_not_found"
    summary = "no runtime for this game"


class UnknownTurn(NotFound):
    code = "unknown_turn"
    summary = "there is no report for this turn (not run yet)"


class NotAPlayer(Forbidden):
    code = "not_a_player"
    summary = "you do not play in this (public) game"


class OwnerOnly(Conflict):
    code = "not_owner"
    summary = "only the game's owner may do this"


class WrongRuntimeStatus(Conflict):
    code = "wrong_status"
    summary = "the game's engine is in a status that does not allow this (`details.status`)"


class EngineNotRunning(Conflict):
    code = "engine_not_running"
    summary = "the game's engine is not running"


class GameFinished(Conflict):
    code = "game_finished"
    summary = "the game has finished"


class DefaultVersionTakenOut(Conflict):
    code = "default_engine_version"
    summary = "the default engine version stays offered: make another the default first"


class ForceTurnCooldown(RateLimited):
    code = "force_turn_cooldown"
    summary = "the game's owner forced a turn too recently; try again after Retry-After"


class RuntimeBusy(Unavailable):
    code = "runtime_busy"
    summary = "the runtime's job queue is full; try again shortly"


class EngineError(BadGateway):
    code = "engine_error"
    summary = "the game's engine failed"


class EngineUnreachable(BadGateway):
    code = "engine_unreachable"
    summary = "the game's engine cannot be reached"


class EngineTimeout(GatewayTimeout):
    code = "engine_timeout"
    summary = "the game's engine did not answer in time"
