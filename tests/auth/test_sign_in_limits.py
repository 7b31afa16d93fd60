"""Sign-in limits a public deployment needs: address limits on networks (an IPv6 /64), a
stranger unable to lock a player out of codes, bounded mail to a player, and bounded
guessing at one player's codes (with a mail to the player when it is hit)."""

import httpx

from galaxy_backend.mail.templates import GUESSING_SUBJECT
from tests.support.api import Api

CONFIRM = "/api/v1/public/auth/email-code/confirm"
# The test client is 127.0.0.1, a trusted proxy: X-Forwarded-For names the client.
HOME = {"X-Forwarded-For": "198.51.100.7"}


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def confirm(api: Api, requested: httpx.Response, code: str, address: str) -> httpx.Response:
    return await api.client.post(
        CONFIRM,
        json={"challenge_id": requested.json()["challenge_id"], "code": code},
        headers=at(address),
    )


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def test_address_limits_count_an_ipv6_clients_whole_64(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_IP_RATE_LIMIT="2", BACKEND_AUTH_IP_GUESS_LIMIT="2")
    # Rotating inside one /64 is one client.
    assert (await api.request_code("v6a@example.org", **at("2001:db8:1:2::1"))).status_code == 202
    assert (await api.request_code("v6b@example.org", **at("2001:db8:1:2::2"))).status_code == 202
    third = await api.request_code("v6c@example.org", **at("2001:db8:1:2:ffff::3"))
    assert third.status_code == 429
    # The next /64 is someone else.
    assert (await api.request_code("v6c@example.org", **at("2001:db8:1:3::1"))).status_code == 202

    # Wrong codes too: two from the /64, then the third address of it is refused.
    refused = []
    for n, address in enumerate(("2001:db8:9:9::1", "2001:db8:9:9::2", "2001:db8:9:9::3")):
        email = f"guessed{n}@example.org"
        requested = await api.request_code(email, **at(f"2001:db8:7:{n}::1"))
        code = await api.wait_code(email)
        refused.append(
            (await confirm(api, requested, wrong(code), address)).json()["error"]["code"]
        )
    assert refused == ["invalid_code", "invalid_code", "too_many_guesses"]


async def test_a_stranger_cannot_lock_the_player_out_of_codes(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_EMAIL_RATE_LIMIT="2")
    stranger = at("203.0.113.66")
    assert (await api.request_code("victim@example.org", **stranger)).status_code == 202
    assert (await api.request_code("victim@example.org", **stranger)).status_code == 202
    assert (await api.request_code("victim@example.org", **stranger)).status_code == 429
    await api.wait_code("victim@example.org", 2)
    # The player, from their own address, still gets a code and signs in.
    signed = await api.sign_in("victim@example.org", **HOME)
    assert signed["user"]["email"] == "victim@example.org"


async def test_strangers_mail_a_player_a_bounded_number_of_codes_a_day(start_api) -> None:  # type: ignore[no-untyped-def]
    api: Api = await start_api(BACKEND_AUTH_EMAIL_DAILY_LIMIT="4")
    # The player's first code came from a network not yet known: one of the four.
    await api.sign_in("bombed@example.org", **HOME)
    answers = [
        (await api.request_code("bombed@example.org", **at(f"203.0.113.{n}"))).status_code
        for n in range(1, 6)
    ]
    assert answers == [202, 202, 202, 429, 429]
    # The player's own network is not held to the strangers' budget...
    assert (await api.request_code("bombed@example.org", **HOME)).status_code == 202
    await api.wait_code("bombed@example.org", 5)
    # ...and the mail that reached the player is bounded: theirs, and the strangers' three.
    assert len(api.inbox.sign_in_mails("bombed@example.org")) == 5
    refused = await api.request_code("bombed@example.org", **at("203.0.113.99"))
    assert refused.status_code == 429
    assert 3600 < int(refused.headers["retry-after"]) <= 86400


async def test_guessing_at_one_players_codes_is_bounded_a_day_and_the_player_told(
    start_api,  # type: ignore[no-untyped-def]
) -> None:
    api: Api = await start_api(BACKEND_AUTH_EMAIL_GUESS_LIMIT="3")
    email = "guessed@example.org"
    await api.sign_in(email, **HOME)
    codes = 1
    # Three strangers' networks, one wrong code each: the email's budget for the day.
    for n in range(3):
        requested = await api.request_code(email, **at(f"203.0.113.{10 + n}"))
        codes += 1
        code = await api.wait_code(email, codes)
        answer = await confirm(api, requested, wrong(code), f"203.0.113.{10 + n}")
        assert answer.json()["error"]["code"] == "invalid_code"
    # A fourth stranger is refused even with the right code (a lucky guess would be).
    requested = await api.request_code(email, **at("203.0.113.20"))
    codes += 1
    code = await api.wait_code(email, codes)
    lucky = await confirm(api, requested, code, "203.0.113.20")
    assert lucky.status_code == 429
    assert lucky.json()["error"]["code"] == "too_many_guesses"
    assert 0 < int(lucky.headers["retry-after"]) <= 86400
    # The player was told once, and still signs in from home.
    await confirm(api, requested, wrong(code), "203.0.113.21")
    signed = await api.sign_in(email, **HOME)
    assert signed["user"]["email"] == email
    warnings = [m for m in api.inbox.to(email) if m["Subject"] == GUESSING_SUBJECT]
    assert len(warnings) == 1
    text = warnings[0].get_body(preferencelist=("plain",)).get_content()
    assert "3 wrong sign-in codes" in text
