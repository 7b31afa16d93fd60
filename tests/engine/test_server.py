"""The engine as a real subprocess over HTTP: the contract of docs/engine.md."""

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from galaxy_engine.game import GameService

from .helpers import TOKEN, EngineProcess, eventually, players, running

INIT = {"game_id": "g-1", "seed": 21, "settings": {}, "players": players(3)}
ORDERS = "d Gun 2 1 2 1 0\nd Hauler 2 0 0 0 1\np 1 Gun\np 2 Hauler\n"


def test_health_auth_and_error_shapes(tmp_path: Path) -> None:
    with running(tmp_path / "data", tmp_path / "log") as engine:
        assert engine.json("GET", "/healthz", token=None) == (200, {"status": "ok"})
        assert engine.json("POST", "/healthz", {}, token=None)[0] == 405
        for token in (None, "wrong-token-wrong-token"):
            status, body = engine.json("GET", "/admin/status", token=token)
            assert (status, body["error"]["code"]) == (401, "unauthorized")
        status, body = engine.json("GET", "/admin/status")
        assert (status, body["error"]["code"]) == (409, "not_initialised")
        status, body = engine.json("PUT", "/players/x/orders", {"orders": ""})
        assert (status, body["error"]["code"]) == (409, "not_initialised")
        status, body = engine.json("POST", "/admin/init", raw=b'{"game_id": ')
        assert (status, body["error"]["code"]) == (400, "malformed_json")
        status, body = engine.json("POST", "/admin/init", raw=b"[" * 100_000)
        assert (status, body["error"]["code"]) == (400, "malformed_json")
        status, body = engine.json("POST", "/admin/init", raw=b"[1, 2]")
        assert (status, body["error"]["code"]) == (422, "validation_error")
        status, body = engine.json("POST", "/admin/init", raw=b" " * (1024 * 1024 + 1))
        assert (status, body["error"]["code"]) == (413, "payload_too_large")
        for length, status_code in (
            ("1_0", "400 "),
            ("+10", "400 "),
            ("9" * 5000, "413 "),
            ("0" * 30 + "10", "422 "),
        ):
            head = engine.raw(
                f"POST /admin/init HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Length: {length}\r\n\r\n" + '{"a": 1}  '
            )
            assert head.startswith("HTTP/1.1 " + status_code), (length, head)
        status, body = engine.json("GET", "/nowhere")
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, headers, data = engine.request("DELETE", "/admin/status")
        assert (status, headers["Allow"], json.loads(data)["error"]["code"]) == (
            405,
            "GET",
            "method_not_allowed",
        )
        status, _headers, data = engine.request("BREW", "/admin/status")
        assert (status, json.loads(data)["error"]["code"]) == (405, "method_not_allowed")
        bad = {**INIT, "settings": {"galaxy_size": "huge", "moons": 3}}
        status, body = engine.json("POST", "/admin/init", bad)
        assert (status, body["error"]["code"]) == (422, "invalid_settings")
        assert body["error"]["details"]["errors"] == [
            {"field": "settings.moons", "message": "unknown setting"},
            {"field": "settings.galaxy_size", "message": "must be a number"},
        ]
        status, body = engine.json("POST", "/admin/init", {**INIT, "players": players(1)})
        assert (status, body["error"]["code"]) == (422, "validation_error")
        same_names = [{"player_id": "a", "race_name": "X"}, {"player_id": "b", "race_name": "x"}]
        status, body = engine.json("POST", "/admin/init", {**INIT, "players": same_names})
        assert status == 422 and "duplicate" in json.dumps(body)
        status, body = engine.json("POST", "/admin/init", {**INIT, "players": players(45)})
        assert (status, body["error"]["code"]) == (422, "map_generation_failed")
        assert "Traceback" not in engine.log_text()
        assert TOKEN not in engine.log_text()


