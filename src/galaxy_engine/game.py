"""The game service: init, orders, turns, status and reports over a data directory.

The HTTP server and the CLI both drive a game through this one class; neither holds
rules of its own. It is not thread-safe: the server serialises calls with one lock
(report reads excepted, which only touch committed, immutable files).
"""

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from galaxy_engine import report_json, report_text
from galaxy_engine.economy import effective_industry
from galaxy_engine.mapgen import MapGenerationError, generate_planets, new_race, turn_random
from galaxy_engine.model import (
    RACE_NAME_MAX,
    Game,
    Race,
    copy_game,
    game_from_dict,
    game_to_dict,
    normalise_name,
)
from galaxy_engine.orders import Issue, parse_orders
from galaxy_engine.settings import SettingsError, validate_settings
from galaxy_engine.store import DEFAULT_KEEP_STATES, REPORTS, Store
from galaxy_engine.turn import (
    Submitted,
    Totals,
    forecast_turn,
    run_turn,
    standings,
    totals_by_race,
)
from galaxy_engine.turnlog import TurnLog
from galaxy_engine.version import ENGINE_VERSION

LOG = logging.getLogger("galaxy_engine.game")
MAX_PLAYERS = 100
ID_MAX = 128


class EngineError(Exception):
    """A request the game refuses; `code` is stable, `status` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(EngineError):
    status = 422
    code = "validation_error"

    def __init__(self, errors: list[dict[str, str]], message: str = "invalid request") -> None:
        super().__init__(message, {"errors": errors})


class InvalidSettings(InvalidRequest):
    code = "invalid_settings"


class MapTooSmall(EngineError):
    status = 422
    code = "map_generation_failed"


class NotInitialised(EngineError):
    status = 409
    code = "not_initialised"


class AlreadyInitialised(EngineError):
    status = 409
    code = "already_initialised"


class WrongTurn(EngineError):
    status = 409
    code = "wrong_turn"


class GameFinished(EngineError):
    status = 409
    code = "game_finished"


class PlayerEliminated(EngineError):
    status = 409
    code = "player_eliminated"


class PlayerQuit(EngineError):
    status = 409
    code = "player_quit"


class UnknownPlayer(EngineError):
    status = 404
    code = "unknown_player"


class UnknownTurn(EngineError):
    status = 404
    code = "unknown_turn"


def _identifier(value: object, field: str, errors: list[dict[str, str]], limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.append({"field": field, "message": "must be a non-empty string"})
        return ""
    if len(value) > limit or not value.isprintable():
        errors.append({"field": field, "message": f"must be at most {limit} printable characters"})
    return value


def canonical_init(body: Mapping[str, Any]) -> dict[str, Any]:
    """The init request checked and normalised (settings complete), or InvalidRequest."""
    errors: list[dict[str, str]] = []
    game_id = _identifier(body.get("game_id"), "game_id", errors, ID_MAX)
    seed = body.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**63:
        errors.append({"field": "seed", "message": "must be a 64-bit integer"})
    raw_settings = body.get("settings", {})
    settings: dict[str, object] = {}
    if raw_settings is None:
        raw_settings = {}
    if not isinstance(raw_settings, Mapping):
        errors.append({"field": "settings", "message": "must be an object"})
    else:
        try:
            settings = validate_settings(raw_settings)
        except SettingsError as problem:
            errors.extend(
                {"field": f"settings.{e['field']}", "message": e["message"]} for e in problem.errors
            )
    players = body.get("players")
    clean: list[dict[str, str]] = []
    if not isinstance(players, list) or not 2 <= len(players) <= MAX_PLAYERS:
        errors.append(
            {"field": "players", "message": f"must be a list of 2 to {MAX_PLAYERS} players"}
        )
    else:
        ids: set[str] = set()
        names: set[str] = set()
        for i, player in enumerate(players):
            if not isinstance(player, Mapping):
                errors.append({"field": f"players[{i}]", "message": "must be an object"})
                continue
            pid = _identifier(player.get("player_id"), f"players[{i}].player_id", errors, ID_MAX)
            if "/" in pid:
                errors.append(
                    {"field": f"players[{i}].player_id", "message": "must not contain '/'"}
                )
            name = _identifier(
                player.get("race_name"), f"players[{i}].race_name", errors, RACE_NAME_MAX
            )
            name = name.strip()
            if pid in ids:
                errors.append({"field": f"players[{i}].player_id", "message": "duplicate"})
            if name and normalise_name(name) in names:
                errors.append({"field": f"players[{i}].race_name", "message": "duplicate"})
            ids.add(pid)
            names.add(normalise_name(name))
            clean.append({"player_id": pid, "race_name": name})
    if errors:
        settings_only = all(e["field"].startswith("settings") for e in errors)
        if settings_only:
            raise InvalidSettings(errors, "invalid settings")
        raise InvalidRequest(errors)
    return {"game_id": game_id, "seed": seed, "settings": settings, "players": clean}


def _production(totals: Totals, race: Race) -> float:
    pop, ind, _count = totals[race.index]
    return round(effective_industry(pop, ind), 2)


def _player_row(race: Race, totals: Totals, **extra: Any) -> dict[str, Any]:
    """A race's line in the turn summary and the status (`extra` goes after "quit")."""
    pop, ind, count = totals[race.index]
    return {
        "player_id": race.player_id,
        "race_name": race.name,
        "alive": race.alive,
        "quit": race.quit,
        **extra,
        "planets": count,
        "population": round(pop, 2),
        "industry": round(ind, 2),
        "production": _production(totals, race),
    }


