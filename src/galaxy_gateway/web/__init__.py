"""The player web client, served by the gateway from `/` (DESIGN section 12).

`build_web_app` is the one place where pages, static files and their routes are mounted:
add routes to the list it builds. Everything here is same-origin with `/api/v1/...` and
`/ws`, so pages call the API and open the push socket without any CORS.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Pages load only what the gateway serves and talk only to it (API and /ws).
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class _SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *_SECURITY_HEADERS]
            await send(message)

        await self._app(scope, receive, with_headers)


def web_routes() -> list[BaseRoute]:
    """The web client's routes; the static files last, as the catch-all at `/`."""
    return [Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="static")]


def build_web_app() -> ASGIApp:
    return _SecurityHeaders(Starlette(routes=web_routes()))
