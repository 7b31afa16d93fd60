"""A flood of wrong operator logins does not keep the real operator out: checks are bounded
per network before the password is looked at, and a network that has not failed is
checked ahead of those that have."""

import asyncio
from collections import Counter

import httpx

from tests.support.api import ADMIN_PASSWORD, ADMIN_USER, Api

LOGIN = "/api/v1/admin/auth/login"


async def flood(
    client: httpx.AsyncClient, addresses: list[str], operator: str
) -> tuple[list[httpx.Response], httpx.Response]:
    """Wrong passwords from every address at once, and the operator's login among them."""

    def attempt(password: str, address: str) -> "asyncio.Future[httpx.Response]":
        return asyncio.ensure_future(
            client.post(
                LOGIN,
                json={"username": ADMIN_USER, "password": password},
                headers={"X-Forwarded-For": address},
            )
        )

    attackers = [attempt("not the password", a) for a in addresses]
    operator_login = attempt(ADMIN_PASSWORD, operator)
    return list(await asyncio.gather(*attackers)), await operator_login


def client_for(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=str(api.client.base_url),
        limits=httpx.Limits(max_connections=300, max_keepalive_connections=300),
        timeout=60,
    )


async def test_rotating_inside_one_64_is_checked_once_at_a_time(api: Api) -> None:
    rotating = [f"2001:db8:66::{n:x}" for n in range(1, 61)]
    async with client_for(api) as client:
        attackers, operator = await flood(client, rotating, "192.0.2.10")
    assert operator.status_code == 200, operator.text
    answers = Counter((r.status_code, r.json()["error"]["code"]) for r in attackers)
    # Most never reached the password check; none found the server busy.
    assert answers[(429, "too_many_attempts")] >= 40, answers
    assert set(answers) <= {(401, "invalid_credentials"), (429, "too_many_attempts")}, answers


async def test_the_operator_gets_in_through_floods_from_many_networks(start_api) -> None:  # type: ignore[no-untyped-def]
    # One argon2 thread: 1 + 4 suspect checks admitted at once, 1 + 16 in each other lane.
    api: Api = await start_api(BACKEND_ADMIN_MAX_CONCURRENT_LOGINS="1")
    networks = [f"198.18.0.{n}" for n in range(1, 21)]
    async with client_for(api) as client:
        # The operator signed in from here before: checked ahead of everyone else.
        home = await client.post(
            LOGIN,
            json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.10"},
        )
        assert home.status_code == 200
        attackers, operator = await flood(client, networks, "192.0.2.10")
        assert operator.status_code == 200, operator.text
        first = Counter(r.status_code for r in attackers)
        # 17 fit their lane (the flood came at once; each check takes tens of ms).
        assert set(first) <= {401, 503} and first[401] >= 17, first
        # Again, now that most of them have failed: their lane fills and is refused, and
        # the operator from an address never seen before (that has not failed) gets in.
        attackers, operator = await flood(client, networks, "203.0.113.200")
        assert operator.status_code == 200, operator.text
        second = Counter((r.status_code, r.json()["error"]["code"]) for r in attackers)
        # The failed ones' lane holds 5: the rest of them never reached a password check.
        assert set(second) == {(401, "invalid_credentials"), (503, "busy")}, second
