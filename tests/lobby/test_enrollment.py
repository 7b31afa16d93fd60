"""The whole enrollment flow through the HTTP API: create, list, apply, decide, start, run."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from tests.support import eventually
from tests.support.lobby import Lobby


async def kinds_for(lobby: Lobby, user_id: str) -> list[str]:
    return [n.kind for n in await lobby.notices() if UUID(user_id) in n.user_ids]


async def test_enrollment_from_creation_to_a_finished_game(
    lobby: Lobby, push_events: list[Any]
) -> None:
    owner, zorg, kling, late = await lobby.players(4)
    game = await lobby.create(owner, name="Andromeda Cup", min_players=2, max_players=3)
    game_id = game["id"]
    assert game["status"] == "enrollment_open"
    assert game["approved_count"] == 0
    assert game["viewer_role"] == "owner"
    assert game["engine_version"] == "1.0.0"
    assert game["settings"]["galaxy_size"] == 200.0  # the engine's defaults, normalised
    assert len(game["schedule_preview"]) == 3

    listed = await lobby.listing()
    assert [g["id"] for g in listed["items"]] == [game_id]
    assert listed["items"][0]["free_seats"] == 3

    # Apply: the owner is told of each application; the names are held at once.
    first = await lobby.apply(zorg, game_id, "Zorgons")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "pending"
    second = await lobby.apply(kling, game_id, "Klingons")
    assert second.status_code == 201
    assert not await lobby.available("zorgons")
    assert await kinds_for(lobby, owner.user_id) == ["lobby.application.received"] * 2
    received = (await lobby.notices("lobby.application.received"))[0]
    assert received.payload["race_name"] == "Zorgons"
    assert received.key == f"lobby.application.received:{first.json()['id']}"

    # The owner sees every application; a player sees their own.
    own = await lobby.client.get(f"/api/v1/user/games/{game_id}/applications", headers=zorg.headers)
    assert [a["race_name"] for a in own.json()["items"]] == ["Zorgons"]
    path = f"/api/v1/user/games/{game_id}/applications"
    first_page = await lobby.client.get(path, params={"limit": 1}, headers=owner.headers)
    assert [a["race_name"] for a in first_page.json()["items"]] == ["Zorgons"]
    second_page = await lobby.client.get(
        path, params={"limit": 1, "cursor": first_page.json()["next_cursor"]}, headers=owner.headers
    )
    assert [a["race_name"] for a in second_page.json()["items"]] == ["Klingons"]
    assert second_page.json()["next_cursor"] is None

    # Decide: each applicant is told.
    approved = await lobby.decide(owner, game_id, first.json()["id"])
    assert approved.json()["status"] == "approved"
    rejected = await lobby.decide(owner, game_id, second.json()["id"], "reject")
    assert rejected.json()["status"] == "rejected"
    assert await kinds_for(lobby, zorg.user_id) == ["lobby.application.approved"]
    assert await kinds_for(lobby, kling.user_id) == ["lobby.application.rejected"]
    assert await lobby.available("Klingons")  # a rejection frees the name at once

    third = await lobby.apply(late, game_id, "Vogons")
    await lobby.decide(owner, game_id, third.json()["id"])

    page = await lobby.game(zorg, game_id)
    assert page["approved_count"] == 2
    assert page["viewer_role"] == "player"
    assert page["invite_code"] is None
    assert [(p["race_name"], p["user_id"]) for p in page["players"]] == [
        ("Zorgons", zorg.user_id),
        ("Vogons", late.user_id),
    ]
    names = await lobby.client.get("/api/v1/user/me/race-names", headers=zorg.headers)
    assert [(n["name"], n["status"]) for n in names.json()["items"]] == [("Zorgons", "reserved")]
    # An outsider sees a public game without its players.
    outsider = await lobby.game(kling, game_id)
    assert outsider["players"] is None
    assert outsider["viewer_role"] is None

    # Start: enrollment closes and the runtime is asked to start the game.
    started = await lobby.client.post(f"/api/v1/user/games/{game_id}/start", headers=owner.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "starting"
    assert [(str(j["game_id"]), j["kind"]) for j in await lobby.runtime_jobs()] == [
        (game_id, "start")
    ]
    record = await lobby.runtime_record(game_id)
    assert [p["race_name"] for p in record["players"]] == ["Zorgons", "Vogons"]
    assert record["turn_time_zone"] == "Europe/Berlin"
    for player in (owner, zorg, late):
        assert "lobby.game.status_changed" in await kinds_for(lobby, player.user_id)

    # The runtime reports back: running, then finished with the engine's ranking.
    service = lobby.api.backend.lobby
    running = await service.on_runtime_job_result(UUID(game_id), "started", turn=0)
    assert running.status == "running"
    again = await service.on_runtime_job_result(UUID(game_id), "started", turn=0)
    assert again.status == "running"
    status_notices = await lobby.notices("lobby.game.status_changed")
    assert [n.payload["status"] for n in status_notices] == ["starting", "running"]
    ranking = [{"race_name": "Vogons", "place": 1}, {"race_name": "Zorgons", "place": 2}]
    finished = await service.on_runtime_job_result(
        UUID(game_id), "finished", turn=42, ranking=ranking, message="max_turns reached"
    )
    assert finished.status == "finished"
    page = await lobby.game(owner, game_id)
    assert page["status"] == "finished"
    assert page["final_ranking"] == ranking
    assert page["current_turn"] == 42
    last = (await lobby.notices("lobby.game.status_changed"))[-1]
    assert last.payload["final_ranking"] == ranking
    assert {str(u) for u in last.user_ids} == {owner.user_id, zorg.user_id, late.user_id}
    # The game is over: its race names are free again.
    assert await lobby.available("Zorgons")

    # The gateway heard of every change to the game over the push stream.
    def pushed() -> list[dict[str, Any]]:
        import orjson

        return [orjson.loads(e.payload) for e in push_events if e.kind == "lobby.game.updated"]

    await eventually(lambda: any(p["status"] == "finished" for p in pushed()), message="push")
    statuses = [p["status"] for p in pushed() if p["game_id"] == game_id]
    assert statuses[0] == "enrollment_open"
    assert "starting" in statuses
    assert "running" in statuses
    finished_event = next(e for e in push_events if b'"finished"' in e.payload)
    assert set(finished_event.user_ids) == {owner.user_id, zorg.user_id, late.user_id}


async def test_withdraw_leave_and_remove_before_the_start(lobby: Lobby) -> None:
    owner, a, b, c = await lobby.players(4)
    game = await lobby.create(owner, min_players=2, max_players=4)
    game_id = game["id"]
    pending = await lobby.apply(a, game_id, "Withdrawers")
    withdrawn = await lobby.client.post(
        f"/api/v1/user/games/{game_id}/applications/{pending.json()['id']}/withdraw",
        headers=a.headers,
    )
    assert withdrawn.json()["status"] == "withdrawn"
    assert await lobby.available("Withdrawers")

    await lobby.enrol(owner, game_id, b, "Leavers")
    await lobby.enrol(owner, game_id, c, "Removed Ones")
    assert (await lobby.game(owner, game_id))["approved_count"] == 2
    left = await lobby.client.post(f"/api/v1/user/games/{game_id}/leave", headers=b.headers)
    assert left.json()["status"] == "left"
    assert (await lobby.notices("lobby.player.left"))[0].user_ids == [UUID(owner.user_id)]
    removed = await lobby.client.delete(
        f"/api/v1/user/games/{game_id}/players/{c.user_id}", headers=owner.headers
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "removed"
    assert (await lobby.notices("lobby.player.removed"))[0].user_ids == [UUID(c.user_id)]
    page = await lobby.game(owner, game_id)
    assert page["approved_count"] == 0
    assert page["players"] == []
    assert await lobby.available("Leavers")
    assert await lobby.available("Removed Ones")
    # A player who left may apply again.
    again = await lobby.apply(b, game_id, "Leavers")
    assert again.status_code == 201


async def test_private_games_are_joined_by_invite_code(lobby: Lobby) -> None:
    owner, friend, stranger = await lobby.players(3)
    game = await lobby.create(owner, visibility="private")
    game_id, code = game["id"], game["invite_code"]
    assert code
    assert (await lobby.listing())["items"] == []
    # Strangers get a 404, as for a game that does not exist.
    hidden = await lobby.client.get(f"/api/v1/user/games/{game_id}", headers=stranger.headers)
    assert hidden.status_code == 404
    assert (await lobby.apply(stranger, game_id, "Strangers")).status_code == 404
    wrong = await lobby.apply(stranger, game_id, "Strangers", invite_code="not-the-code")
    assert wrong.status_code == 404
    # With the code: the game's page, and an application.
    opened = await lobby.client.post(
        "/api/v1/user/invites/resolve", json={"invite_code": code}, headers=friend.headers
    )
    assert opened.json()["id"] == game_id
    applied = await lobby.apply(friend, game_id, "Friends", invite_code=code)
    assert applied.status_code == 201, applied.text
    assert (await lobby.game(friend, game_id))["viewer_role"] == "applicant"
    # The owner rotates the code: the old one opens nothing any more.
    rotated = await lobby.client.post(
        f"/api/v1/user/games/{game_id}/invite-code", headers=owner.headers
    )
    assert rotated.json()["invite_code"] not in (None, code)
    stale = await lobby.client.post(
        "/api/v1/user/invites/resolve", json={"invite_code": code}, headers=friend.headers
    )
    assert stale.status_code == 404
    late = await lobby.apply(stranger, game_id, "Latecomers", invite_code=code)
    assert late.status_code == 404


async def test_the_listing_filters_and_pages(lobby: Lobby) -> None:
    owner, other, player = await lobby.players(3)
    for name in ("Alpha Rising", "Beta Storm", "Gamma Rising"):
        await lobby.create(owner, name=name, min_players=2, max_players=2)
    full = await lobby.create(other, name="Delta Rising", min_players=2, max_players=2)
    await lobby.enrol(other, full["id"], player, "Fillers")
    helper = await lobby.players(1)
    await lobby.enrol(other, full["id"], helper[0], "Fillers Two")

    names = [g["name"] for g in (await lobby.listing())["items"]]
    assert names == ["Delta Rising", "Gamma Rising", "Beta Storm", "Alpha Rising"]
    assert [g["name"] for g in (await lobby.listing(q="rising", free_seats="true"))["items"]] == [
        "Gamma Rising",
        "Alpha Rising",
    ]
    assert (await lobby.listing(engine_version="0.0.1"))["items"] == []
    assert len((await lobby.listing(status="enrollment_open"))["items"]) == 4
    assert (await lobby.listing(status=["running", "finished"]))["items"] == []

    seen = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await lobby.listing(**params)
        seen += [g["name"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names


async def test_pages_past_the_index_come_from_the_table_alike(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    # The index holds the two newest listed games; older pages are read from the table.
    lobby = await start_lobby(BACKEND_CACHE_MAX_ENTRIES="2")
    owner, second, other, player, helper = await lobby.players(5)
    for host, name in ((owner, "Straße Cup"), (owner, "Alpha Rising"), (owner, "Beta Storm")):
        await lobby.create(host, name=name, min_players=2, max_players=2)
    await lobby.create(second, name="Gamma Rising", min_players=2, max_players=2)
    full = await lobby.create(other, name="Delta Rising", min_players=2, max_players=2)
    await lobby.enrol(other, full["id"], player, "Fillers")
    await lobby.enrol(other, full["id"], helper, "Fillers Two")
    await lobby.create(second, name="Neue Straße")
    assert len(lobby.api.backend.lobby.cache.listing) == 2

    async def every(**params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = await lobby.listing(limit=2, **params, **({"cursor": cursor} if cursor else {}))
            seen += [g["name"] for g in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    assert await every() == [
        "Neue Straße",
        "Delta Rising",
        "Gamma Rising",
        "Beta Storm",
        "Alpha Rising",
        "Straße Cup",
    ]
    assert await every(q="RISING", free_seats="true") == ["Gamma Rising", "Alpha Rising"]
    # The index and the table match a name alike: the same query finds both.
    assert await every(q="STRAßE") == ["Neue Straße", "Straße Cup"]
    assert (await lobby.listing(q="Straße Cup"))["items"][0]["name"] == "Straße Cup"


async def test_edits_before_the_start(lobby: Lobby) -> None:
    owner, player = await lobby.players(2)
    game = await lobby.create(owner, visibility="public", max_players=4)
    game_id = game["id"]
    changed = await lobby.client.patch(
        f"/api/v1/user/games/{game_id}",
        json={
            "name": "Renamed Cup",
            "turn_schedule": "@every 12h",
            "visibility": "private",
            "settings": {"galaxy_size": 300},
        },
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Renamed Cup"
    assert body["turn_schedule"] == "@every 12h"
    assert body["invite_code"]
    assert body["settings"]["galaxy_size"] == 300.0
    assert (await lobby.listing())["items"] == []
    public = await lobby.client.patch(
        f"/api/v1/user/games/{game_id}", json={"visibility": "public"}, headers=owner.headers
    )
    assert public.json()["invite_code"] is None
    assert [g["name"] for g in (await lobby.listing())["items"]] == ["Renamed Cup"]
    null = await lobby.client.patch(
        f"/api/v1/user/games/{game_id}", json={"name": None}, headers=owner.headers
    )
    assert null.status_code == 422
    assert null.json()["error"]["details"]["fields"][0]["field"] == "name"
    not_owner = await lobby.client.patch(
        f"/api/v1/user/games/{game_id}", json={"name": "Mine"}, headers=player.headers
    )
    assert not_owner.status_code == 403
    assert not_owner.json()["error"]["code"] == "not_owner"


async def test_the_owner_cancels_and_names_are_released(lobby: Lobby) -> None:
    owner, a, b = await lobby.players(3)
    game = await lobby.create(owner)
    await lobby.enrol(owner, game["id"], a, "Cancelled Ones")
    await lobby.apply(b, game["id"], "Waiting Ones")
    cancelled = await lobby.client.post(
        f"/api/v1/user/games/{game['id']}/cancel", headers=owner.headers
    )
    assert cancelled.json()["status"] == "cancelled"
    assert await lobby.available("Cancelled Ones")
    assert await lobby.available("Waiting Ones")
    assert (await lobby.notices("lobby.application.closed"))[0].user_ids == [UUID(b.user_id)]
    assert (await lobby.listing())["items"] == []
    mine = await lobby.client.get("/api/v1/user/games", headers=owner.headers)
    assert [g["status"] for g in mine.json()["items"]] == ["cancelled"]
    second = await lobby.create(owner, name="Second Cup")
    page = await lobby.client.get("/api/v1/user/games", params={"limit": 1}, headers=owner.headers)
    assert [g["id"] for g in page.json()["items"]] == [second["id"]]
    rest = await lobby.client.get(
        "/api/v1/user/games", params={"cursor": page.json()["next_cursor"]}, headers=owner.headers
    )
    assert [g["id"] for g in rest.json()["items"]] == [game["id"]]


async def test_the_engines_games_may_use(lobby: Lobby) -> None:
    response = await lobby.client.get("/api/v1/public/engines")
    assert response.status_code == 200
    (engine,) = response.json()["items"]
    assert engine["version"] == "1.0.0"
    assert engine["default"] is True
    assert engine["max_players_default_map"] == 30
    schema = engine["settings_schema"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["galaxy_size"]["default"] == 200.0
