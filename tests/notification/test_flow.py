"""Notifications through the HTTP API, a real gRPC subscriber and a real SMTP server."""

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import transaction
from tests.notification.conftest import Gateway
from tests.support import eventually
from tests.support.api import Api, bearer

StartGateway = Callable[..., Awaitable[Gateway]]


async def players(api: Api, *emails: str) -> list[dict[str, Any]]:
    return [await api.sign_in(email) for email in emails]


async def message(api: Api, admin: str, **body: Any) -> httpx.Response:
    return await api.client.post("/api/v1/admin/notifications", json=body, headers=bearer(admin))


async def inbox(api: Api, token: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get(
        "/api/v1/user/notifications", params=params, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_operator_message_reaches_its_user_by_push_and_email_only(
    api: Api, gateway: StartGateway
) -> None:
    ada, bob = await players(api, "ada@example.org", "bob@example.org")
    admin = await api.admin_token()
    subscriber = await gateway(api)
    sent = await message(
        api, admin, user_ids=[ada["user"]["id"]], title="Maintenance", body="Down at 10:00."
    )
    assert sent.status_code == 202, sent.text
    [notification_id] = sent.json()["notification_ids"]

    await eventually(lambda: subscriber.notifications(ada["user"]["id"]), message="push")
    [pushed] = subscriber.notifications(ada["user"]["id"])
    assert pushed["id"] == notification_id
    assert (pushed["kind"], pushed["title"], pushed["body"]) == (
        "admin.message",
        "Maintenance",
        "Down at 10:00.",
    )
    await eventually(lambda: api.inbox.to("ada@example.org")[1:], message="the mail")
    mail = api.inbox.to("ada@example.org")[-1]
    assert mail["Subject"] == "Maintenance"
    assert "Down at 10:00." in mail.get_body(preferencelist=("plain",)).get_content()

    ada_inbox = await inbox(api, ada["token"])
    assert [n["id"] for n in ada_inbox["items"]] == [notification_id]
    assert ada_inbox["unread_count"] == 1
    assert (await inbox(api, bob["token"]))["items"] == []
    assert not subscriber.notifications(bob["user"]["id"])
    assert len(api.inbox.to("bob@example.org")) == 1  # only the sign-in code


async def test_preferences_decide_the_channels(api: Api, gateway: StartGateway) -> None:
    [ada] = await players(api, "quiet@example.org")
    admin = await api.admin_token()
    prefs = await api.client.get(
        "/api/v1/user/me/notification-preferences", headers=bearer(ada["token"])
    )
    by_kind = {p["kind"]: p for p in prefs.json()["items"]}
    assert (by_kind["admin.message"]["push"], by_kind["admin.message"]["email"]) == (True, True)
    assert by_kind["account.blocked"]["push"] is False  # the catalogue's own default
    changed = await api.client.patch(
        "/api/v1/user/me/notification-preferences",
        json={"preferences": {"admin.message": {"email": False}}},
        headers=bearer(ada["token"]),
    )
    assert changed.status_code == 200, changed.text
    after = {p["kind"]: p for p in changed.json()["items"]}
    assert (after["admin.message"]["push"], after["admin.message"]["email"]) == (True, False)

    subscriber = await gateway(api)
    await message(api, admin, user_ids=[ada["user"]["id"]], title="Hello", body="Push only.")
    await eventually(lambda: subscriber.notifications(ada["user"]["id"]), message="push")
    routes = await api.backend.database.pool.fetch(
        "SELECT channel FROM notification_routes WHERE user_id = $1", ada["user"]["id"]
    )
    assert [r["channel"] for r in routes] == ["push"]
    assert len(api.inbox.to("quiet@example.org")) == 1  # the code; no message mail


async def test_one_click_unsubscribe_turns_off_that_kind_only(api: Api) -> None:
    [ada] = await players(api, "unsub@example.org")
    admin = await api.admin_token()
    await message(api, admin, user_ids=[ada["user"]["id"]], title="News", body="Hi.")
    await eventually(lambda: api.inbox.to("unsub@example.org")[1:], message="the mail")
    mail = api.inbox.to("unsub@example.org")[-1]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = mail["List-Unsubscribe"].strip("<>")
    assert url in mail.get_body(preferencelist=("plain",)).get_content()
    parts = urlsplit(url)
    assert parts.path == "/api/v1/public/notifications/unsubscribe"
    token = parse_qs(parts.query)["token"][0]
    path = "/api/v1/public/notifications/unsubscribe"

    # Opening the link only asks (mail scanners fetch links); nothing changes yet.
    page = await api.client.get(path, params={"token": token})
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    # A tampered token, or one made over for another user, is refused.
    body, mac = token.split(".")
    for forged in (body + "." + mac[::-1], body[:-2] + "AA." + mac, "garbage", ""):
        refused = await api.client.post(path, params={"token": forged})
        assert refused.status_code == 422, forged
    prefs = await api.client.get(
        "/api/v1/user/me/notification-preferences", headers=bearer(ada["token"])
    )
    assert {p["kind"]: p for p in prefs.json()["items"]}["admin.message"]["email"] is True

    # The one-click POST (what mail clients send), no sign-in.
    done = await api.client.post(
        path, params={"token": token}, content="List-Unsubscribe=One-Click"
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"kind": "admin.message", "email": False}
    prefs = await api.client.get(
        "/api/v1/user/me/notification-preferences", headers=bearer(ada["token"])
    )
    by_kind = {p["kind"]: p for p in prefs.json()["items"]}
    assert (by_kind["admin.message"]["email"], by_kind["admin.message"]["push"]) == (False, True)
    assert by_kind["lobby.application.approved"]["email"] is True


async def test_a_mail_text_is_mailed_then_forgotten_and_never_kept_without_a_mail(
    api: Api,
) -> None:
    ada, bob = await players(api, "reports@example.org", "no-reports@example.org")
    changed = await api.client.patch(
        "/api/v1/user/me/notification-preferences",
        json={"preferences": {"runtime.turn.ready": {"email": False}}},
        headers=bearer(bob["token"]),
    )
    assert changed.status_code == 200, changed.text
    users = [UUID(ada["user"]["id"]), UUID(bob["user"]["id"])]
    async with transaction(api.backend.database) as tx:
        await api.backend.notifications.post(
            tx,
            Notice(
                kind="runtime.turn.ready",
                user_ids=users,
                title="Turn 3",
                body="A new turn ran.",
                mail_text={user: f"report for {user}" for user in users},
            ),
        )
    pool = api.backend.database.pool
    kept = "SELECT mail_text FROM notifications WHERE user_id = $1"
    # Bob gets no mail of this kind: his report is not stored at all.
    assert await pool.fetchval(kept, users[1]) is None

    await eventually(lambda: api.inbox.to("reports@example.org")[1:], message="the mail")
    mail = api.inbox.to("reports@example.org")[-1]
    assert f"report for {users[0]}" in mail.get_body(preferencelist=("plain",)).get_content()
    # Queued with its mail, the report is gone from the notification.
    assert await pool.fetchval(kept, users[0]) is None
    assert len(api.inbox.to("no-reports@example.org")) == 1  # only the sign-in code


async def test_the_inbox_pages_counts_and_forgets(api: Api) -> None:
    [ada] = await players(api, "reader@example.org")
    admin = await api.admin_token()
    for n in range(5):
        await message(api, admin, user_ids=[ada["user"]["id"]], title=f"n{n}", body="b")
    first = await inbox(api, ada["token"], limit=2)
    assert [i["title"] for i in first["items"]] == ["n4", "n3"]
    assert first["unread_count"] == 5
    second = await inbox(api, ada["token"], limit=2, cursor=first["next_cursor"])
    assert [i["title"] for i in second["items"]] == ["n2", "n1"]
    headers = bearer(ada["token"])
    newest = first["items"][0]["id"]
    read = await api.client.post(f"/api/v1/user/notifications/{newest}/read", headers=headers)
    assert read.status_code == 204
    assert (await inbox(api, ada["token"]))["unread_count"] == 4
    unread = await inbox(api, ada["token"], unread_only="true")
    assert newest not in [i["id"] for i in unread["items"]]
    gone = await api.client.delete(f"/api/v1/user/notifications/{newest}", headers=headers)
    assert gone.status_code == 204
    again = await api.client.delete(f"/api/v1/user/notifications/{newest}", headers=headers)
    assert again.status_code == 404
    marked = await api.client.post("/api/v1/user/notifications/read-all", headers=headers)
    assert marked.json() == {"marked": 4}
    after = await inbox(api, ada["token"])
    assert (len(after["items"]), after["unread_count"]) == (4, 0)


async def test_another_players_notification_is_not_found(api: Api) -> None:
    ada, bob = await players(api, "mine@example.org", "theirs@example.org")
    admin = await api.admin_token()
    sent = await message(api, admin, user_ids=[ada["user"]["id"]], title="t", body="b")
    [notification_id] = sent.json()["notification_ids"]
    for method, path in (
        ("POST", f"/api/v1/user/notifications/{notification_id}/read"),
        ("DELETE", f"/api/v1/user/notifications/{notification_id}"),
    ):
        response = await api.client.request(method, path, headers=bearer(bob["token"]))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "notification_not_found"
    # The owner's notification is untouched: still there, still unread.
    owned = await inbox(api, ada["token"])
    assert [(n["id"], n["read_at"]) for n in owned["items"]] == [(notification_id, None)]
    assert owned["unread_count"] == 1
    assert await inbox(api, bob["token"]) == {"items": [], "next_cursor": None, "unread_count": 0}


async def test_blocking_a_player_tells_them_by_email(api: Api) -> None:
    [ada] = await players(api, "blocked@example.org")
    admin = await api.admin_token()
    blocked = await api.client.post(
        f"/api/v1/admin/users/{ada['user']['id']}/block",
        json={"kind": "permanent", "reason": "cheating"},
        headers=bearer(admin),
    )
    assert blocked.status_code == 200
    await eventually(lambda: api.inbox.to("blocked@example.org")[1:], message="the mail")
    mail = api.inbox.to("blocked@example.org")[-1]
    assert "cheating" in mail.get_body(preferencelist=("plain",)).get_content()
    kinds = await api.backend.database.pool.fetch(
        "SELECT kind FROM notifications WHERE user_id = $1", ada["user"]["id"]
    )
    assert [k["kind"] for k in kinds] == ["account.blocked"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_ids": [], "title": "t", "body": "b"}, "user_ids"),
        ({"title": "t", "body": "b"}, "body"),
        ({"user_ids": ["ID"], "title": "t", "body": "b", "kind": "lobby.x"}, "kind"),
        ({"user_ids": ["ID"], "title": "t", "body": "b", "channels": ["sms"]}, "channels.0"),
        ({"user_ids": ["ID"], "title": "t", "body": "b", "channels": []}, "channels"),
        ({"user_ids": ["ID"], "title": "t" * 201, "body": "b"}, "title"),
        ({"user_ids": ["ID"], "title": "t", "body": "b" * 20_001}, "body"),
        ({"user_ids": ["ID"], "title": "nul\u0000", "body": "b"}, "title"),
        ({"user_ids": ["ID"], "title": "t", "body": "\u0007"}, "body"),
        # jsonb refuses NUL anywhere in a payload; orjson, integers past 64 bits.
        (
            {"user_ids": ["ID"], "title": "t", "body": "b", "payload": {"k": "nul\u0000"}},
            "payload.k",
        ),
        (
            {"user_ids": ["ID"], "title": "t", "body": "b", "payload": {"k": [{"n\u0000": 1}]}},
            "payload.k",
        ),
        ({"user_ids": ["ID"], "title": "t", "body": "b", "payload": {"k": 2**64}}, "payload.k"),
        ({"audience": "all", "title": "t", "body": "b", "payload": {"k": "\u0000"}}, "payload.k"),
        (
            {"user_ids": ["00000000-0000-0000-0000-000000000000"], "title": "t", "body": "b"},
            "user_ids",
        ),
        ({"user_ids": ["ID"], "audience": "all", "title": "t", "body": "b"}, "body"),
    ],
)
async def test_bad_operator_messages_are_422_and_write_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    [ada] = await players(api, "target@example.org")
    admin = await api.admin_token()
    if "user_ids" in body:
        body["user_ids"] = [ada["user"]["id"] if u == "ID" else u for u in body["user_ids"]]
    response = await message(api, admin, **body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    named = [f["field"] for f in error["details"].get("fields", [])] + [
        error["details"].get("field")
    ]
    assert field in named, error
    pool = api.backend.database.pool
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 0
    assert await pool.fetchval("SELECT count(*) FROM notification_broadcasts") == 0


async def test_a_dispatch_joins_the_trace_of_the_request_that_caused_it(
    start_api: Callable[..., Awaitable[Api]],
) -> None:
    # A recording exporter ("none" records no span at all); the test reads its own processor.
    api = await start_api(
        BACKEND_OTEL_TRACES_EXPORTER="stdout", BACKEND_OTEL_TRACES_SAMPLE_RATIO="1.0"
    )
    spans = InMemorySpanExporter()
    api.backend.telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    [ada] = await players(api, "traced@example.org")
    admin = await api.admin_token()
    sent = await message(api, admin, user_ids=[ada["user"]["id"]], title="t", body="b")
    [notification_id] = sent.json()["notification_ids"]

    def finished(name: str) -> list[Any]:
        return [s for s in spans.get_finished_spans() if s.name == name]

    await eventually(lambda: len(finished("notification deliver")) == 2, message="two routes")
    [request] = [s for s in finished("POST /api/v1/admin/notifications") if s.kind.name == "SERVER"]
    for dispatch in finished("notification deliver"):
        assert dispatch.context.trace_id == request.context.trace_id
        assert dispatch.attributes["notification.id"] == notification_id
    assert {d.attributes["notification.channel"] for d in finished("notification deliver")} == {
        "push",
        "email",
    }