def test_orders_checked_without_being_kept_and_the_sent_ones_read_back(tmp_path: Path) -> None:
    with running(tmp_path / "data", tmp_path / "log") as engine:
        assert engine.json("POST", "/admin/init", INIT) == (200, {"turn": 0})
        assert engine.json("GET", "/players/player-0/orders") == (
            200,
            {"turn": 1, "orders": None, "errors": []},
        )
        status, checked = engine.json(
            "POST", "/players/player-0/orders/check", {"orders": ORDERS + "k nonsense\n"}
        )
        assert status == 200 and checked["accepted"] is False and checked["turn"] == 1
        assert [e["line"] for e in checked["errors"]] == [5]
        assert checked["forecast"]["ship_types"][0]["name"] == "Gun"
        # Only checked: nothing is kept, nobody counts as having sent orders.
        assert engine.json("GET", "/players/player-0/orders")[1]["orders"] is None
        state = engine.json("GET", "/admin/status")[1]
        assert [p["orders_submitted"] for p in state["players"]] == [False, False, False]
        sent = engine.json("PUT", "/players/player-0/orders", {"orders": ORDERS + "k x\n"})[1]
        assert engine.json("GET", "/players/player-0/orders") == (
            200,
            {"turn": 1, "orders": ORDERS + "k x\n", "errors": sent["errors"]},
        )
        status, body = engine.json("POST", "/players/player-0/orders/check", {"orders": 1})
        assert (status, body["error"]["code"]) == (422, "validation_error")
        status, body = engine.json("POST", "/players/nobody/orders/check", {"orders": ""})
        assert (status, body["error"]["code"]) == (404, "unknown_player")
        status, body = engine.json("GET", "/players/nobody/orders")
        assert (status, body["error"]["code"]) == (404, "unknown_player")
        status, body = engine.json(
            "POST", "/players/player-0/orders/check", {"turn": 3, "orders": ""}
        )
        assert (status, body["error"]["code"]) == (409, "wrong_turn")
        assert engine.json("GET", "/players/player-0/orders/check")[0] == 405
        assert engine.json("POST", "/admin/turn", {"turn": 1})[0] == 200
        # A new turn: nothing sent for it yet.
        assert engine.json("GET", "/players/player-0/orders")[1] == {
            "turn": 2,
            "orders": None,
            "errors": [],
        }


def test_init_orders_turns_and_reports(tmp_path: Path) -> None:
    with running(tmp_path / "data", tmp_path / "log") as engine:
        assert engine.json("POST", "/admin/init", INIT) == (200, {"turn": 0})
        assert engine.json("POST", "/admin/init", INIT) == (200, {"turn": 0})
        status, body = engine.json("POST", "/admin/init", {**INIT, "seed": 22})
        assert (status, body["error"]["code"]) == (409, "already_initialised")
        status, report = engine.json("GET", "/players/player-0/reports/0")
        assert status == 200 and report["turn"] == 0
        home = report["planets"][0]["number"]
        orders = ORDERS.replace("p 1", f"p #{home}") + "s 7\n"
        status, verdict = engine.json(
            "PUT", "/players/player-0/orders", {"turn": 1, "orders": orders}
        )
        assert status == 200 and verdict["accepted"] is False
        assert verdict["errors"][0]["line"] == 5
        assert verdict["forecast"]["groups"][0]["type"] == "Gun"
        status, verdict = engine.json(
            "PUT", "/players/player-0/orders", {"orders": orders.replace("s 7\n", "")}
        )
        assert (status, verdict["accepted"], verdict["errors"]) == (200, True, [])
        status, body = engine.json("PUT", "/players/player-0/orders", {"turn": 2, "orders": ""})
        assert (status, body["error"]["code"]) == (409, "wrong_turn")
        status, body = engine.json("PUT", "/players/nobody/orders", {"orders": ""})
        assert (status, body["error"]["code"]) == (404, "unknown_player")
        status, body = engine.json("PUT", "/players/player-0/orders", {"orders": 5})
        assert (status, body["error"]["code"]) == (422, "validation_error")
        status, state = engine.json("GET", "/admin/status")
        assert status == 200 and state["turn"] == 0 and state["finished"] is False
        assert [p["orders_submitted"] for p in state["players"]] == [True, False, False]
        assert set(state["players"][0]) == {
            "player_id",
            "race_name",
            "alive",
            "quit",
            "orders_submitted",
            "planets",
            "population",
            "industry",
            "production",
        }
        status, body = engine.json("POST", "/admin/turn", {"turn": 2})
        assert (status, body["error"]["code"]) == (409, "wrong_turn")
        assert body["error"]["details"] == {"current_turn": 0, "next_turn": 1}
        status, body = engine.json("POST", "/admin/turn", {"turn": "1"})
        assert status == 422
        status, headers, first = engine.request("POST", "/admin/turn", {"turn": 1})
        assert status == 200 and headers["Content-Type"] == "application/json"
        answer = json.loads(first)
        assert (answer["turn"], answer["finished"]) == (1, False)
        assert set(answer["summary"]) >= {"players", "eliminated", "battles", "winner", "ranking"}
        assert engine.request("POST", "/admin/turn", {"turn": 1})[2] == first
        status, body = engine.json("POST", "/admin/turn", {"turn": 0})
        assert (status, body["error"]["code"]) == (409, "wrong_turn")
        status, headers, text = engine.request("GET", "/players/player-0/reports/1?format=text")
        assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert b"Galaxy Game g-1 Turn 1 Report for Race0" in text
        status, report = engine.json("GET", "/players/player-0/reports/1?format=json")
        assert status == 200 and report["groups"][0]["type"] == "Gun"
        for path, code in (
            ("/players/player-0/reports/2", "unknown_turn"),
            ("/players/player-0/reports/x", "unknown_turn"),
            ("/players/player-0/reports/%C2%B2", "unknown_turn"),
            ("/players/player-0/reports/" + "9" * 5000, "unknown_turn"),
            ("/players/player%000/reports/1", "unknown_player"),
            ("/players/nobody/reports/1", "unknown_player"),
        ):
            status, body = engine.json("GET", path)
            assert (status, body["error"]["code"]) == (404, code)
        status, body = engine.json("GET", "/players/player-0/reports/1?format=xml")
        assert status == 422
        status, state = engine.json("GET", "/admin/status")
        assert state["turn"] == 1 and not any(p["orders_submitted"] for p in state["players"])


