"""Every refusal of the lobby, and bad input: the status, the code, the field; nothing written."""

from typing import Any

from tests.support.lobby import Lobby, Player, game_body, in_future


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def fields(response: Any) -> list[str]:
    return [f["field"] for f in error(response)["details"].get("fields", [])] or [
        error(response)["details"].get("field")
    ]


async def create(lobby: Lobby, owner: Player, **overrides: Any) -> Any:
    return await lobby.client.post(
        "/api/v1/user/games", json=game_body(**overrides), headers=owner.headers
    )


MALFORMED_GAMES: list[tuple[dict[str, Any], str, str | None]] = [
    ({"turn_schedule": "every day at noon"}, "turn_schedule", "invalid_schedule"),
    ({"turn_schedule": "61 * * * *"}, "turn_schedule", "invalid_schedule"),
    ({"turn_schedule": "0 0 30 2 *"}, "turn_schedule", "invalid_schedule"),
    ({"turn_time_zone": "Mars/Base"}, "turn_time_zone", "invalid_time_zone"),
    ({"enrollment_deadline": in_future(minutes=-1)}, "enrollment_deadline", "deadline_passed"),
    ({"enrollment_deadline": "2030-01-01T00:00:00"}, "enrollment_deadline", None),
    ({"min_players": 5, "max_players": 4}, "min_players", "invalid_players"),
    ({"min_players": 1}, "min_players", None),
    ({"max_players": 31}, "max_players", "too_many_players"),
    ({"max_players": 101}, "max_players", None),
    ({"settings": {"galaxy_size": 5}}, "settings.galaxy_size", "invalid_settings"),
    ({"settings": {"warp_drive": True}}, "settings.warp_drive", "invalid_settings"),
    ({"settings": [1, 2]}, "settings", None),
    ({"engine_version": "9.9.9"}, "engine_version", "unknown_engine_version"),
    ({"name": "Cup\x00"}, "name", None),
    ({"name": "x" * 65}, "name", None),
    ({"name": "   "}, "name", None),
    ({"description": "y" * 2001}, "description", None),
    ({"visibility": "secret"}, "visibility", None),
    ({"unexpected": 1}, "unexpected", None),
]


async def test_malformed_games_are_422_naming_the_field(lobby: Lobby) -> None:
    (owner,) = await lobby.players(1)
    for overrides, field, code in MALFORMED_GAMES:
        response = await create(lobby, owner, **overrides)
        assert response.status_code == 422, (overrides, response.text)
        assert field in fields(response), (overrides, response.text)
        if code is not None:
            assert error(response)["code"] == code, overrides
    mine = await lobby.client.get("/api/v1/user/games", headers=owner.headers)
    assert mine.json()["items"] == []


async def test_a_bigger_map_holds_more_races(lobby: Lobby) -> None:
    (owner,) = await lobby.players(1)
    response = await create(lobby, owner, max_players=40, settings={"galaxy_size": 400})
    assert response.status_code == 201, response.text


async def test_owned_games_limit(lobby: Lobby) -> None:
    (owner,) = await lobby.players(1)
    admin = await lobby.admin_headers()
    granted = await lobby.client.put(
        f"/api/v1/admin/users/{owner.user_id}/entitlements",
        json={"tier": None, "max_owned_games": 2, "max_active_games": None},
        headers=admin,
    )
    assert granted.status_code == 200, granted.text
    first = await lobby.create(owner)
    await lobby.create(owner)
    third = await create(lobby, owner)
    assert third.status_code == 409
    assert error(third)["code"] == "owned_games_limit"
    assert error(third)["details"] == {"limit": 2}
    # A cancelled game no longer counts.
    await lobby.client.post(f"/api/v1/user/games/{first['id']}/cancel", headers=owner.headers)
    assert (await create(lobby, owner)).status_code == 201


