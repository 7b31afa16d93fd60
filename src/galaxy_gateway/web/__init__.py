"""The player web client, served by the gateway from `/` (docs/gateway.md).

Static ES modules that the browser loads as they are (no build step, nothing from a CDN,
no third-party code): `static/index.html` is the one page, `static/assets/` its modules,
stylesheet and icon. Pages are routed by the fragment (`/#/games/<id>`), so only these
files exist here and any other path is 404. Everything is same-origin with `/api/v1/...`
and `/ws`, so pages call the API and open the push socket without any CORS; the player's
token travels in an `Authorization` header and the socket's first frame, never a URL.

Files are read once, when the gateway is wired, and served from memory with an ETag:
`no-cache` makes the browser revalidate each use (a 304 of a few bytes), so a new
release is seen at once without any fingerprinting step.
"""

import hashlib
import mimetypes
import re
from importlib.resources import files
from importlib.resources.abc import Traversable

from starlette.types import ASGIApp, Receive, Scope, Send

STATIC_PACKAGE = "galaxy_gateway.web"
# Only the client's own files, the same origin's API and its WebSocket; no inline script
# or style, no plugin, no framing, no <base>; no HTML written from strings (Trusted
# Types: the pages build elements, never markup).
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'{sockets}; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
)
CONTENT_SECURITY_POLICY = _POLICY.format(sockets="")
# A Host worth naming in the policy: a name or an address, and a port.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
_FIXED_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cache-control", b"no-cache"),
]
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def content_security_policy(host: bytes | None) -> bytes:
    """The policy for a page asked of `host`: older browsers need the WebSocket's origin
    named beside 'self' (CSP level 3 counts ws: of the same host as 'self')."""
    if host is not None:
        name = host.decode("latin-1")
        if _HOST.match(name):
            return _POLICY.format(sockets=f" ws://{name} wss://{name}").encode()
    return CONTENT_SECURITY_POLICY.encode()


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(_walk(entry, f"{name}/"))
        elif not entry.name.startswith("."):
            found[name] = entry.read_bytes()
    return found


def web_files() -> dict[str, bytes]:
    """Every file of the client by its path under `/` (`index.html` included)."""
    return _walk(files(STATIC_PACKAGE).joinpath("static"))


def _media_type(name: str) -> str:
    suffix = name[name.rfind(".") :]
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class _File:
    __slots__ = ("body", "etag", "media_type")

    def __init__(self, name: str, body: bytes) -> None:
        self.body = body
        self.media_type = _media_type(name).encode()
        self.etag = b'"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'


class WebApp:
    """GET and HEAD of the client's files; `/` is the page."""

    def __init__(self, found: dict[str, bytes]) -> None:
        self._files = {f"/{name}": _File(name, body) for name, body in found.items()}
        self._files["/"] = self._files["/index.html"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        found = self._files.get(scope["path"])
        if method not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed", [(b"allow", b"GET, HEAD")])
            return
        if found is None:
            await _plain(send, 404, b"not found", [])
            return
        host = if_none_match = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
            elif key == b"if-none-match":
                if_none_match = value
        headers = [
            *_FIXED_HEADERS,
            (b"content-security-policy", content_security_policy(host)),
            (b"etag", found.etag),
        ]
        if if_none_match is not None and found.etag in if_none_match.split(b", "):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", found.media_type),
            (b"content-length", str(len(found.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else found.body})


async def _plain(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [
        *_FIXED_HEADERS,
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build_web_app() -> ASGIApp:
    """The client's files, read now (a few dozen KB) and served from memory."""
    return WebApp(web_files())