def test_game_end_eliminated_players_and_finished_games(tmp_path: Path) -> None:
    init = {**INIT, "settings": {"max_turns": 2, "drop_idle_races": True}}
    with running(tmp_path / "data", tmp_path / "log") as engine:
        engine.json("POST", "/admin/init", init)
        # A race that never sent orders is dropped at once (GalaxyNG's removeDeadPlayer).
        for player in ("player-0", "player-1"):
            engine.json("PUT", f"/players/{player}/orders", {"orders": ""})
        status, answer = engine.json("POST", "/admin/turn", {"turn": 1})
        assert answer["summary"]["eliminated"] == ["player-2"]
        status, body = engine.json("PUT", "/players/player-2/orders", {"orders": ""})
        assert (status, body["error"]["code"]) == (409, "player_eliminated")
        for player in ("player-0", "player-1"):
            engine.json("PUT", f"/players/{player}/orders", {"orders": ""})
        status, last = engine.request("POST", "/admin/turn", {"turn": 2})[0::2]
        answer = json.loads(last)
        assert answer["finished"] is True
        assert answer["summary"]["winner"] in ("player-0", "player-1")
        assert [r["player_id"] for r in answer["summary"]["ranking"]][-1] == "player-2"
        assert engine.request("POST", "/admin/turn", {"turn": 2})[2] == last
        for turn in (3, 1):
            status, body = engine.json("POST", "/admin/turn", {"turn": turn})
            assert (status, body["error"]["code"]) == (409, "game_finished")
        status, body = engine.json("PUT", "/players/player-0/orders", {"orders": ""})
        assert (status, body["error"]["code"]) == (409, "game_finished")
        status, state = engine.json("GET", "/admin/status")
        assert state["finished"] and state["winner"] == answer["summary"]["winner"]
        assert state["ranking"] == answer["summary"]["ranking"]
        report = engine.json("GET", "/players/player-0/reports/2")[1]
        assert report["finished"] and report["messages"][-1]["kind"] == "game_end"


def _reports(engine: EngineProcess, turns: int) -> list[bytes]:
    return [
        engine.request("GET", f"/players/player-{i}/reports/{t}{fmt}")[2]
        for t in range(turns + 1)
        for i in range(3)
        for fmt in ("", "?format=text")
    ]