async def test_owned_games_limit_holds_under_concurrent_creates(lobby: Lobby) -> None:
    import asyncio

    (owner,) = await lobby.players(1)
    responses = await asyncio.gather(*(create(lobby, owner) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 5  # BACKEND_USER_DEFAULT_MAX_OWNED_GAMES=3


async def test_active_games_limit(lobby: Lobby) -> None:
    owner, other_owner, player = await lobby.players(3)
    admin = await lobby.admin_headers()
    await lobby.client.put(
        f"/api/v1/admin/users/{player.user_id}/entitlements",
        json={"tier": None, "max_owned_games": None, "max_active_games": 1},
        headers=admin,
    )
    first = await lobby.create(owner)
    second = await lobby.create(other_owner)
    await lobby.enrol(owner, first["id"], player, "Busy Ones")
    # Applying while at the limit is refused...
    refused = await lobby.apply(player, second["id"], "Busy Twos")
    assert refused.status_code == 409
    assert error(refused)["code"] == "active_games_limit"
    # ...and so is an approval that would pass it (checked in the approving transaction).
    await lobby.client.post(f"/api/v1/user/games/{first['id']}/leave", headers=player.headers)
    pending_one = await lobby.apply(player, first["id"], "Busy Ones")
    pending_two = await lobby.apply(player, second["id"], "Busy Twos")
    assert (await lobby.decide(owner, first["id"], pending_one.json()["id"])).status_code == 200
    over = await lobby.decide(other_owner, second["id"], pending_two.json()["id"])
    assert over.status_code == 409
    assert error(over)["code"] == "active_games_limit"


async def test_refusals_of_applications_and_decisions(lobby: Lobby) -> None:
    owner, a, b, c, d = await lobby.players(5)
    game = await lobby.create(owner, min_players=2, max_players=2)
    game_id = game["id"]
    first = await lobby.apply(a, game_id, "Zorgons")

    # The same name in another case, with a zero for the o, in Cyrillic letters.
    for taken in ("ZORGONS", "zorg0ns", "Z\u043erg\u043ens"):
        clash = await lobby.apply(b, game_id, taken)
        assert clash.status_code == 409, taken
        assert error(clash)["code"] == "race_name_taken"
        # Someone else's: who holds it is not told.
        assert error(clash)["details"] == {"held_by_you": False}
    # Applying twice to one game.
    twice = await lobby.apply(a, game_id, "Other Name")
    assert twice.status_code == 409
    assert error(twice)["code"] == "already_applied"
    # Not the owner.
    not_owner = await lobby.decide(b, game_id, first.json()["id"])
    assert not_owner.status_code == 403
    assert error(not_owner)["code"] == "not_owner"
    # Unknown application; an application of another game.
    other = await lobby.create(c)
    elsewhere = await lobby.apply(d, other["id"], "Elsewhere")
    assert (await lobby.decide(owner, game_id, elsewhere.json()["id"])).status_code == 404
    # Deciding twice.
    assert (await lobby.decide(owner, game_id, first.json()["id"])).status_code == 200
    again = await lobby.decide(owner, game_id, first.json()["id"], "reject")
    assert again.status_code == 409
    assert error(again)["code"] == "wrong_application_status"

    # Full game.
    await lobby.enrol(owner, game_id, b, "Klingons")
    full = await lobby.apply(c, game_id, "Latecomers")
    assert full.status_code == 409
    assert error(full)["code"] == "game_full"


async def test_start_below_min_and_changes_after_the_start(lobby: Lobby) -> None:
    owner, a, b = await lobby.players(3)
    game = await lobby.create(owner, min_players=2)
    game_id = game["id"]
    await lobby.enrol(owner, game_id, a, "Early Ones")
    start = f"/api/v1/user/games/{game_id}/start"
    below = await lobby.client.post(start, headers=owner.headers)
    assert below.status_code == 409
    assert error(below)["code"] == "not_enough_players"
    assert error(below)["details"] == {"approved_count": 1, "min_players": 2}
    not_owner = await lobby.client.post(start, headers=a.headers)
    assert not_owner.status_code == 403

    await lobby.enrol(owner, game_id, b, "Later Ones")
    assert (await lobby.client.post(start, headers=owner.headers)).status_code == 202
    for response in (
        await lobby.client.patch(
            f"/api/v1/user/games/{game_id}", json={"name": "Too Late"}, headers=owner.headers
        ),
        await lobby.client.post(start, headers=owner.headers),
        await lobby.client.post(f"/api/v1/user/games/{game_id}/cancel", headers=owner.headers),
        await lobby.client.post(f"/api/v1/user/games/{game_id}/leave", headers=a.headers),
    ):
        assert response.status_code == 409, response.text
        assert error(response)["code"] == "wrong_status"
        assert error(response)["details"] == {"status": "starting"}
    late = await lobby.players(1)
    refused = await lobby.apply(late[0], game_id, "Latest Ones")
    assert refused.status_code == 409
    assert error(refused)["details"] == {"status": "starting"}
    assert (await lobby.game(owner, game_id))["name"] == "Andromeda Cup"


async def test_bad_race_names_are_422(lobby: Lobby) -> None:
    owner, player = await lobby.players(2)
    game = await lobby.create(owner)
    for race_name in ("Z", "Zorg\x00ons", "Zorgons!", "x" * 65, "x" * 25, "  ", "12"):
        response = await lobby.apply(player, game["id"], race_name)
        assert response.status_code == 422, (race_name, response.text)
        assert "race_name" in fields(response)
    for name in ("Z", "Zorgons!", "x" * 65):
        check = await lobby.client.get(f"/api/v1/public/race-names/{name}")
        assert check.status_code == 422, name
    applications = await lobby.client.get(
        f"/api/v1/user/games/{game['id']}/applications", headers=owner.headers
    )
    assert applications.json()["items"] == []


async def test_bad_listing_queries_are_422(lobby: Lobby) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "many"},
        {"status": "flying"},
        {"cursor": "not-a-cursor"},
        {"q": "x" * 65},
        {"q": "a\x00b"},
        {"free_seats": "perhaps"},
    ):
        response = await lobby.client.get("/api/v1/public/games", params=params)
        assert response.status_code == 422, params
        assert error(response)["code"] in {"validation_failed", "invalid_input"}


async def test_unknown_and_hidden_games_are_404(lobby: Lobby) -> None:
    owner, outsider = await lobby.players(2)
    private = await lobby.create(owner, visibility="private")
    missing = "00000000-0000-0000-0000-000000000000"
    for path in (f"/api/v1/user/games/{missing}", f"/api/v1/user/games/{private['id']}"):
        response = await lobby.client.get(path, headers=outsider.headers)
        assert response.status_code == 404
        assert error(response)["code"] == "game_not_found"
    for verb, path in (
        ("post", f"/api/v1/user/games/{private['id']}/start"),
        ("post", f"/api/v1/user/games/{private['id']}/cancel"),
        ("patch", f"/api/v1/user/games/{private['id']}"),
    ):
        kwargs: dict[str, Any] = {"headers": outsider.headers}
        if verb == "patch":
            kwargs["json"] = {"name": "Mine"}
        response = await getattr(lobby.client, verb)(path, **kwargs)
        assert response.status_code == 404, (path, response.text)
    assert (
        await lobby.client.get("/api/v1/user/games/not-a-uuid", headers=owner.headers)
    ).status_code == 422
