"""`/console/`: the operator console's page and files, served from memory by the backend.

Static ES modules that the browser loads as they are (no build step, nothing from a CDN,
no third-party code): `static/index.html` is the one page, `static/assets/` its modules
and stylesheet; pages are routed by the fragment (`/console/#/players/<id>`), so only
these files are served. The console calls the admin API on the same origin with the
operator's token in an `Authorization` header (kept in the tab's sessionStorage), so it
needs no cookie and no CSRF token.

They live outside every audience prefix, so the edge serves them without credentials,
like `/docs`; what they show comes from the admin API, which checks the token.
"""

import mimetypes
from collections.abc import Awaitable, Callable
from importlib.resources import files
from importlib.resources.abc import Traversable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

CONSOLE_PATH = "/console"
STATIC_PACKAGE = "galaxy_backend.console"
# Only the console's own files and the same origin's API; no inline script or style, no
# plugin, no framing, no <base>, forms post nowhere else; and no HTML written from strings
# (Trusted Types: the pages build elements, never markup).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # Revalidated on every use: a new release is seen at once (files are small).
    "cache-control": "no-cache",
}
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(_walk(entry, f"{name}/"))
        elif not entry.name.startswith("."):
            found[name] = entry.read_bytes()
    return found


def console_files() -> dict[str, bytes]:
    """Every file of the console by its path under `/console/` (`index.html` included)."""
    return _walk(files(STATIC_PACKAGE).joinpath("static"))


def _media_type(name: str) -> str:
    suffix = name[name.rfind(".") :]
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def add_console(api: FastAPI) -> None:
    """Serve the console at `/console/` (read once here, at wiring time: a few dozen KB)."""
    bodies = console_files()
    index = bodies.pop("index.html")

    async def page(_: Request) -> Response:
        return Response(index, media_type="text/html; charset=utf-8", headers=_HEADERS)

    async def bare(_: Request) -> Response:
        return RedirectResponse(f"{CONSOLE_PATH}/", status_code=308)

    api.add_route(CONSOLE_PATH, bare, include_in_schema=False)
    api.add_route(f"{CONSOLE_PATH}/", page, include_in_schema=False)
    for name, body in bodies.items():
        api.add_route(
            f"{CONSOLE_PATH}/{name}", _file(body, _media_type(name)), include_in_schema=False
        )


def _file(body: bytes, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(_: Request) -> Response:
        return Response(body, media_type=media_type, headers=_HEADERS)

    return serve
