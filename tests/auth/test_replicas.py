"""Two replicas on one database, each with its own data dir, as a deployment runs them."""

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.api import Api, bearer


async def test_a_code_asked_for_on_one_replica_is_accepted_by_another(
    start_api: Callable[..., Awaitable[Api]], tmp_path: Path
) -> None:
    first = await start_api(BACKEND_DATA_DIR=str(tmp_path / "one"))
    second = await start_api(BACKEND_DATA_DIR=str(tmp_path / "two"))
    assert first.backend.internal_token == second.backend.internal_token
    response = await first.request_code("roaming@example.org")
    code = await first.wait_code("roaming@example.org")
    confirmed = await second.client.post(
        "/api/v1/public/auth/email-code/confirm",
        json={"challenge_id": response.json()["challenge_id"], "code": code},
    )
    assert confirmed.status_code == 200, confirmed.text
    # The gateway's one token opens the internal API of both.
    for api in (first, second):
        resolved = await api.client.post(
            "/api/v1/internal/sessions/resolve",
            json={"token": confirmed.json()["token"]},
            headers=bearer(api.backend.internal_token),
        )
        assert resolved.status_code == 200
