"""A game survives its engine's kill -9 (within a restart budget), and a start that keeps
failing ends visibly. (The schedule across a backend's restart and a second backend:
tests/runtime/test_scheduler.py.)"""

import json
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID

from tests.support import eventually
from tests.support.api import Api
from tests.support.lobby import Lobby
from tests.support.table import TABLE_ENV, StartTable

StartApi = Callable[..., Awaitable[Api]]


async def test_an_engine_killed_with_sigkill_is_restarted_from_its_volume(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    forced = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/force-next-turn", headers=table.owner.headers
    )
    assert forced.status_code == 202
    await table.wait_turn(1)
    report = await table.report(table.players[0], 1)
    state = Path(table.api.backend.config.data_dir) / "runtime" / table.game_id / "state.json"
    pid = json.loads(state.read_text())["pid"]
    os.kill(pid, signal.SIGKILL)

    async def restarted() -> bool:
        record = await table.record()
        return bool(record["restarts"] == 1 and record["status"] == "running")

    await eventually(restarted, timeout=60, interval=0.2, message="restarted by the health check")
    # Nothing of the game is lost: the same turn, the same report.
    assert (await table.record())["current_turn"] == 1
    assert await table.report(table.players[0], 1) == report
    assert (await table.status(table.players[0]))["turn"] == 1
    # A turn run since the restart starts its budget again: restarts spread over a long
    # game (reboots, `galaxy-backend engines stop`) never add up to a failure.
    forced = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/force-next-turn", headers=table.owner.headers
    )
    assert forced.status_code == 202, forced.text
    await table.wait_turn(2)
    assert (await table.record())["restarts"] == 0


async def test_an_engine_past_its_restart_budget_is_failed_and_its_players_told(
    start_table: StartTable,
) -> None:
    table = await start_table(
        turn_schedule="@every 1h",
        turn_time_zone="UTC",
        env={"BACKEND_RUNTIME_RESTART_BUDGET": "0"},
    )
    state = Path(table.api.backend.config.data_dir) / "runtime" / table.game_id / "state.json"
    os.kill(json.loads(state.read_text())["pid"], signal.SIGKILL)

    async def failed() -> bool:
        return bool((await table.record())["status"] == "failed")

    await eventually(failed, timeout=60, interval=0.2, message="failed by the health check")
    record = await table.record()
    assert record["restarts"] == 0
    assert record["last_error"] == "the engine kept failing its health checks"
    await table.wait_status("paused")
    [notice] = await table.lobby.notices("runtime.game.engine_failed")
    assert set(notice.user_ids) == {UUID(p.user_id) for p in table.players}
    assert await table.lobby.runtime_jobs("restart") == []


async def test_a_start_that_keeps_failing_is_tried_three_times_then_start_failed(
    start_api: StartApi,
) -> None:
    api = await start_api(**TABLE_ENV, BACKEND_RUNTIME_DRIVER="process")
    # Where the process driver keeps its engines is a file: each create fails (transiently).
    runtime_dir = Path(api.backend.config.data_dir) / "runtime"
    runtime_dir.write_text("not a directory")
    try:
        lobby = Lobby(api=api)
        owner, *seated = await lobby.players(3)
        created = await lobby.create(owner, turn_schedule="@every 1h", turn_time_zone="UTC")
        for n, player in enumerate(seated):
            await lobby.enrol(owner, created["id"], player, f"Race {chr(65 + n)}{n}x")
        started = await lobby.client.post(
            f"/api/v1/user/games/{created['id']}/start", headers=owner.headers
        )
        assert started.status_code == 202, started.text

        async def start_failed() -> bool:
            return (await lobby.game(owner, created["id"]))["status"] == "start_failed"

        await eventually(start_failed, timeout=60, interval=0.2, message="start_failed")
        jobs = await lobby.sql(
            "SELECT kind, status, attempts, last_error FROM runtime_jobs WHERE game_id = $1",
            UUID(created["id"]),
        )
        assert [(j["kind"], j["status"], j["attempts"]) for j in jobs] == [("start", "failed", 3)]
        assert "Not a directory" in jobs[0]["last_error"]
        record = await lobby.runtime_record(created["id"])
        assert record["status"] == "failed"
        assert record["last_error"] == jobs[0]["last_error"]
        # Players read a plain sentence, on the game's page and in the notice; what failed,
        # with its paths, is for operators.
        error = str(jobs[0]["last_error"])
        stranger = await lobby.player("stranger")
        for viewer in (owner, seated[0], stranger):
            runtime = (await lobby.game(viewer, created["id"]))["runtime"]
            assert runtime["message"].startswith("The game's engine could not be started")
            assert runtime["detail"] is None
            assert str(runtime_dir) not in str(runtime)
        [notice] = [
            n
            for n in await lobby.notices("lobby.game.status_changed")
            if n.payload["status"] == "start_failed"
        ]
        assert str(runtime_dir) not in f"{notice.body} {notice.payload}"
        admin = await lobby.client.get(
            f"/api/v1/admin/games/{created['id']}", headers=await lobby.admin_headers()
        )
        assert admin.json()["runtime"]["detail"] == error
    finally:
        runtime_dir.unlink()