def _winner(game: Game) -> str | None:
    return game.races[game.winner].player_id if game.winner is not None else None


def _ranking(game: Game, totals: Totals) -> list[dict[str, Any]]:
    return [
        {
            "rank": rank,
            "player_id": race.player_id,
            "race_name": race.name,
            "alive": race.alive,
            "production": _production(totals, race),
        }
        for rank, race in enumerate(standings(game, totals), start=1)
    ]


class GameService:
    def __init__(
        self,
        data_dir: Path,
        *,
        turn_delay: float = 0.0,
        keep_states: int = DEFAULT_KEEP_STATES,
    ) -> None:
        self.store = Store(data_dir, keep_states)
        self.turn_delay = turn_delay
        self.game: Game | None = None
        self._init: dict[str, Any] | None = None
        self._players: dict[str, int] = {}
        self._submitted: set[int] = set()

    # --- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        current = self.store.open()
        if current is None:
            return
        self.game = game_from_dict(json.loads(self.store.read(current, "state.json")))
        self._init = json.loads(self.store.read(0, "init.json"))
        self._players = {race.player_id: race.index for race in self.game.races}
        self._submitted = self.store.orders_present(current + 1)
        LOG.info("game %s loaded at turn %d", self.game.game_id, current)

    def close(self) -> None:
        self.store.close()

    def _game(self) -> Game:
        if self.game is None:
            raise NotInitialised("the game is not initialised; POST /admin/init first")
        return self.game

    def _race_index(self, player_id: str) -> int:
        self._game()
        index = self._players.get(player_id)
        if index is None:
            raise UnknownPlayer(f"no player {player_id!r} in this game")
        return index

    # --- init ----------------------------------------------------------------------------

    def init(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create the galaxy and turn 0; the same request again gives the same answer."""
        request = canonical_init(body)
        if self.game is not None:
            if request == self._init:
                return {"turn": 0}
            raise AlreadyInitialised("the game is already initialised with another request")
        settings = request["settings"]
        players = request["players"]
        try:
            planets = generate_planets(settings, len(players), request["seed"])
        except MapGenerationError as problem:
            raise MapTooSmall(str(problem)) from problem
        races = [
            new_race(i, p["player_id"], p["race_name"], settings) for i, p in enumerate(players)
        ]
        if settings["peace_turns"]:
            for race in races:
                race.allies = [other.index for other in races if other.index != race.index]
        game = Game(
            game_id=request["game_id"],
            seed=request["seed"],
            settings=settings,
            size=float(settings["galaxy_size"]),
            planets=planets,
            races=races,
        )
        files = self._turn_files(game, TurnLog(turn=0), {"turn": 0})
        files["init.json"] = report_json.dumps(request)
        self.store.commit_turn(0, files)
        self.game = game
        self._init = request
        self._players = {race.player_id: race.index for race in game.races}
        self._submitted = set()
        LOG.info("game %s initialised with %d races", game.game_id, len(races))
        return {"turn": 0}

    # --- turns ---------------------------------------------------------------------------

    def _turn_files(self, game: Game, log: TurnLog, answer: dict[str, Any]) -> dict[str, bytes]:
        files = {
            "state.json": report_json.dumps(game_to_dict(game)),
            "answer.json": report_json.dumps(answer),
        }
        sight = report_json.Sight(game)
        for race in game.races:
            report = report_json.build_report(game, sight, log, race)
            files[f"{REPORTS}/{race.index:03d}.json"] = report_json.dumps(report)
            files[f"{REPORTS}/{race.index:03d}.txt"] = report_text.render(report).encode()
        return files

    def _summary(self, game: Game, log: TurnLog) -> dict[str, Any]:
        totals = totals_by_race(game)
        return {
            "players": [_player_row(race, totals) for race in game.races],
            "eliminated": [game.races[i].player_id for i in log.eliminated],
            "battles": len(log.battles),
            "bombings": len(log.bombings),
            "winner": _winner(game),
            "ranking": _ranking(game, totals),
        }

    def _orders_for(self, game: Game, turn: int) -> dict[int, Submitted]:
        orders = {}
        for race in game.races:
            data = self.store.read_orders(turn, race.index)
            if data is None or not race.alive or race.quit:
                continue
            record = json.loads(data)
            errors = tuple(Issue(e["line"], e["order"], e["message"]) for e in record["errors"])
            orders[race.index] = Submitted(record["text"], errors)
        return orders

    def run_turn(self, turn: int) -> bytes:
        """Run turn `turn` if it is the next one; the stored answer if it already ran."""
        game = self._game()
        if turn == game.turn and turn >= 1:
            return self.store.read(turn, "answer.json")
        if game.finished:
            raise GameFinished(
                f"the game finished at turn {game.turn}", {"current_turn": game.turn}
            )
        if turn != game.turn + 1:
            raise WrongTurn(
                f"turn {turn} cannot run now; the next turn is {game.turn + 1}",
                {"current_turn": game.turn, "next_turn": game.turn + 1},
            )
        started = time.perf_counter()
        new = copy_game(game)
        log = run_turn(new, self._orders_for(new, turn), turn_random(new.seed, turn))
        answer = {"turn": turn, "finished": new.finished, "summary": self._summary(new, log)}
        files = self._turn_files(new, log, answer)
        computed = time.perf_counter()
        self.store.commit_turn(turn, files, self.turn_delay)
        self.game = new
        self._submitted = set()
        LOG.info(
            "turn %d ran in %.0f ms (written in %.0f ms)%s",
            turn,
            (computed - started) * 1000,
            (time.perf_counter() - computed) * 1000,
            "; the game is over" if new.finished else "",
        )
        return files["answer.json"]

    # --- orders --------------------------------------------------------------------------

    def submit_orders(self, player_id: str, turn: int | None, text: str) -> dict[str, Any]:
        """Check orders line by line, keep them for the next turn, forecast the result."""
        index, verdict = self._verdict(player_id, turn, text)
        record = {"turn": verdict["turn"], "text": text, "errors": verdict["errors"]}
        self.store.write_orders(verdict["turn"], index, report_json.dumps(record))
        self._submitted.add(index)
        return verdict

    def check_orders(self, player_id: str, turn: int | None, text: str) -> dict[str, Any]:
        """The verdict `submit_orders` would give, without keeping the orders."""
        return self._verdict(player_id, turn, text)[1]

    def sent_orders(self, player_id: str) -> dict[str, Any]:
        """The orders kept for the next turn (null when none were sent) and their errors."""
        index = self._race_index(player_id)
        next_turn = self._game().turn + 1
        data = self.store.read_orders(next_turn, index)
        if data is None:
            return {"turn": next_turn, "orders": None, "errors": []}
        record = json.loads(data)
        return {"turn": next_turn, "orders": record["text"], "errors": record["errors"]}

    def _verdict(self, player_id: str, turn: int | None, text: str) -> tuple[int, dict[str, Any]]:
        index = self._race_index(player_id)
        game = self._game()
        if game.finished:
            raise GameFinished(f"the game finished at turn {game.turn}")
        if not game.races[index].alive:
            raise PlayerEliminated(f"{game.races[index].name} is no longer in the game")
        if game.races[index].quit:
            raise PlayerQuit(f"{game.races[index].name} has quit the game")
        next_turn = game.turn + 1
        if turn is not None and turn != next_turn:
            raise WrongTurn(
                f"orders can only be given for turn {next_turn}",
                {"current_turn": game.turn, "next_turn": next_turn},
            )
        copy = copy_game(game)
        race = copy.races[index]
        outcome = forecast_turn(copy, race, parse_orders(text))
        errors = [issue.as_dict() for issue in outcome.errors]
        return index, {
            "accepted": not errors,
            "turn": next_turn,
            "errors": errors,
            "warnings": [issue.as_dict() for issue in outcome.warnings],
            "forecast": report_json.build_forecast(copy, race),
        }

    # --- reading -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        game = self._game()
        totals = totals_by_race(game)
        players = [
            _player_row(race, totals, orders_submitted=race.index in self._submitted)
            for race in game.races
        ]
        return {
            "game_id": game.game_id,
            "turn": game.turn,
            "finished": game.finished,
            "winner": _winner(game),
            "ranking": _ranking(game, totals),
            "players": players,
            "engine_version": ENGINE_VERSION,
        }

    def report(self, player_id: str, turn: int, fmt: str) -> bytes:
        """A stored report; safe without the service lock (committed turns never change)."""
        index = self._race_index(player_id)
        # self.game is replaced only once a turn is committed: its turn is the last one.
        if not 0 <= turn <= self._game().turn:
            raise UnknownTurn(f"there is no report for turn {turn}")
        suffix = "txt" if fmt == "text" else "json"
        return self.store.read_report(turn, f"{index:03d}.{suffix}")
