"""Hot routes served straight from the edge: no Starlette request, no dependency injection.

A fast route is matched by exact method and path before the FastAPI app is entered. It is
documented in the OpenAPI description like any other route (see `openapi.py`).

Which routes belong here: only the few that every gateway request or client poll pays for,
where FastAPI's per-request cost (routing, dependency injection, response validation) is
a measurable share of the whole — today the probes, `GET /api/v1/user/me`,
`POST /api/v1/internal/sessions/resolve`, the sign-in confirmation and the public game
listing `GET /api/v1/public/games` (polled by every lobby page; bench/lobby.py). Everything else,
however simple, is an ordinary FastAPI route: a fast route gives up FastAPI's checks, so it
must earn its place with a benchmark (bench/), and be named in this list and in README.

A fast route may keep a reply that depends on one cached row alone with that row's cache
entry (`WriteThroughCache.derived`, as `/me` and resolve do), never anything the request's
checks decide: those run on every request.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import Receive, Scope

from galaxy_backend.server.auth import Audience, Principal, scope_client_ip, scope_user_agent
from galaxy_backend.server.errors import MalformedJSON, PayloadTooLarge, RequestValidationFailed

T = TypeVar("T")

JSON_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = JSON_HEADERS


def json_reply(value: Any, status: int = 200) -> Reply:
    """JSON as FastAPI routes write it (UTC times end in Z), so both paths agree."""
    if isinstance(value, BaseModel):
        return Reply(status, value.__pydantic_serializer__.to_json(value))
    # default=str covers asyncpg's own UUID type, which orjson does not know.
    return Reply(status, orjson.dumps(value, default=str, option=orjson.OPT_UTC_Z))


class FastRequest:
    """The little a hot handler needs: headers, the bounded body, the principal."""

    __slots__ = ("_body", "_max_body", "_receive", "principal", "request_id", "scope")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        *,
        principal: Principal | None,
        request_id: str,
        max_body: int,
    ) -> None:
        self.scope = scope
        self._receive = receive
        self.principal = principal
        self.request_id = request_id
        self._max_body = max_body
        self._body: bytes | None = None

    @property
    def client_ip(self) -> str | None:
        return scope_client_ip(self.scope)

    @property
    def user_agent(self) -> str | None:
        return scope_user_agent(self.scope)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.scope["headers"]:
            if key == name:
                return bytes(value)
        return None

    async def body(self) -> bytes:
        if self._body is None:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._max_body:
                    raise PayloadTooLarge(f"request body exceeds {self._max_body} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            self._body = b"".join(chunks)
        return self._body

    def query(self, adapter: TypeAdapter[T], *, lists: frozenset[str] = frozenset()) -> T:
        """Validate the query string as FastAPI would: the last value of a repeated
        parameter, every value of those in `lists`; errors are the same 422 body."""
        raw = self.scope.get("query_string", b"").decode("latin-1")
        params: dict[str, Any] = {}
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=100)
        except ValueError:
            raise RequestValidationFailed(
                [
                    {
                        "field": "query",
                        "location": "query",
                        "code": "too_many_parameters",
                        "message": "too many query parameters",
                    }
                ]
            ) from None
        for key, value in pairs:
            if key in lists:
                params.setdefault(key, []).append(value)
            else:
                params[key] = value
        try:
            return adapter.validate_python(params)
        except ValidationError as exc:
            raise RequestValidationFailed(validation_fields(exc.errors(), prefix="query")) from None

    async def parse(self, adapter: TypeAdapter[T]) -> T:
        """Validate the JSON body; errors become the same 422 body FastAPI routes give."""
        raw = await self.body()
        try:
            return adapter.validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise MalformedJSON from None
            raise RequestValidationFailed(validation_fields(exc.errors(), prefix="body")) from None


def validation_fields(errors: Sequence[Any], *, prefix: str | None = None) -> list[dict[str, str]]:
    """Field, location and reason of each validation error, never the input value."""
    fields = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if prefix is not None:
            loc = [prefix, *loc]
        location = loc[0] if loc else "body"
        name = ".".join(loc[1:]) if len(loc) > 1 else location
        fields.append(
            {
                "field": name,
                "location": location,
                "code": str(error.get("type")),
                # Pydantic prefixes a validator's own words; the client shows them as they are.
                "message": str(error.get("msg")).removeprefix("Value error, "),
            }
        )
    return fields


Handler = Callable[[FastRequest], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    """A hot route: exact method and path, its audience, and what the OpenAPI says of it."""

    method: str
    path: str
    handler: Handler
    audience: Audience | None
    summary: str
    response_model: Any = None
    request_model: Any = None
    # A pydantic model whose fields are the route's query parameters (documented; the
    # handler parses them with `FastRequest.query`).
    query_model: Any = None
    status_code: int = 200
    responses: dict[int | str, dict[str, Any]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    # False for probes: served without a span or metrics, which would only be noise.
    traced: bool = True

    @property
    def span_name(self) -> str:
        return f"{self.method} {self.path}"
