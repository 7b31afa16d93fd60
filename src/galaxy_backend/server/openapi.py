"""The OpenAPI description: FastAPI's, plus the fast routes, security per audience, errors."""

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from galaxy_backend.server.auth import AudienceGuard
from galaxy_backend.server.errors import ErrorBody
from galaxy_backend.server.fastpath import FastRoute

_SCHEMES = {
    "internal": ("internalToken", "The gateway's shared secret, BACKEND_INTERNAL_TOKEN."),
    "user": ("userSession", "A player's session token from the email-code sign-in."),
    "admin": ("adminSession", "An operator's session token from /api/v1/admin/auth/login."),
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_DATABASE_UNAVAILABLE = {
    "description": (
        "`database_unavailable`: PostgreSQL is gone, restarting or not answering in time;"
        " try again after `Retry-After` seconds"
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": _ERROR_REF}},
}


def _add_database_unavailable(responses: dict[str, Any]) -> None:
    named = responses.get("503")
    if named is None:
        responses["503"] = _DATABASE_UNAVAILABLE
        return
    named["description"] = f"{named['description']}; {_DATABASE_UNAVAILABLE['description']}"
    named.setdefault("headers", _DATABASE_UNAVAILABLE["headers"])


def _documentation_only(route: FastRoute) -> Callable[..., Any]:
    """An endpoint object that only carries the signature FastAPI documents; never mounted."""

    async def endpoint(**_: Any) -> None:
        raise RuntimeError(f"{route.span_name} is served by the edge, not by FastAPI")

    parameters = []
    if route.query_model is not None:
        parameters.append(
            inspect.Parameter(
                "query",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[route.query_model, Query()],
            )
        )
    if route.request_model is not None:
        parameters.append(
            inspect.Parameter(
                "body",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[route.request_model, Body()],
            )
        )
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = route.handler.__name__
    return endpoint


def _doc_route(route: FastRoute) -> APIRoute:
    return APIRoute(
        route.path,
        _documentation_only(route),
        methods=[route.method],
        response_model=route.response_model,
        status_code=route.status_code,
        summary=route.summary,
        responses=dict(route.responses),
        tags=list(route.tags) or None,
    )


def describe(
    api: FastAPI, *, fast_routes: Sequence[FastRoute], guards: Sequence[AudienceGuard]
) -> Callable[[], dict[str, Any]]:
    """A replacement for `FastAPI.openapi` that builds the full description once."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        schema = get_openapi(
            title=api.title,
            version=api.version,
            description=api.description,
            routes=[*api.routes, *(_doc_route(r) for r in fast_routes)],
        )
        components = schema.setdefault("components", {})
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = components.setdefault("schemas", {})
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorBody"] = error_schema
        schemes = components.setdefault("securitySchemes", {})
        for guard in guards:
            name, text = _SCHEMES[guard.audience]
            schemes[name] = {"type": "http", "scheme": "bearer", "description": text}
        for path, operations in schema.get("paths", {}).items():
            owner = next((g for g in guards if path.startswith(g.prefix + "/")), None)
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault(
                    "default",
                    {
                        "description": "Error",
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    },
                )
                if path.startswith("/api/"):
                    _add_database_unavailable(responses)
                if owner is not None and path not in owner.open_paths:
                    operation["security"] = [{_SCHEMES[owner.audience][0]: []}]
                    responses.setdefault(
                        "401",
                        {
                            "description": "Missing or invalid credentials",
                            "content": {"application/json": {"schema": _ERROR_REF}},
                        },
                    )
                for status in ("422", "4XX"):
                    if status in responses and "HTTPValidationError" in str(responses[status]):
                        responses[status] = {
                            "description": "Validation failed",
                            "content": {"application/json": {"schema": _ERROR_REF}},
                        }
        for unused in ("HTTPValidationError", "ValidationError"):
            components["schemas"].pop(unused, None)
        api.openapi_schema = schema
        return schema

    return openapi
