"""Admin: list deliveries by status with a cursor, retry a failed one (audited), over HTTP too."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from galaxy_backend.audit.trail import Actor
from galaxy_backend.kernel.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from galaxy_backend.mail import MailService
from galaxy_backend.mail.routes import admin_router
from galaxy_backend.postgres import Database
from galaxy_backend.server.auth import AUDIENCE_PREFIXES, AudienceGuard, CallerInfo, Principal
from galaxy_backend.server.http_app import build_http_app
from tests.mail.helpers import WorkerFactory, enqueue_many, statuses
from tests.support import eventually
from tests.support.receiver import Receiver

ADMIN_TOKEN = "admin-token-" + "a" * 32
VIEWER_TOKEN = "viewer-token-" + "v" * 32


@pytest.fixture
async def admin_id(database: Database) -> uuid.UUID:
    """An operator account row, so audit rows can point at it."""
    account = uuid.uuid4()
    await database.pool.execute(
        "INSERT INTO admin_accounts (id, username, username_normalized, password_hash, role)"
        " VALUES ($1, 'ops', 'ops', 'not-a-real-hash', 'admin')",
        account,
    )
    return account


def actor(admin_id: uuid.UUID) -> Actor:
    return Actor(admin_id=str(admin_id), username="ops", client_ip="192.0.2.7")


async def fail(database: Database, *ids: uuid.UUID, attempts: int = 1) -> None:
    await database.pool.execute(
        "UPDATE mail_deliveries SET status = 'failed', attempts = $2,"
        " last_error = '550 no such user' WHERE id = ANY($1::uuid[])",
        list(ids),
        attempts,
    )


async def audit_rows(database: Database) -> list[dict[str, object]]:
    rows = await database.pool.fetch("SELECT * FROM admin_audit ORDER BY id")
    return [dict(row) for row in rows]


async def test_listing_pages_newest_first_and_filters_by_status(
    service: MailService, database: Database
) -> None:
    ids = []
    for _ in range(5):
        ids += await enqueue_many(service, database, 1)
    await fail(database, ids[1], ids[3])

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await service.list_deliveries(status=None, cursor=cursor, limit=2)
        seen += page
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert [d.id for d in seen] == list(reversed(ids))
    assert all(not hasattr(d, "body_text") and not hasattr(d, "body_html") for d in seen)
    pending = next(d for d in seen if d.status == "pending")
    assert pending.next_attempt_at is not None

    failed, cursor = await service.list_deliveries(status="failed", cursor=None, limit=1)
    assert [d.id for d in failed] == [ids[3]]
    assert failed[0].last_error == "550 no such user"
    assert failed[0].next_attempt_at is None
    rest, cursor = await service.list_deliveries(status="failed", cursor=cursor, limit=1)
    assert [d.id for d in rest] == [ids[1]]
    assert cursor is None


async def test_listing_refuses_unknown_statuses_cursors_and_limits(
    service: MailService,
) -> None:
    cases: list[tuple[str | None, str | None, int, str]] = [
        ("lost", None, 10, "status"),
        (None, "not-a-cursor", 10, "cursor"),
        (None, "MjAyNnwx", 10, "cursor"),
        (None, None, 0, "limit"),
        (None, None, 201, "limit"),
    ]
    for status, cursor, limit, field in cases:
        with pytest.raises(InvalidInput) as caught:
            await service.list_deliveries(status=status, cursor=cursor, limit=limit)
        assert caught.value.details["field"] == field, (status, cursor, limit)


async def test_retrying_a_failed_mail_requeues_it_with_a_fresh_budget_and_audits_it(
    service: MailService,
    database: Database,
    receiver: Receiver,
    make_worker: WorkerFactory,
    admin_id: uuid.UUID,
) -> None:
    [delivery_id] = await enqueue_many(service, database, 1)
    await fail(database, delivery_id, attempts=3)

    delivery = await service.retry(delivery_id, actor(admin_id))
    assert delivery.status == "pending"
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is not None

    [row] = await audit_rows(database)
    assert row["admin_id"] == admin_id
    assert row["admin_username"] == "ops"
    assert row["action"] == "mail.delivery.retry"
    assert (row["target_type"], row["target_id"]) == ("mail_delivery", str(delivery_id))
    assert str(row["client_ip"]) == "192.0.2.7"

    # Three attempts already spent and a budget of three: only the reset lets it go out.
    await make_worker(max_attempts=3)
    await eventually(
        lambda: _status_is(database, delivery_id, "sent"), message="sent after the retry"
    )
    attempt = await database.pool.fetchval(
        "SELECT attempt FROM mail_attempts WHERE delivery_id = $1", delivery_id
    )
    assert attempt == 4
    assert receiver.counts() == {str(delivery_id): 1}


async def _status_is(database: Database, delivery_id: uuid.UUID, status: str) -> bool:
    return (await statuses(database))[delivery_id] == status


async def test_only_a_failed_mail_can_be_retried_and_refusals_leave_no_audit_row(
    service: MailService, database: Database, admin_id: uuid.UUID
) -> None:
    [delivery_id] = await enqueue_many(service, database, 1)
    with pytest.raises(Conflict) as caught:
        await service.retry(delivery_id, actor(admin_id))
    assert caught.value.code == "mail_delivery_not_failed"
    with pytest.raises(NotFound):
        await service.retry(uuid.uuid4(), actor(admin_id))
    assert await audit_rows(database) == []
    assert (await statuses(database))[delivery_id] == "pending"


class TokenAdmins:
    """Admin sessions for the test: one operator with the admin role, one viewer."""

    def __init__(self, admin_id: uuid.UUID) -> None:
        self._admin_id = admin_id

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        roles = {ADMIN_TOKEN: "admin", VIEWER_TOKEN: "viewer"}.get(token)
        if roles is None:
            raise Unauthenticated("unknown admin token")
        return Principal(
            audience="admin",
            subject=str(self._admin_id),
            roles=frozenset({roles}),
            expires_at=None,
            attributes={"username": "ops"},
        )


@pytest.fixture
async def http(service: MailService, admin_id: uuid.UUID) -> AsyncIterator[httpx.AsyncClient]:
    app = build_http_app(
        version="test",
        routers=[admin_router(service)],
        fast_routes=[],
        guards=[AudienceGuard("admin", AUDIENCE_PREFIXES["admin"], TokenAdmins(admin_id))],
        tracer=TracerProvider().get_tracer("test"),
        meter=MeterProvider().get_meter("test"),
        max_body_bytes=1 << 16,
    )
    transport = httpx.ASGITransport(app=app, client=("198.51.100.4", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://backend") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_admin_routes_list_and_retry_over_http(
    service: MailService, database: Database, http: httpx.AsyncClient
) -> None:
    ids = [(await enqueue_many(service, database, 1))[0] for _ in range(3)]
    await fail(database, ids[0])
    url = "/api/v1/admin/mail/deliveries"

    listed = await http.get(url, params={"limit": 2}, headers=bearer(VIEWER_TOKEN))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [item["id"] for item in body["items"]] == [str(ids[2]), str(ids[1])]
    assert set(body["items"][0]) == {
        "id", "kind", "to", "subject", "status", "attempts", "next_attempt_at",
        "last_error", "created_at", "updated_at", "sent_at",
    }  # fmt: skip
    more = await http.get(
        url, params={"limit": 2, "cursor": body["next_cursor"]}, headers=bearer(VIEWER_TOKEN)
    )
    assert [item["id"] for item in more.json()["items"]] == [str(ids[0])]
    assert more.json()["next_cursor"] is None

    failed = await http.get(url, params={"status": "failed"}, headers=bearer(VIEWER_TOKEN))
    assert [item["id"] for item in failed.json()["items"]] == [str(ids[0])]
    for params in ({"status": "lost"}, {"limit": 0}, {"limit": 201}):
        refused = await http.get(url, params=params, headers=bearer(VIEWER_TOKEN))
        assert refused.status_code == 422, params
    assert (await http.get(url)).status_code == 401

    retry_url = f"{url}/{ids[0]}/retry"
    assert (await http.post(retry_url, headers=bearer(VIEWER_TOKEN))).status_code == 403
    retried = await http.post(retry_url, headers=bearer(ADMIN_TOKEN))
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"
    again = await http.post(retry_url, headers=bearer(ADMIN_TOKEN))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "mail_delivery_not_failed"
    missing = await http.post(f"{url}/{uuid.uuid4()}/retry", headers=bearer(ADMIN_TOKEN))
    assert missing.status_code == 404

    [row] = await audit_rows(database)
    assert row["action"] == "mail.delivery.retry"
    assert str(row["client_ip"]) == "198.51.100.4"