def test_restart_mid_game_loses_nothing(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "log"
    engine = EngineProcess(data, log).start()
    try:
        engine.json("POST", "/admin/init", INIT)
        engine.json("PUT", "/players/player-0/orders", {"orders": ORDERS})
        engine.json("POST", "/admin/turn", {"turn": 1})
        engine.json("POST", "/admin/turn", {"turn": 2})
        engine.json("PUT", "/players/player-1/orders", {"orders": "p 14 MAT"})
        before = _reports(engine, 2)
        status_before = engine.json("GET", "/admin/status")[1]
    finally:
        assert engine.stop() == 0
    with running(data, log) as engine:
        assert engine.json("GET", "/admin/status")[1] == status_before
        assert _reports(engine, 2) == before
        assert engine.json("POST", "/admin/init", INIT) == (200, {"turn": 0})
        assert engine.json("POST", "/admin/turn", {"turn": 3})[0] == 200
        assert engine.json("GET", "/admin/status")[1]["turn"] == 3


def _reference(tmp_path: Path, orders: str) -> tuple[bytes, list[bytes]]:
    service = GameService(tmp_path / "reference")
    service.open()
    service.init(INIT)
    service.submit_orders("player-0", 1, orders)
    answer = service.run_turn(1)
    reports = [service.report(f"player-{i}", 1, fmt) for i in range(3) for fmt in ("json", "text")]
    service.close()
    return answer, reports


def _start_turn(engine: EngineProcess) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def call() -> None:
        try:
            result.append(engine.request("POST", "/admin/turn", {"turn": 1}, timeout=60))
        except OSError as error:
            result.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    eventually(
        lambda: "committing after a test delay" in engine.log_text(), what="turn in progress"
    )
    return thread, result


def test_kill_9_during_a_turn_runs_it_exactly_once(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "log"
    engine = EngineProcess(data, log, GALAXY_ENGINE_TEST_TURN_DELAY="60").start()
    try:
        engine.json("POST", "/admin/init", INIT)
        engine.json("PUT", "/players/player-0/orders", {"orders": ORDERS})
        thread, result = _start_turn(engine)
        engine.kill()
        thread.join(30)
        assert isinstance(result[0], OSError)
    finally:
        if engine.process is not None and engine.process.poll() is None:
            engine.kill()
    assert engine.process is not None and engine.process.returncode == -signal.SIGKILL
    assert (data / "turns" / "000001").exists()
    with running(data, log) as engine:
        assert not (data / "turns" / "000001").exists()
        state = engine.json("GET", "/admin/status")[1]
        assert state["turn"] == 0 and state["players"][0]["orders_submitted"] is True
        status, _headers, answer = engine.request("POST", "/admin/turn", {"turn": 1})
        assert status == 200
        assert engine.request("POST", "/admin/turn", {"turn": 1})[2] == answer
        reports = [
            engine.request("GET", f"/players/player-{i}/reports/1{fmt}")[2]
            for i in range(3)
            for fmt in ("", "?format=text")
        ]
        assert engine.json("GET", "/admin/status")[1]["turn"] == 1
    assert sorted(p.name for p in (data / "turns").iterdir()) == ["000000", "000001"]
    assert (answer, reports) == _reference(tmp_path, ORDERS)


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "log"
    engine = EngineProcess(data, log, GALAXY_ENGINE_TEST_TURN_DELAY="1").start()
    engine.json("POST", "/admin/init", INIT)
    thread, result = _start_turn(engine)
    assert engine.stop(signal.SIGTERM) == 0
    thread.join(30)
    status, _headers, body = result[0]
    assert status == 200 and json.loads(body)["turn"] == 1
    with running(data, log) as engine:
        assert engine.json("GET", "/admin/status")[1]["turn"] == 1


def test_one_engine_per_data_directory_and_the_default_bind(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "log"
    with running(data, log) as engine:
        second = EngineProcess(data, tmp_path / "log2")
        second.env["GALAXY_ENGINE_ADMIN_TOKEN"] = TOKEN
        with pytest.raises(AssertionError, match="in use by another engine process"):
            second.start()
        assert second.process is not None and second.process.wait(10) == 2
        assert engine.json("GET", "/healthz", token=None)[0] == 200
    with running(tmp_path / "other", tmp_path / "log3", host="") as engine:
        assert engine.json("GET", "/healthz", token=None) == (200, {"status": "ok"})


def test_old_turns_keep_their_reports_packed_and_drop_their_state(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "log"
    seen: list[bytes] = []
    answers: list[bytes] = []
    with running(data, log, GALAXY_ENGINE_KEEP_STATES="2") as engine:
        engine.json("POST", "/admin/init", INIT)
        engine.json("PUT", "/players/player-0/orders", {"orders": ORDERS})
        seen += _reports(engine, 0)
        for turn in range(1, 6):
            answers.append(engine.request("POST", "/admin/turn", {"turn": turn})[2])
            seen += _reports(engine, turn)[6 * turn :]
        assert _reports(engine, 5) == seen
        assert engine.request("POST", "/admin/turn", {"turn": 5})[2] == answers[-1]
        status = engine.json("GET", "/admin/status")[1]
    turns = {int(p.name): sorted(x.name for x in p.iterdir()) for p in (data / "turns").iterdir()}
    assert turns[0] == ["answer.json", "init.json", "packed.tar.xz"]
    assert all(turns[t] == ["answer.json", "packed.tar.xz"] for t in (1, 2, 3))
    assert sorted(p.name for p in (data / "orders").iterdir()) == []
    assert all(turns[t] == ["answer.json", "reports", "state.json"] for t in (4, 5))
    with running(data, log) as engine:
        assert engine.json("GET", "/admin/status")[1] == status
        assert _reports(engine, 5) == seen
        assert engine.json("POST", "/admin/turn", {"turn": 6})[0] == 200
    # The default keeps the last 3 full states.
    kept = sorted(p.parent.name for p in (data / "turns").glob("*/state.json"))
    assert kept == ["000004", "000005", "000006"]
    for bad in ("-1", "three"):
        done = EngineProcess(data, log, GALAXY_ENGINE_KEEP_STATES=bad)
        with pytest.raises(AssertionError, match="GALAXY_ENGINE_KEEP_STATES must be"):
            done.start()
