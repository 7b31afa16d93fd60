"""The HTTP application: the four audience routers under one FastAPI app behind the edge."""

from collections.abc import Callable, Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from opentelemetry.metrics import Meter
from opentelemetry.trace import Tracer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from galaxy_backend.kernel.errors import DatabaseUnavailable, DomainError
from galaxy_backend.postgres.faults import UNAVAILABLE_ERRORS
from galaxy_backend.server.auth import AUDIENCE_PREFIXES, Audience, AudienceGuard
from galaxy_backend.server.client_address import ClientAddresses, Network
from galaxy_backend.server.docs import add_docs
from galaxy_backend.server.errors import (
    HTTP_CODES,
    MalformedJSON,
    RequestValidationFailed,
    error_body,
    headers_for,
    status_for,
)
from galaxy_backend.server.fastpath import FastRoute, validation_fields
from galaxy_backend.server.middleware import EdgeMiddleware
from galaxy_backend.server.openapi import describe
from galaxy_backend.telemetry import DurationRecorder, get_logger, http_server_durations

_log = get_logger(__name__)

DESCRIPTION = """The Galaxy backend API, in four audiences:

* `/api/v1/public` needs no credentials;
* `/api/v1/user` needs `Authorization: Bearer <session token>` of a player;
* `/api/v1/internal` needs `Authorization: Bearer <BACKEND_INTERNAL_TOKEN>` (the gateway);
* `/api/v1/admin` needs `Authorization: Bearer <admin session token>`.

Every error reply is `{"error": {"code", "message", "details"}}`; every reply carries
`X-Request-ID`.
"""


def audience_router(audience: Audience, *, tags: Sequence[str] = ()) -> APIRouter:
    """A router whose paths carry the audience prefix, so route templates are whole."""
    return APIRouter(prefix=AUDIENCE_PREFIXES[audience], tags=list(tags) or None)


def _json_error(
    status: int,
    code: str,
    message: str,
    details: dict[str, object] | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> Response:
    response = Response(
        error_body(code, message, details), status_code=status, media_type="application/json"
    )
    for key, value in headers:
        response.headers[key.decode()] = value.decode()
    return response


async def _on_domain_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return _json_error(status_for(exc), exc.code, exc.message, exc.details, headers_for(exc))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    # FastAPI's own validation, answered exactly as the fast routes answer theirs.
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return await _on_domain_error(request, MalformedJSON())
    return await _on_domain_error(request, RequestValidationFailed(validation_fields(errors)))


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = _json_error(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_database_unavailable(request: Request, exc: Exception) -> Response:
    # Answered here, not re-raised: the edge logs it as a warning, not as a bug.
    _log.warning(
        "request failed: database unavailable",
        method=request.method,
        path=request.url.path,
        error=type(exc).__name__,
    )
    return await _on_domain_error(request, DatabaseUnavailable())


async def _on_unexpected(_: Request, exc: Exception) -> Response:
    # The edge logs the exception with its trace once Starlette re-raises it.
    return _json_error(500, "internal_error", "internal error")


def build_http_app(
    *,
    version: str,
    routers: Sequence[APIRouter],
    fast_routes: Sequence[FastRoute],
    guards: Sequence[AudienceGuard],
    tracer: Tracer,
    meter: Meter,
    max_body_bytes: int,
    trusted_proxies: Sequence[Network] = (),
    durations: DurationRecorder | None = None,
    pages: Sequence[Callable[[FastAPI], None]] = (),
) -> ASGIApp:
    """FastAPI for the routes, wrapped by the edge middleware that runs before it.

    Request durations go to `durations` (the runtime's in-process histogram) when given,
    else to an SDK histogram on `meter`. Each of `pages` adds pages outside the audiences
    (the operator console).
    """
    prefixes = tuple(p + "/" for p in AUDIENCE_PREFIXES.values())
    for router in routers:
        if not (router.prefix + "/").startswith(prefixes):
            raise ValueError(f"router prefix {router.prefix!r} is not under an audience")
    api = FastAPI(
        title="Galaxy backend",
        version=version,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        # Swagger UI comes from add_docs below, with its assets served here rather than a CDN.
        docs_url=None,
        redoc_url=None,
        # Bodies without a Content-Length are bounded here; the edge rejects the others early.
        max_body_size=max_body_bytes,
        # The edge traces and measures every request; FastAPI's own telemetry would repeat it.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    for router in routers:
        api.include_router(router)
    add_docs(api, docs_url="/docs", title=f"{api.title} - Swagger UI")
    for add_pages in pages:
        add_pages(api)
    api.add_exception_handler(DomainError, _on_domain_error)
    api.add_exception_handler(RequestValidationError, _on_validation_error)
    api.add_exception_handler(StarletteHTTPException, _on_http_error)
    for kind in UNAVAILABLE_ERRORS:
        api.add_exception_handler(kind, _on_database_unavailable)
    api.add_exception_handler(Exception, _on_unexpected)
    api.openapi = describe(api, fast_routes=fast_routes, guards=guards)  # type: ignore[method-assign]
    return EdgeMiddleware(
        api,
        guards=guards,
        fast_routes=fast_routes,
        client_addresses=ClientAddresses(trusted_proxies),
        tracer=tracer,
        durations=durations or http_server_durations(meter),
        max_body_bytes=max_body_bytes,
    )
