"""What the lobby refuses, each with its stable code (the edge maps the kind to a status)."""

from galaxy_backend.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound


class GameNotFound(NotFound):
    code = "game_not_found"
    summary = "no such game, or a private game the caller may not see"


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    summary = "no such application to this game"


class PlayerNotFound(NotFound):
    code = "player_not_found"
    summary = "no such player in this game"


class InviteNotFound(NotFound):
    code = "invite_not_found"
    summary = "no game has this invite code"


class RaceNameNotFound(NotFound):
    code = "race_name_not_found"
    summary = "no such race name"


class NotOwner(Forbidden):
    code = "not_owner"
    summary = "only the game's owner may do this"


class WrongStatus(Conflict):
    code = "wrong_status"
    summary = "the game's status does not allow this (`details.status` is the status)"


class WrongApplicationStatus(Conflict):
    code = "wrong_application_status"
    summary = "the application's status does not allow this (`details.status`)"


class GameFull(Conflict):
    code = "game_full"
    summary = "the game is full"


class AlreadyApplied(Conflict):
    code = "already_applied"
    summary = "you have applied to this game already"


class NotEnoughPlayers(Conflict):
    code = "not_enough_players"
    summary = "fewer players are approved than the game's minimum"


class NotPrivate(Conflict):
    code = "not_private"
    summary = "only a private game has an invite code"


class MaxBelowApproved(Conflict):
    code = "max_below_approved"
    summary = "more players are approved already than this maximum"


class OwnedGamesLimit(Conflict):
    code = "owned_games_limit"
    summary = "you own as many live games as you may"


class ActiveGamesLimit(Conflict):
    code = "active_games_limit"
    summary = "the player plays as many games as they may"


class RaceNameTaken(Conflict):
    code = "race_name_taken"
    summary = "this race name, or one that looks the same, is taken"


class RaceNameReleased(Conflict):
    code = "race_name_released"
    summary = "the race name is released already"


class InvalidRaceName(InvalidInput):
    code = "invalid_race_name"
    summary = "not a race name by the rules"


class InvalidTimeZone(InvalidInput):
    code = "invalid_time_zone"
    summary = "not an IANA time zone"


class InvalidSchedule(InvalidInput):
    code = "invalid_schedule"
    summary = "not a turn schedule (5-field cron or `@every <duration>`)"


class ScheduleTooFrequent(InvalidInput):
    code = "schedule_too_frequent"
    summary = "two turns of this schedule are closer than the minimum interval"


class InvalidPlayers(InvalidInput):
    code = "invalid_players"
    summary = "min_players is above max_players"


class TooManyPlayers(InvalidInput):
    code = "too_many_players"
    summary = "the engine's map holds fewer races with these settings"


class DeadlinePassed(InvalidInput):
    code = "deadline_passed"
    summary = "the enrollment deadline is in the past"


class UnknownEngineVersion(InvalidInput):
    code = "unknown_engine_version"
    summary = "no such engine version in the runtime's registry, or one taken out of it"


class InvalidSettings(InvalidInput):
    code = "invalid_settings"
    summary = "the engine does not accept these settings (`details.fields` names each)"
