"""Country of sign-up from the client address; X-Forwarded-For only from trusted proxies."""

from pathlib import Path

from tests.geo.conftest import write_mmdb
from tests.support.api import Api, bearer


async def test_country_comes_from_the_forwarded_address_of_a_trusted_proxy(
    start_api,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    mmdb = write_mmdb(tmp_path / "countries.mmdb")
    api: Api = await start_api(BACKEND_GEOIP_DB_PATH=str(mmdb))
    signed = await api.sign_in("paris@example.org", **{"X-Forwarded-For": "5.10.1.2"})
    assert signed["user"]["country"] == "FR"
    ipv6 = await api.sign_in("berlin@example.org", **{"X-Forwarded-For": "2a01:4f8::1"})
    assert ipv6["user"]["country"] == "DE"
    sessions = await api.client.get("/api/v1/user/me/sessions", headers=bearer(ipv6["token"]))
    assert sessions.json()["items"][0]["client_ip"] == "2a01:4f8::1"


async def test_forwarded_addresses_from_untrusted_peers_are_ignored(
    start_api,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    mmdb = write_mmdb(tmp_path / "countries.mmdb")
    api: Api = await start_api(
        BACKEND_GEOIP_DB_PATH=str(mmdb), BACKEND_TRUSTED_PROXIES="10.0.0.0/8"
    )
    signed = await api.sign_in("spoofer@example.org", **{"X-Forwarded-For": "5.10.1.2"})
    # The peer is 127.0.0.1, not a trusted proxy: its own (loopback) address is used.
    assert signed["user"]["country"] is None
    sessions = await api.client.get("/api/v1/user/me/sessions", headers=bearer(signed["token"]))
    assert sessions.json()["items"][0]["client_ip"] == "127.0.0.1"


async def test_bundled_data_gives_a_country(api: Api) -> None:
    signed = await api.sign_in("google@example.org", **{"X-Forwarded-For": "8.8.8.8"})
    assert signed["user"]["country"] == "US"


async def test_sign_ins_and_activity_reach_the_geo_statistics(api: Api) -> None:
    signed = await api.sign_in("counted@example.org", **{"X-Forwarded-For": "193.0.6.139"})
    await api.client.get("/api/v1/user/me", headers=bearer(signed["token"]))
    await api.backend.geo.flush()  # the counter writes, now rather than shortly
    admin = bearer(await api.admin_token())
    stats = await api.client.get("/api/v1/admin/geo/stats", params={"days": 1}, headers=admin)
    assert stats.status_code == 200
    rows = {row["country"]: row for row in stats.json()["items"]}
    assert rows["NL"]["sign_ins"] == 1


async def test_behind_a_gateway_on_the_default_dual_stack_bind(
    start_api,  # type: ignore[no-untyped-def]
) -> None:
    # ":port" listens on IPv4 and IPv6, so the loopback gateway is seen as ::ffff:127.0.0.1.
    api: Api = await start_api(BACKEND_HTTP_ADDR=":0", BACKEND_AUTH_IP_RATE_LIMIT="2")
    first = await api.sign_in("one@example.org", **{"X-Forwarded-For": "198.51.100.1"})
    sessions = await api.client.get("/api/v1/user/me/sessions", headers=bearer(first["token"]))
    assert sessions.json()["items"][0]["client_ip"] == "198.51.100.1"
    # Each player behind the gateway has a limit of their own, not one shared by everyone.
    for n in range(2):
        response = await api.request_code(
            f"a{n}@example.org", **{"X-Forwarded-For": "198.51.100.2"}
        )
        assert response.status_code == 202, response.text
    refused = await api.request_code("a9@example.org", **{"X-Forwarded-For": "198.51.100.2"})
    assert refused.status_code == 429
    other = await api.request_code("b@example.org", **{"X-Forwarded-For": "198.51.100.3"})
    assert other.status_code == 202


async def test_a_malformed_forwarded_for_falls_back_to_the_peer(api: Api) -> None:
    for junk in ("unknown", "198.51.100.1, garbage", "';--"):
        response = await api.request_code("junk@example.org", **{"X-Forwarded-For": junk})
        assert response.status_code == 202, response.text
    rows = await api.backend.database.pool.fetch(
        "SELECT host(client_ip) AS ip FROM auth_challenges WHERE email_normalized = $1",
        "junk@example.org",
    )
    assert {row["ip"] for row in rows} == {"127.0.0.1"}
