"""The live check of orders and the orders sent read back, through the backend's HTTP API
against a real engine: what a web editor shows before the turn."""

import asyncio
import time
from collections import Counter
from uuid import uuid4

from tests.support import eventually
from tests.support.table import StartTable

ORDERS = "d Gun 2 1 2 1 0\nk nonsense\n"


async def test_orders_are_checked_without_being_sent_and_read_back_once_sent(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    a, b = table.players
    client = table.lobby.client
    base = f"/api/v1/user/games/{table.game_id}"

    nothing = await client.get(f"{base}/orders", headers=a.headers)
    assert nothing.status_code == 200, nothing.text
    assert nothing.json() == {"turn": 1, "orders": None, "errors": []}

    checked = await client.post(f"{base}/orders/check", json={"orders": ORDERS}, headers=a.headers)
    assert checked.status_code == 200, checked.text
    verdict = checked.json()
    assert verdict["accepted"] is False
    assert [(e["line"], e["order"]) for e in verdict["errors"]] == [(2, "k nonsense")]
    assert [t["name"] for t in verdict["forecast"]["ship_types"]] == ["Gun"]
    # Checked only: the engine kept nothing, nobody has sent orders.
    assert (await client.get(f"{base}/orders", headers=a.headers)).json()["orders"] is None
    assert not any(p["orders_submitted"] for p in (await table.status(a))["players"])

    sent = await client.put(f"{base}/orders", json={"orders": ORDERS}, headers=a.headers)
    assert sent.status_code == 200, sent.text
    back = await client.get(f"{base}/orders", headers=a.headers)
    assert back.json() == {"turn": 1, "orders": ORDERS, "errors": sent.json()["errors"]}
    # Each player reads back only their own.
    assert (await client.get(f"{base}/orders", headers=b.headers)).json()["orders"] is None


async def test_bad_checks_are_refused_with_their_codes(start_table: StartTable) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    a = table.players[0]
    outsider = await table.lobby.player("outsider")
    client = table.lobby.client
    base = f"/api/v1/user/games/{table.game_id}"

    too_long = await client.post(
        f"{base}/orders/check", json={"orders": "x" * 200_001}, headers=a.headers
    )
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["error"]["details"]["fields"][0]["field"] == "orders"
    extra = await client.post(
        f"{base}/orders/check", json={"orders": "", "turn": 1}, headers=a.headers
    )
    assert extra.status_code == 422
    for method, path, body in (("POST", "/orders/check", {"orders": ""}), ("GET", "/orders", None)):
        unsigned = await client.request(method, f"{base}{path}", json=body)
        assert unsigned.status_code == 401
        stranger = await client.request(
            method, f"{base}{path}", json=body, headers=outsider.headers
        )
        assert (stranger.status_code, stranger.json()["error"]["code"]) == (403, "not_a_player")
        missing = await client.request(
            method, f"/api/v1/user/games/{uuid4()}{path}", json=body, headers=a.headers
        )
        # As for the orders themselves: no runtime record, no such game to play.
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "runtime_not_found")


async def test_a_players_checks_are_bounded_and_a_paced_editor_is_not(
    start_table: StartTable,
) -> None:
    """Four checks a second, two at once: the editor's 250 ms pause stays within it; a
    burst is refused with 429 and Retry-After; another player is not slowed by it."""
    table = await start_table(
        turn_schedule="@every 1h",
        turn_time_zone="UTC",
        env={"BACKEND_RUNTIME_ORDERS_CHECK_RATE": "4", "BACKEND_RUNTIME_ORDERS_CHECK_BURST": "2"},
    )
    a, b = table.players
    client = table.lobby.client
    url = f"/api/v1/user/games/{table.game_id}/orders/check"
    body = {"orders": "d Probe 1 0 0 0 0\n"}

    for _ in range(6):
        paced = await client.post(url, json=body, headers=a.headers)
        assert paced.status_code == 200, paced.text
        # The pace under test (the web editor's pause after a keystroke), not a wait.
        await asyncio.sleep(0.25)

    started = time.monotonic()
    burst = await asyncio.gather(
        *(client.post(url, json=body, headers=a.headers) for _ in range(30))
    )
    elapsed = time.monotonic() - started
    codes = Counter(r.status_code for r in burst)
    assert set(codes) == {200, 429}, codes
    assert codes[200] <= 2 + 4 * elapsed + 1, (codes, elapsed)
    refused = next(r for r in burst if r.status_code == 429)
    error = refused.json()["error"]
    assert error["code"] == "too_many_requests"
    assert int(refused.headers["retry-after"]) == error["details"]["retry_after_seconds"] >= 1
    assert "4 a second" in error["message"]
    # Per player: the other one checks at once.
    other = await client.post(url, json=body, headers=b.headers)
    assert other.status_code == 200, other.text

    async def allowed_again() -> bool:
        again = await client.post(url, json=body, headers=a.headers)
        return again.status_code == 200

    await eventually(allowed_again, timeout=int(refused.headers["retry-after"]) + 5)
