"""Named errors: one class per code, its status from its kind, listed per route in OpenAPI."""

import httpx

from galaxy_backend.admin.errors import InvalidCredentials, OperatorNotFound, PasswordChecksBusy
from galaxy_backend.kernel.errors import NotFound
from galaxy_backend.server.errors import errors_of, status_for
from galaxy_backend.wiring import Backend


def test_a_named_error_carries_its_code_summary_and_kind() -> None:
    error = OperatorNotFound()
    assert isinstance(error, NotFound)
    assert (error.code, error.message, status_for(error)) == (
        "operator_not_found",
        "no such operator",
        404,
    )
    assert OperatorNotFound("gone", details={"id": "x"}).details == {"id": "x"}


def test_errors_of_groups_by_status_with_an_example_of_each_code() -> None:
    responses = errors_of(InvalidCredentials, PasswordChecksBusy, OperatorNotFound)
    assert sorted(responses) == [401, 404, 503]
    assert "`invalid_credentials`" in responses[401]["description"]
    examples = responses[404]["content"]["application/json"]["examples"]
    assert examples["operator_not_found"]["value"]["error"]["code"] == "operator_not_found"
    assert "Retry-After" in responses[503]["headers"]
    assert "headers" not in responses[404]


async def test_openapi_lists_a_routes_named_errors_and_the_database_outage(
    start_backend,
) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        spec = (await client.get("/openapi.json")).json()
        refused = await client.post(
            "/api/v1/admin/auth/login", json={"username": "nobody", "password": "wrong"}
        )
    login = spec["paths"]["/api/v1/admin/auth/login"]["post"]["responses"]
    assert "invalid_credentials" in login["401"]["content"]["application/json"]["examples"]
    assert "`busy`" in login["503"]["description"]
    assert "`database_unavailable`" in login["503"]["description"]
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_credentials"
