"""Operators over the lobby: search games, cancel one, release a race name; all audited."""

from uuid import UUID

from tests.support.lobby import Lobby


async def test_operators_search_cancel_and_release_with_audit(lobby: Lobby) -> None:
    owner, a, b = await lobby.players(3)
    admin = await lobby.admin_headers()
    public = await lobby.create(owner, name="Public Cup")
    private = await lobby.create(owner, name="Private Cup", visibility="private")
    await lobby.enrol(owner, public["id"], a, "Audited Ones")
    pending = await lobby.apply(b, public["id"], "Squatters")

    found = await lobby.client.get("/api/v1/admin/games", params={"query": "cup"}, headers=admin)
    assert found.status_code == 200, found.text
    assert [g["name"] for g in found.json()["items"]] == ["Private Cup", "Public Cup"]
    assert found.json()["items"][0]["invite_code"] == private["invite_code"]
    by_owner = await lobby.client.get(
        "/api/v1/admin/games",
        params={"owner_id": owner.user_id, "status": "enrollment_open", "limit": 1},
        headers=admin,
    )
    assert len(by_owner.json()["items"]) == 1
    assert by_owner.json()["next_cursor"]
    rest = await lobby.client.get(
        "/api/v1/admin/games",
        params={"owner_id": owner.user_id, "cursor": by_owner.json()["next_cursor"]},
        headers=admin,
    )
    assert [g["name"] for g in rest.json()["items"]] == ["Public Cup"]
    page = await lobby.client.get(f"/api/v1/admin/games/{public['id']}", headers=admin)
    assert [p["race_name"] for p in page.json()["players"]] == ["Audited Ones"]

    # Release the name a pending application squats: the application is closed with it.
    entries = await lobby.client.get(
        "/api/v1/admin/race-names", params={"name": "SQUATTERS"}, headers=admin
    )
    (entry,) = entries.json()["items"]
    assert entry["status"] == "pending_registration"
    assert entry["application_id"] == pending.json()["id"]
    released = await lobby.client.post(
        f"/api/v1/admin/race-names/{entry['id']}/release",
        json={"reason": "offensive name"},
        headers=admin,
    )
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"
    assert await lobby.available("Squatters")
    (closed,) = await lobby.notices("lobby.application.closed")
    assert closed.user_ids == [UUID(b.user_id)]
    assert closed.payload["reason"] == "race_name_released"
    twice = await lobby.client.post(
        f"/api/v1/admin/race-names/{entry['id']}/release",
        json={"reason": "again"},
        headers=admin,
    )
    assert twice.status_code == 409

    cancelled = await lobby.client.post(
        f"/api/v1/admin/games/{public['id']}/cancel",
        json={"reason": "abandoned"},
        headers=admin,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    notice = (await lobby.notices("lobby.game.status_changed"))[-1]
    assert notice.payload["reason"] == "abandoned"
    assert set(notice.user_ids) == {UUID(owner.user_id), UUID(a.user_id)}
    assert await lobby.available("Audited Ones")
    again = await lobby.client.post(
        f"/api/v1/admin/games/{public['id']}/cancel", json={"reason": "again"}, headers=admin
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {"status": "cancelled"}

    audit = await lobby.client.get("/api/v1/admin/audit", headers=admin)
    actions = [(e["action"], e["target_id"]) for e in audit.json()["items"]]
    assert ("game.cancel", public["id"]) in actions
    assert ("race_name.release", entry["id"]) in actions


async def test_viewers_read_but_do_not_change(lobby: Lobby) -> None:
    (owner,) = await lobby.players(1)
    game = await lobby.create(owner)
    admin = await lobby.admin_headers()
    player_token = owner.headers
    assert (await lobby.client.get("/api/v1/admin/games", headers=player_token)).status_code == 401
    assert (await lobby.client.get("/api/v1/admin/games", headers=admin)).status_code == 200
    # A player session opens no admin route, and an anonymous caller no user route.
    assert (
        await lobby.client.post(
            f"/api/v1/admin/games/{game['id']}/cancel", json={"reason": "x"}, headers=player_token
        )
    ).status_code == 401
    assert (await lobby.client.post("/api/v1/user/games", json={})).status_code == 401
