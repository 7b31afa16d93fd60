"""What the runtime reports back (OnRuntimeJobResult), and the runtime asked to stop."""

from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest

from galaxy_backend.kernel.errors import Conflict
from tests.support import eventually
from tests.support.api import Api
from tests.support.lobby import LOBBY_ENV, Lobby


async def started_game(lobby: Lobby) -> tuple[UUID, str]:
    owner, a, b = await lobby.players(3)
    game = await lobby.create(owner)
    await lobby.enrol(owner, game["id"], a, f"Runners {a.user_id[:4]}")
    await lobby.enrol(owner, game["id"], b, f"Walkers {b.user_id[:4]}")
    response = await lobby.client.post(
        f"/api/v1/user/games/{game['id']}/start", headers=owner.headers
    )
    assert response.status_code == 202
    return UUID(game["id"]), owner.token


async def test_a_failed_start_is_retried_by_the_owner(lobby: Lobby) -> None:
    game_id, token = await started_game(lobby)
    service = lobby.api.backend.lobby
    failed = await service.on_runtime_job_result(game_id, "start_failed", message="no image")
    assert failed.status == "start_failed"
    assert failed.runtime.status == "start_failed"
    assert failed.runtime.message == "no image"
    retry = await lobby.client.post(
        f"/api/v1/user/games/{game_id}/start", headers={"Authorization": f"Bearer {token}"}
    )
    assert retry.status_code == 202, retry.text
    assert len(await lobby.runtime_jobs("start")) == 2
    running = await service.on_runtime_job_result(game_id, "started")
    assert running.status == "running"
    statuses = [n.payload["status"] for n in (await lobby.notices("lobby.game.status_changed"))]
    assert statuses == ["starting", "start_failed", "starting", "running"]
    # Every status change has its own idempotency key.
    keys = [n.key for n in (await lobby.notices("lobby.game.status_changed"))]
    assert len(set(keys)) == 4


async def test_a_withdrawn_start_goes_back_and_can_start_again(lobby: Lobby) -> None:
    game_id, token = await started_game(lobby)
    service = lobby.api.backend.lobby
    back = await service.on_runtime_job_result(game_id, "start_withdrawn")
    assert back.status == "enrollment_closed"
    retry = await lobby.client.post(
        f"/api/v1/user/games/{game_id}/start", headers={"Authorization": f"Bearer {token}"}
    )
    assert retry.json()["status"] == "starting"


async def test_pause_resume_and_refused_reports(lobby: Lobby) -> None:
    game_id, _ = await started_game(lobby)
    service = lobby.api.backend.lobby
    with pytest.raises(Conflict) as refused:
        await service.on_runtime_job_result(game_id, "paused")
    assert refused.value.details == {"status": "starting"}
    await service.on_runtime_job_result(game_id, "started", turn=1)
    paused = await service.on_runtime_job_result(game_id, "paused", message="engine lost")
    assert paused.status == "paused"
    resumed = await service.on_runtime_job_result(game_id, "resumed", turn=3)
    assert resumed.status == "running"
    assert resumed.current_turn == 3
    with pytest.raises(Conflict):
        await service.on_runtime_job_result(game_id, "start_failed")


async def test_cancelling_a_running_game_stops_its_engine(lobby: Lobby) -> None:
    game_id, _ = await started_game(lobby)
    await lobby.api.backend.lobby.on_runtime_job_result(game_id, "started")
    admin = await lobby.admin_headers()
    cancelled = await lobby.client.post(
        f"/api/v1/admin/games/{game_id}/cancel", json={"reason": "cheating"}, headers=admin
    )
    assert cancelled.status_code == 200
    stops = await lobby.runtime_jobs("stop")
    assert [(j["game_id"], j["reason"]) for j in stops] == [(game_id, "cancelled")]


async def test_a_started_game_waits_in_starting_for_the_runtime(
    start_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await start_api(**LOBBY_ENV, BACKEND_RUNTIME_DRIVER="process")
    await api.backend.runtime_workers.stop()  # the runtime cannot act yet
    lobby = Lobby(api=api)
    game_id, _ = await started_game(lobby)
    # The runtime holds the start, not yet run: the game waits in starting for it.
    jobs = await lobby.runtime_jobs("start")
    assert [(j["game_id"], j["status"]) for j in jobs] == [(game_id, "queued")]
    assert (await lobby.runtime_record(str(game_id)))["status"] == "starting"
    assert (await api.backend.lobby.game(game_id)).status == "starting"

    # Once the runtime acts, and only then, the game moves on.
    await api.backend.runtime_workers.start()

    async def moved_on() -> bool:
        return (await api.backend.lobby.game(game_id)).status != "starting"

    await eventually(moved_on, timeout=60, message="the game left starting")
    assert (await api.backend.lobby.game(game_id)).status == "running"
    await api.backend.runtime_clients.driver.remove(game_id)
