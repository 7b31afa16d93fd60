"""The owner plays in the game they create (`owner_race_name`), race names one holds already,
and the gameplay routes' answer to someone who does not play."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.lobby import Lobby, Player, game_body


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


async def create(lobby: Lobby, owner: Player, **overrides: Any) -> Any:
    return await lobby.client.post(
        "/api/v1/user/games", json=game_body(**overrides), headers=owner.headers
    )


async def test_the_owner_is_seated_at_once_and_told_nothing(lobby: Lobby) -> None:
    owner, other = await lobby.players(2)
    created = await create(lobby, owner, owner_race_name="First Ones", max_players=3)
    assert created.status_code == 201, created.text
    game = created.json()
    assert (game["approved_count"], game["free_seats"], game["viewer_role"]) == (1, 2, "owner")
    assert [(p["user_id"], p["race_name"]) for p in game["players"]] == [
        (owner.user_id, "First Ones")
    ]
    names = await lobby.client.get("/api/v1/user/me/race-names", headers=owner.headers)
    assert [(n["name"], n["status"], n["game_id"]) for n in names.json()["items"]] == [
        ("First Ones", "reserved", game["id"])
    ]
    applications = await lobby.client.get(
        f"/api/v1/user/games/{game['id']}/applications", headers=owner.headers
    )
    assert [(a["user_id"], a["status"]) for a in applications.json()["items"]] == [
        (owner.user_id, "approved")
    ]
    assert await lobby.notices() == []
    again = await lobby.apply(owner, game["id"], "Second Thoughts")
    assert again.status_code == 409
    assert error(again)["code"] == "already_applied"
    # The others apply as ever; the owner is told of them.
    assert (await lobby.apply(other, game["id"], "Latecomers")).status_code == 201
    assert [n.kind for n in await lobby.notices()] == ["lobby.application.received"]


async def test_an_owner_applying_to_their_own_game_is_not_told_of_it(lobby: Lobby) -> None:
    [owner] = await lobby.players(1)
    game = await lobby.create(owner)
    applied = await lobby.apply(owner, game["id"], "Self Made")
    assert applied.status_code == 201, applied.text
    assert await lobby.notices("lobby.application.received") == []


async def test_a_race_name_one_holds_already_is_said_to_be_ones_own(lobby: Lobby) -> None:
    owner, host = await lobby.players(2)
    first = (await create(lobby, owner, owner_race_name="Keepers")).json()
    elsewhere = await lobby.create(host, name="Elsewhere")
    # A second game of one's own, and another's game: the name is one's own already.
    for attempt in (
        await create(lobby, owner, name="Second Cup", owner_race_name="KEEPERS"),
        await lobby.apply(owner, elsewhere["id"], "keepers"),
    ):
        assert attempt.status_code == 409, attempt.text
        assert error(attempt)["code"] == "race_name_taken"
        assert error(attempt)["details"] == {
            "held_by_you": True,
            "game_id": first["id"],
            "race_name": "Keepers",
            "status": "reserved",
        }
        assert "you hold this race name already" in error(attempt)["message"]
    # Someone else asking is told it is taken, not by whom.
    taken = await lobby.apply(host, first["id"], "Keepers")
    assert error(taken)["details"] == {"held_by_you": False}
    # The refused creation left nothing behind.
    mine = await lobby.client.get("/api/v1/user/games", headers=owner.headers)
    assert [g["name"] for g in mine.json()["items"]] == ["Andromeda Cup"]


async def test_refused_owner_seats_leave_nothing(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    lobby = await start_lobby(BACKEND_USER_DEFAULT_MAX_ACTIVE_GAMES="1")
    [owner] = await lobby.players(1)
    bad = await create(lobby, owner, owner_race_name="X")
    assert bad.status_code == 422
    assert error(bad)["details"]["field"] == "owner_race_name"
    assert (await create(lobby, owner, owner_race_name="Only Ones")).status_code == 201
    over = await create(lobby, owner, name="One Too Many", owner_race_name="Other Ones")
    assert over.status_code == 409
    assert error(over)["code"] == "active_games_limit"
    mine = await lobby.client.get("/api/v1/user/games", headers=owner.headers)
    assert [g["name"] for g in mine.json()["items"]] == ["Andromeda Cup"]
    assert await lobby.available("Other Ones")


async def started(lobby: Lobby, owner: Player, players: list[Player], **game: Any) -> str:
    """A started game (its engine never comes: the workers are held in these tests)."""
    created = await lobby.create(owner, **game)
    for n, player in enumerate(players):
        applied = await lobby.apply(
            player,
            created["id"],
            f"Seated {created['id'][:4]}{n}",
            invite_code=created["invite_code"],
        )
        assert applied.status_code == 201, applied.text
        assert (await lobby.decide(owner, created["id"], applied.json()["id"])).status_code == 200
    response = await lobby.client.post(
        f"/api/v1/user/games/{created['id']}/start", headers=owner.headers
    )
    assert response.status_code == 202, response.text
    return str(created["id"])


async def test_gameplay_refuses_whoever_does_not_play(lobby: Lobby) -> None:
    owner, a, b, outsider = await lobby.players(4)
    public = await started(lobby, owner, [a, b])
    private = await started(lobby, owner, [a, b], name="Hidden", visibility="private")
    calls = [
        ("PUT", "orders", {"orders": "@"}),
        ("GET", "reports/0", None),
        ("GET", "status", None),
        ("POST", "force-next-turn", None),
    ]
    for method, path, body in calls:
        # The public game's page answers them: they are told they do not play in it.
        refused = await lobby.client.request(
            method, f"/api/v1/user/games/{public}/{path}", json=body, headers=outsider.headers
        )
        assert refused.status_code == 403, (path, refused.text)
        assert error(refused)["code"] == "not_a_player"
        # Of a private game they may not even learn that it exists.
        hidden = await lobby.client.request(
            method, f"/api/v1/user/games/{private}/{path}", json=body, headers=outsider.headers
        )
        assert hidden.status_code == 404, (path, hidden.text)
        assert error(hidden)["code"] == "game_not_found"
