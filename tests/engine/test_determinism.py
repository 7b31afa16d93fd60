"""Same seed and same orders give byte-identical reports; the bot is deterministic too."""

import json
from pathlib import Path

from galaxy_engine.bots import orders_for
from galaxy_engine.game import GameService

from .helpers import players


def play(data: Path, seed: int, turns: int) -> list[bytes]:
    service = GameService(data)
    service.open()
    service.init({"game_id": "d", "seed": seed, "settings": {}, "players": players(3)})
    out: list[bytes] = []
    for turn in range(1, turns + 1):
        for race in service.status()["players"]:
            if race["alive"]:
                pid = race["player_id"]
                report = json.loads(service.report(pid, turn - 1, "json"))
                service.submit_orders(pid, turn, orders_for(report))
        out.append(service.run_turn(turn))
        for race in service.status()["players"]:
            out.append(service.report(race["player_id"], turn, "json"))
            out.append(service.report(race["player_id"], turn, "text"))
    out.append(service.store.read(turns, "state.json"))
    service.close()
    return out


def test_same_seed_and_orders_give_byte_identical_reports(tmp_path: Path) -> None:
    first = play(tmp_path / "a", 99, 12)
    second = play(tmp_path / "b", 99, 12)
    assert first == second
    assert first != play(tmp_path / "c", 100, 12)


def test_the_bot_is_a_pure_function_of_its_report(tmp_path: Path) -> None:
    service = GameService(tmp_path / "g")
    service.open()
    service.init({"game_id": "d", "seed": 1, "settings": {}, "players": players(2)})
    report = json.loads(service.report("player-0", 0, "json"))
    assert orders_for(report) == orders_for(json.loads(json.dumps(report)))
    assert orders_for(report).startswith("; orders of the reference bot for Race0, turn 1")
    service.close()
