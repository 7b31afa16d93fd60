from tests.lobby.conftest import Lobby


async def test_smoke(lobby: Lobby) -> None:
    owner, a, b = await lobby.players(3)
    game = await lobby.create(owner)
    listed = await lobby.listing()
    assert [g["id"] for g in listed["items"]] == [game["id"]], listed
    await lobby.enrol(owner, game["id"], a, "Zorgons")
    await lobby.enrol(owner, game["id"], b, "Klingons")
    page = await lobby.game(owner, game["id"])
    assert page["approved_count"] == 2
    started = await lobby.client.post(f"/api/v1/user/games/{game['id']}/start", headers=owner.headers)
    assert started.status_code == 202, started.text
    print(started.json())
    print([n.kind for n in lobby.notifier.notices])
