"""Routes that fail, dead letters and requeues; broadcasts; the push ring's limits."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.notification.conftest import Gateway
from tests.support import eventually
from tests.support.api import Api, bearer
from tests.support.faults import ACCEPT_MAIL, REFUSE_MAIL

StartGateway = Callable[..., Awaitable[Gateway]]


async def test_a_route_that_keeps_failing_is_a_dead_letter_until_requeued(
    start_api: Callable[..., Awaitable[Api]],
) -> None:
    api = await start_api(
        BACKEND_NOTIFICATION_MAX_ATTEMPTS="3",
        BACKEND_NOTIFICATION_BACKOFF_MIN="50ms",
        BACKEND_NOTIFICATION_BACKOFF_MAX="100ms",
    )
    ada = await api.sign_in("unlucky@example.org")
    admin = bearer(await api.admin_token())
    pool = api.backend.database.pool
    # The fault is real: PostgreSQL itself refuses every new mail.
    await pool.execute(REFUSE_MAIL)
    sent = await api.client.post(
        "/api/v1/admin/notifications",
        json={
            "user_ids": [ada["user"]["id"]],
            "title": "Try",
            "body": "again",
            "channels": ["email"],
        },
        headers=admin,
    )
    assert sent.status_code == 202

    async def dead() -> list[dict[str, Any]]:
        listed = await api.client.get(
            "/api/v1/admin/notifications/dead-letters",
            params={"kind": "admin.message", "channel": "email"},
            headers=admin,
        )
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    await eventually(dead, timeout=20, message="the route is a dead letter")
    [letter] = await dead()
    assert letter["attempts"] == 3
    assert "refuses mail" in letter["last_error"]
    assert letter["user_id"] == ada["user"]["id"]

    await pool.execute(ACCEPT_MAIL)
    requeued = await api.client.post(
        f"/api/v1/admin/notifications/dead-letters/{letter['id']}/requeue", headers=admin
    )
    assert requeued.status_code == 202, requeued.text
    await eventually(lambda: api.inbox.to("unlucky@example.org")[1:], message="delivered at last")
    assert await dead() == []
    again = await api.client.post(
        f"/api/v1/admin/notifications/dead-letters/{letter['id']}/requeue", headers=admin
    )
    assert again.status_code == 404
    actions = await pool.fetch("SELECT action FROM admin_audit ORDER BY id")
    assert "notification.dead_letter.requeue" in [a["action"] for a in actions]


async def test_a_player_without_a_usable_address_is_a_dead_letter_at_once(api: Api) -> None:
    ada = await api.sign_in("soon-gone@example.org")
    admin = bearer(await api.admin_token())
    pool = api.backend.database.pool
    await pool.execute("UPDATE users SET email = 'not an address' WHERE id = $1", ada["user"]["id"])
    await api.client.post(
        "/api/v1/admin/notifications",
        json={"user_ids": [ada["user"]["id"]], "title": "t", "body": "b", "channels": ["email"]},
        headers=admin,
    )

    async def dead() -> bool:
        row = await pool.fetchrow("SELECT attempts, last_error FROM notification_dead_letters")
        return row is not None and row["attempts"] == 1

    await eventually(dead, message="dead at the first attempt")
    requeued = await api.client.post(
        "/api/v1/admin/notifications/dead-letters/requeue",
        json={"kind": "admin.message"},
        headers=admin,
    )
    assert requeued.json() == {"requeued": 1}


async def test_a_broadcast_reaches_every_active_player_once(
    start_api: Callable[..., Awaitable[Api]], gateway: StartGateway
) -> None:
    api = await start_api(BACKEND_NOTIFICATION_BROADCAST_BATCH="40")
    pool = api.backend.database.pool
    await pool.execute(
        """
        INSERT INTO users (id, email, email_normalized)
        SELECT gen_random_uuid(), 'p' || n || '@example.org', 'p' || n || '@example.org'
        FROM generate_series(1, 150) AS n
        """
    )
    await pool.execute(
        "UPDATE users SET block_kind = 'permanent', blocked_at = now()"
        " WHERE email = 'p1@example.org'"
    )
    await pool.execute("UPDATE users SET deleted_at = now() WHERE email = 'p2@example.org'")
    admin = bearer(await api.admin_token())
    subscriber = await gateway(api)
    sent = await api.client.post(
        "/api/v1/admin/notifications",
        json={"audience": "all", "title": "Season 2", "body": "It begins.", "channels": ["push"]},
        headers=admin,
    )
    assert sent.status_code == 202
    broadcast = sent.json()["broadcast_id"]

    async def finished() -> bool:
        status = await api.client.get(
            f"/api/v1/admin/notifications/broadcasts/{broadcast}", headers=admin
        )
        return status.json()["finished_at"] is not None

    await eventually(finished, message="the broadcast is written out")
    status = (
        await api.client.get(f"/api/v1/admin/notifications/broadcasts/{broadcast}", headers=admin)
    ).json()
    assert status["recipients"] == 148
    await eventually(lambda: len(subscriber.notifications()) == 148, message="148 pushes")
    assert len({tuple(e.user_ids) for e in subscriber.events if e.kind == "notification"}) == 148


async def test_a_late_gateway_past_the_ring_gets_a_reset_first(
    start_api: Callable[..., Awaitable[Api]], gateway: StartGateway
) -> None:
    api = await start_api(BACKEND_PUSH_RING_SIZE="16")
    ada = await api.sign_in("busy@example.org")
    first_cursor = api.backend.push.status().last_cursor
    admin = bearer(await api.admin_token())
    for n in range(20):
        await api.client.post(
            "/api/v1/admin/notifications",
            json={
                "user_ids": [ada["user"]["id"]],
                "title": f"n{n}",
                "body": "b",
                "channels": ["push"],
            },
            headers=admin,
        )

    async def all_pushed() -> bool:
        delivered = await api.backend.database.pool.fetchval(
            "SELECT count(*) FROM notification_routes WHERE status = 'delivered'"
        )
        return bool(delivered == 20)

    await eventually(all_pushed, message="20 pushes published")
    late = await gateway(api, after_cursor=first_cursor)
    await eventually(lambda: len(late.events) >= 17, message="reset then the retained events")
    assert late.events[0].kind == "push.reset"
    titles = [n["title"] for n in late.notifications()]
    assert titles == [f"n{n}" for n in range(4, 20)]
