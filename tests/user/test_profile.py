"""The player's own profile: read, change with validation, delete."""

import pytest

from tests.support.api import Api, bearer


async def test_profile_changes_are_saved(api: Api) -> None:
    signed = await api.sign_in("profile@example.org")
    headers = bearer(signed["token"])
    response = await api.client.patch(
        "/api/v1/user/me",
        json={
            "display_name": "  Admiral Ackbar  ",
            "language": "pt-BR",
            "time_zone": "America/Sao_Paulo",
        },
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["display_name"] == "Admiral Ackbar"
    assert body["language"] == "pt-BR"
    assert body["time_zone"] == "America/Sao_Paulo"
    assert (await api.client.get("/api/v1/user/me", headers=headers)).json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": "bad\u0007bell"}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 65}, "display_name"),
        ({"display_name": 7}, "display_name"),
        ({"language": "klingon!"}, "language"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"email": "new@example.org"}, "email"),
    ],
)
async def test_bad_profile_changes_are_422_and_change_nothing(
    api: Api, body: dict[str, object], field: str
) -> None:
    signed = await api.sign_in("strict@example.org")
    headers = bearer(signed["token"])
    before = (await api.client.get("/api/v1/user/me", headers=headers)).json()
    response = await api.client.patch("/api/v1/user/me", json=body, headers=headers)
    assert response.status_code == 422
    assert field in [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert (await api.client.get("/api/v1/user/me", headers=headers)).json() == before


async def test_deleting_the_account_anonymises_it_and_ends_every_session(api: Api) -> None:
    first = await api.sign_in("gone@example.org")
    other = await api.sign_in("gone@example.org")
    await api.client.patch(
        "/api/v1/user/me", json={"display_name": "Soon Gone"}, headers=bearer(first["token"])
    )
    assert (
        await api.client.delete("/api/v1/user/me", headers=bearer(first["token"]))
    ).status_code == 204
    for signed in (first, other):
        assert (
            await api.client.get("/api/v1/user/me", headers=bearer(signed["token"]))
        ).status_code == 401
    admin = bearer(await api.admin_token())
    record = await api.client.get(f"/api/v1/admin/users/{first['user']['id']}", headers=admin)
    assert record.json()["email"].endswith("@deleted.invalid")
    assert record.json()["display_name"] == ""
    assert record.json()["deleted_at"] is not None
    # The address is free again: a new sign-in is a new account.
    again = await api.sign_in("gone@example.org")
    assert again["created"] is True
    assert again["user"]["id"] != first["user"]["id"]


async def test_entitlements_of_the_player(api: Api) -> None:
    signed = await api.sign_in("entitled@example.org")
    response = await api.client.get("/api/v1/user/me/entitlements", headers=bearer(signed["token"]))
    assert response.json() == {"tier": "free", "max_owned_games": 3, "max_active_games": 10}
