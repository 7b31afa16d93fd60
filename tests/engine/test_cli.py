"""The CLI: a whole game of three bots run from files, and the commands' exit codes."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from galaxy_engine.cli import main

from .helpers import TOKEN, cli_command, engine_env, players, running


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code, out = run(capsys, *args)
    return code, json.loads(out)


def test_three_bots_play_a_whole_game_to_its_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "game")
    (tmp_path / "players.json").write_text(json.dumps(players(3)))
    (tmp_path / "settings.json").write_text(json.dumps({"max_turns": 150}))
    code, answer = run_json(
        capsys,
        "new",
        "--data",
        data,
        "--seed",
        "3",
        "--players",
        str(tmp_path / "players.json"),
        "--settings",
        str(tmp_path / "settings.json"),
    )
    assert (code, answer) == (0, {"turn": 0})
    finished = False
    battles = 0
    while not finished:
        code, status = run_json(capsys, "status", "--data", data)
        for player in status["players"]:
            if player["alive"]:
                code, verdict = run_json(
                    capsys, "bot", "--data", data, "--player", player["player_id"]
                )
                assert code == 0 and verdict["accepted"], verdict
        code, answer = run_json(capsys, "run-turn", "--data", data, "--keep-states", "1")
        assert code == 0
        battles += answer["summary"]["battles"]
        finished = answer["finished"]
    summary = answer["summary"]
    assert summary["winner"] is not None and battles > 0
    # Won by conquest, not by the turn limit: one race left.
    assert answer["turn"] < 150
    assert [p["alive"] for p in summary["players"]].count(True) == 1
    assert [r["rank"] for r in summary["ranking"]] == [1, 2, 3]
    assert summary["ranking"][0]["player_id"] == summary["winner"]
    code, status = run_json(capsys, "status", "--data", data)
    assert status["finished"] and status["winner"] == summary["winner"]
    code, text = run(capsys, "report", "--data", data, "--player", "player-0")
    assert code == 0 and "The game is over" in text
    code, _ = run(capsys, "run-turn", "--data", data)
    assert code == 2
    # Only the last turn kept its state; every turn's reports are still there, packed.
    states = sorted(p.parent.name for p in (tmp_path / "game" / "turns").glob("*/state.json"))
    assert states == [f"{answer['turn']:06d}"]
    code, text = run(capsys, "report", "--data", data, "--player", "player-2", "--turn", "1")
    assert code == 0 and "Turn 1 Report for Race2" in text
    assert run(capsys, "status", "--data", data, "--keep-states", "many")[0] == 2


def test_orders_from_a_file_and_reports_in_both_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "game")
    (tmp_path / "players.json").write_text(json.dumps({"players": players(2)}))
    assert (
        run(
            capsys,
            "new",
            "--data",
            data,
            "--seed",
            "1",
            "--players",
            str(tmp_path / "players.json"),
        )[0]
        == 0
    )
    orders = tmp_path / "orders.txt"
    orders.write_text("#GALAXY local Race0 x 1\nd Gun 1 1 1 1 0\np 1 Gun\nq\n#END\n")
    code, verdict = run_json(capsys, "orders", "--data", data, "--player", "player-0", str(orders))
    assert code == 1 and not verdict["accepted"]
    assert verdict["errors"] == [{"line": 4, "order": "q", "message": "No race name given."}]
    code, answer = run_json(capsys, "run-turn", "--data", data)
    assert code == 0 and answer["turn"] == 1
    code, report = run_json(
        capsys, "report", "--data", data, "--player", "player-0", "--turn", "1", "--format", "json"
    )
    assert code == 0 and report["turn"] == 1 and report["ship_types"][0]["name"] == "Gun"
    code, text = run(capsys, "report", "--data", data, "--player", "player-0", "--turn", "1")
    assert "Galaxy Game local Turn 1 Report for Race0" in text
    assert run(capsys, "report", "--data", data, "--player", "nobody", "--turn", "1")[0] == 2
    assert run(capsys, "report", "--data", data, "--player", "player-0", "--turn", "9")[0] == 2


def test_refusals_exit_with_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "game")
    assert run(capsys, "status", "--data", data)[0] == 2
    assert (
        run(
            capsys,
            "new",
            "--data",
            data,
            "--seed",
            "1",
            "--players",
            str(tmp_path / "missing.json"),
        )[0]
        == 2
    )
    (tmp_path / "one.json").write_text(json.dumps(players(1)))
    assert (
        run(capsys, "new", "--data", data, "--seed", "1", "--players", str(tmp_path / "one.json"))[
            0
        ]
        == 2
    )
    code, schema = run_json(capsys, "settings")
    assert code == 0 and "galaxy_size" in schema["properties"]


def test_the_console_entry_point_runs_as_a_module(tmp_path: Path) -> None:
    (tmp_path / "players.json").write_text(json.dumps(players(2)))
    command = cli_command(
        "new",
        "--data",
        str(tmp_path / "g"),
        "--seed",
        "4",
        "--players",
        str(tmp_path / "players.json"),
    )
    done = subprocess.run(command, env=engine_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"turn": 0}
    done = subprocess.run(
        cli_command("serve", "--data", str(tmp_path / "g"), "--port", "0"),
        env=engine_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 2
    assert "GALAXY_ENGINE_ADMIN_TOKEN" in done.stderr


def test_serve_reads_its_token_from_the_file_it_is_told_of(tmp_path: Path) -> None:
    # How containers get it: a file in their volume, not a variable `docker inspect` shows.
    token_file = tmp_path / "admin-token"
    token_file.write_text("token-from-a-file-0123456789\n")
    with running(
        tmp_path / "g", tmp_path / "log", GALAXY_ENGINE_ADMIN_TOKEN_FILE=str(token_file)
    ) as engine:
        status, _, _ = engine.request("GET", "/admin/status", token="token-from-a-file-0123456789")
        assert status != 401
        status, _, _ = engine.request("GET", "/admin/status", token=TOKEN)
        assert status == 401
    missing = subprocess.run(
        cli_command("serve", "--data", str(tmp_path / "g"), "--port", "0"),
        env=engine_env(GALAXY_ENGINE_ADMIN_TOKEN_FILE=str(tmp_path / "nowhere")),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert missing.returncode == 2
    assert "GALAXY_ENGINE_ADMIN_TOKEN_FILE" in missing.stderr
