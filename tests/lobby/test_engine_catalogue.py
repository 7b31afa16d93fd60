"""The runtime's registry of engine versions is the one catalogue games choose from: a
version an operator registers is offered at once, one taken out is refused."""

from typing import Any

import httpx

from tests.support.lobby import Lobby, Player, game_body

VERSIONS = "/api/v1/admin/runtime/engine-versions"


async def put_version(lobby: Lobby, version: str, **body: Any) -> httpx.Response:
    return await lobby.client.put(
        f"{VERSIONS}/{version}", json=body, headers=await lobby.admin_headers()
    )


async def offered(lobby: Lobby) -> dict[str, dict[str, Any]]:
    response = await lobby.client.get("/api/v1/public/engines")
    assert response.status_code == 200, response.text
    return {e["version"]: e for e in response.json()["items"]}


async def create(lobby: Lobby, owner: Player, **fields: Any) -> httpx.Response:
    return await lobby.client.post(
        "/api/v1/user/games", json=game_body(**fields), headers=owner.headers
    )


def refused_field(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["details"].get("field")


async def test_a_version_an_operator_registers_is_one_games_may_use(lobby: Lobby) -> None:
    owner, a, b = await lobby.players(3)
    assert list(await offered(lobby)) == ["1.0.0"]
    unknown = await create(lobby, owner, engine_version="2.0.0")
    assert refused_field(unknown) == (422, "unknown_engine_version", "engine_version")

    added = await put_version(lobby, "2.0.0", image="registry.example/galaxy-engine:2.0.0")
    assert added.status_code == 200, added.text
    assert added.json() == {
        "version": "2.0.0",
        "image": "registry.example/galaxy-engine:2.0.0",
        "default": False,
        "enabled": True,
    }
    engines = await offered(lobby)
    assert [(v, e["default"]) for v, e in engines.items()] == [("1.0.0", True), ("2.0.0", False)]
    assert engines["2.0.0"]["settings_schema"] == engines["1.0.0"]["settings_schema"]
    assert engines["2.0.0"]["max_players_default_map"] == 30

    made = await create(lobby, owner, engine_version="2.0.0")
    assert made.status_code == 201, made.text
    game = made.json()
    assert game["engine_version"] == "2.0.0"
    await lobby.enrol(owner, game["id"], a, "Registered Ones")
    await lobby.enrol(owner, game["id"], b, "Catalogued Ones")
    started = await lobby.client.post(
        f"/api/v1/user/games/{game['id']}/start", headers=owner.headers
    )
    assert started.status_code == 202, started.text
    # The runtime runs the image the registry names for the version.
    record = await lobby.runtime_record(game["id"])
    assert (record["engine_version"], record["image"]) == (
        "2.0.0",
        "registry.example/galaxy-engine:2.0.0",
    )


async def test_a_version_taken_out_is_refused_and_the_default_stays(lobby: Lobby) -> None:
    owner, a, b = await lobby.players(3)
    image = "registry.example/galaxy-engine:2.0.0"
    assert (await put_version(lobby, "2.0.0", image=image)).status_code == 200
    kept = (await create(lobby, owner, name="Kept Cup", engine_version="2.0.0")).json()
    waiting = (await create(lobby, owner, name="Waiting Cup", engine_version="2.0.0")).json()
    await lobby.enrol(owner, waiting["id"], a, "Early Ones")
    await lobby.enrol(owner, waiting["id"], b, "Eager Ones")

    out = await put_version(lobby, "2.0.0", image=image, enabled=False)
    assert out.status_code == 200, out.text
    assert out.json()["enabled"] is False
    assert list(await offered(lobby)) == ["1.0.0"]
    listed = await lobby.client.get(VERSIONS, headers=await lobby.admin_headers())
    assert [(v["version"], v["enabled"]) for v in listed.json()["items"]] == [
        ("1.0.0", True),
        ("2.0.0", False),
    ]

    refused = await create(lobby, owner, engine_version="2.0.0")
    assert refused_field(refused) == (422, "unknown_engine_version", "engine_version")
    assert refused.json()["error"]["details"]["known"] == ["1.0.0"]
    # A game made with it says so at its next edit, and moves to an offered version.
    path = f"/api/v1/user/games/{kept['id']}"
    renamed = await lobby.client.patch(path, json={"name": "Kept"}, headers=owner.headers)
    assert refused_field(renamed) == (422, "unknown_engine_version", "engine_version")
    moved = await lobby.client.patch(path, json={"engine_version": "1.0.0"}, headers=owner.headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["engine_version"] == "1.0.0"
    # Nor does one start on it: the start is refused whole, enrollment stays open.
    start = await lobby.client.post(
        f"/api/v1/user/games/{waiting['id']}/start", headers=owner.headers
    )
    assert refused_field(start) == (422, "unknown_engine_version", "engine_version")
    page = await lobby.client.get(f"/api/v1/user/games/{waiting['id']}", headers=owner.headers)
    assert page.json()["status"] == "enrollment_open"
    assert await lobby.runtime_jobs() == []

    # The default is always offered: it cannot be taken out, nor made default while out.
    bundled = next(v for v in listed.json()["items"] if v["version"] == "1.0.0")
    for version, body in (
        ("1.0.0", {"image": bundled["image"], "enabled": False}),
        ("2.0.0", {"image": image, "default": True, "enabled": False}),
    ):
        conflict = await put_version(lobby, version, **body)
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["error"]["code"] == "default_engine_version"
    back = await put_version(lobby, "2.0.0", image=image, default=True)
    assert (back.json()["default"], back.json()["enabled"]) == (True, True)
    engines = await offered(lobby)
    assert [(v, e["default"]) for v, e in engines.items()] == [("1.0.0", False), ("2.0.0", True)]
    # A game that names no version gets the default.
    assert (await lobby.create(owner, name="Default Cup"))["engine_version"] == "2.0.0"
