"""`/docs`: Swagger UI with its assets served by the backend itself, so it works offline.

The assets are the unmodified Swagger UI distribution that the `fastapi-swagger` package
ships (MIT; Swagger UI itself is Apache-2.0). They live under `/docs/assets`, outside
every audience prefix, so the edge serves them without credentials, like `/docs`.
"""

from collections.abc import Awaitable, Callable
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from galaxy_backend.server.html import CSP_HEADER, inline_script_hashes, page_policy

ASSETS_PACKAGE = "fastapi_swagger.resources"
ASSETS_PATH = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
# The files change only with the package; a day keeps reloads of /docs cheap.
_CACHE_CONTROL = "public, max-age=86400"


def add_docs(api: FastAPI, *, docs_url: str, title: str) -> None:
    """Serve Swagger UI for `api.openapi_url` at `docs_url`, with every asset local."""
    if api.openapi_url is None:
        raise ValueError("the docs page needs an OpenAPI document")
    openapi_url = api.openapi_url
    package = files(ASSETS_PACKAGE)
    # Read once here, at wiring time: about 2 MB, answered from memory.
    bodies = {name: package.joinpath(name).read_bytes() for name in ASSETS}

    async def page(request: Request) -> HTMLResponse:
        # Behind a proxy that strips a prefix, every URL on the page keeps that prefix.
        root = request.scope.get("root_path", "").rstrip("/")
        generated = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=title,
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters=api.swagger_ui_parameters,
        )
        body = bytes(generated.body)
        policy = page_policy(
            # The page's one inline script (it starts Swagger UI), by its hash.
            scripts=inline_script_hashes(body.decode()),
            # Swagger UI sets style attributes from its script, and draws icons as data: URIs.
            styles=["'unsafe-inline'"],
            images=["data:"],
            connect_self=True,
        )
        return HTMLResponse(body, headers={CSP_HEADER: policy})

    api.add_route(docs_url, page, include_in_schema=False)
    for name, media_type in ASSETS.items():
        route = _asset(bodies[name], media_type)
        api.add_route(f"{ASSETS_PATH}/{name}", route, include_in_schema=False)


def _asset(body: bytes, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def asset(_: Request) -> Response:
        return Response(body, media_type=media_type, headers={"cache-control": _CACHE_CONTROL})

    return asset
