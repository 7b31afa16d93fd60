"""The turn scheduler over real engines: its ticks resume across a backend's restart, two
backends never run one turn twice, and a turn is committed with its reports or not at all."""

from collections.abc import Awaitable, Callable
from dataclasses import replace
from uuid import UUID

from tests.runtime.engine_front import ReportRefuser
from tests.support import eventually
from tests.support.api import Api, bearer
from tests.support.lobby import Lobby
from tests.support.table import TABLE_ENV, StartTable, Table

StartApi = Callable[..., Awaitable[Api]]

# No reconciler round during the test: it would put the engine's own address back.
QUIET_RECONCILER = {"BACKEND_RUNTIME_RECONCILE_INTERVAL": "1h"}


async def another_backend(table: Table, start_api: StartApi) -> Table:
    """The same game seen through a second backend on the same database and host."""
    api = await start_api(**TABLE_ENV, BACKEND_RUNTIME_DRIVER="process")
    return replace(table, lobby=Lobby(api=api))


async def test_a_backend_restart_mid_game_resumes_jobs_and_the_schedule(
    start_table: StartTable, start_api: StartApi
) -> None:
    table = await start_table(turn_schedule="@every 2s", turn_time_zone="UTC")
    await table.wait_turn(1)
    first = table.api.backend
    # A job queued while no worker runs, then the backend stops before any takes it.
    await first.runtime_workers.stop()
    admin = bearer(await table.api.admin_token())
    restart = await table.lobby.client.post(
        f"/api/v1/admin/games/{table.game_id}/restart", headers=admin
    )
    assert restart.status_code == 202, restart.text
    turn_at_stop = (await table.record())["current_turn"]
    await first.app.stop()

    again = await another_backend(table, start_api)

    async def job_done() -> bool:
        rows = await again.lobby.sql(
            "SELECT status FROM runtime_jobs WHERE id = $1", UUID(restart.json()["id"])
        )
        return bool(rows[0]["status"] == "done")

    await eventually(job_done, timeout=60, message="the queued restart ran after the restart")
    await again.wait_turn(turn_at_stop + 2)
    turns = await again.turns()
    assert turns == list(range(1, len(turns) + 1)), "a turn ran twice or was skipped"
    # The restart counted, then the turns run since started the budget again.
    assert (await again.record())["restarts"] == 0


async def test_two_backends_never_run_a_turn_twice(
    start_table: StartTable, start_api: StartApi
) -> None:
    table = await start_table(turn_schedule="@every 1s", turn_time_zone="UTC")
    second = await another_backend(table, start_api)
    await second.wait_turn(6, timeout=60)
    paused = await second.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/pause", headers=table.owner.headers
    )
    assert paused.status_code == 200, paused.text
    schedulers = [table.api.backend.scheduler, second.api.backend.scheduler]
    await eventually(
        lambda: not any(s.in_flight for s in schedulers), timeout=30, message="ticks done"
    )
    turns = await second.turns()
    assert turns == list(range(1, len(turns) + 1))
    # Each turn's reports were kept once, every player's, with turn 0's from the start.
    kept = await second.lobby.sql(
        "SELECT turn, count(*) AS reports FROM runtime_reports WHERE game_id = $1"
        " GROUP BY turn ORDER BY turn",
        UUID(table.game_id),
    )
    assert [(r["turn"], r["reports"]) for r in kept] == [(t, 2) for t in [0, *turns]]
    # Each turn was asked of the engine once, by one backend or the other (the engine
    # answers a repeated turn number from its store, so only this count shows a repeat).
    assert sum(s.turns_requested for s in schedulers) == len(turns)
    # Both reconcilers ran, one round at a time; the engine agrees with the record.
    assert table.api.backend.reconciler.rounds + second.api.backend.reconciler.rounds > 0
    status = await second.status(table.players[0])
    assert status["turn"] == turns[-1]


async def test_a_turn_is_committed_with_its_reports_or_not_at_all(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC", env=QUIET_RECONCILER)
    record = await table.record()
    front = ReportRefuser(record["address"])
    address = await front.start()
    try:
        await table.lobby.sql(
            "UPDATE runtime_records SET address = $2 WHERE game_id = $1",
            UUID(table.game_id),
            address,
        )
        front.refusing = True
        await table.force_turn()

        async def failed() -> bool:
            return (await table.record())["last_error"] is not None

        await eventually(failed, timeout=30, interval=0.1, message="the turn failed")
        # The engine ran turn 1, but the backend committed nothing of it.
        assert front.refused > 0
        assert (await table.record())["current_turn"] == 0
        assert await table.turns() == []
        assert await table.kept_turns() == [(0, 2)]
        assert await table.lobby.notices("runtime.turn.ready") == []

        front.refusing = False
        await table.wait_turn(1, timeout=60)
        assert await table.turns() == [1]
        assert await table.kept_turns() == [(0, 2), (1, 2)]
        [notice] = await table.lobby.notices("runtime.turn.ready")
        assert notice.payload["turn"] == 1
        # Asked twice of the engine, which answers a repeated turn from its store.
        assert table.api.backend.scheduler.turns_requested == 2
        assert (await table.report(table.players[0], 1))["turn"] == 1
    finally:
        await front.stop()
