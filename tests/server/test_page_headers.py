"""HTML pages carry a Content Security Policy that allows only what they use and forbids
framing; every response says nosniff. Checked on the real listener of the whole backend."""

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from uuid import uuid4

import httpx

from galaxy_backend.wiring import Backend

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)
INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)


def policy(response: httpx.Response) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def assert_locked_down(response: httpx.Response) -> dict[str, list[str]]:
    assert response.headers["x-content-type-options"] == "nosniff"
    found = policy(response)
    assert found["frame-ancestors"] == ["'none'"]
    assert found["object-src"] == ["'none'"]
    assert found["base-uri"] == ["'none'"]
    assert found["default-src"] in (["'none'"], ["'self'"])
    # No script but our own files and the page's inline scripts, each by its hash.
    scripts = found.get("script-src", found["default-src"])
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    for text in INLINE_SCRIPT.findall(response.text):
        assert sha256(text) in scripts
    assert not any(
        "://" in source or source == "*" for values in found.values() for source in values
    )
    return found


async def test_the_docs_page_and_the_unsubscribe_page_are_locked_down(
    start_backend: Callable[..., Awaitable[Backend]],
) -> None:
    backend = await start_backend()
    base = f"http://127.0.0.1:{backend.http.port}"
    async with httpx.AsyncClient(base_url=base) as client:
        docs = await client.get("/docs")
        assert docs.status_code == 200
        assert INLINE_SCRIPT.findall(docs.text), "the page starts Swagger UI inline"
        assert_locked_down(docs)

        token = backend.notifications._tokens.issue(uuid4(), "admin.message")
        page = await client.get("/api/v1/public/notifications/unsubscribe", params={"token": token})
        assert page.status_code == 200
        found = assert_locked_down(page)
        assert found["script-src"] == ["'self'"]
        assert "'unsafe-inline'" not in found["style-src"]
        for text in INLINE_STYLE.findall(page.text):
            assert sha256(text) in found["style-src"]
        assert " style=" not in page.text
        assert found["form-action"] == ["'self'"]

        # JSON is never sniffed into something else either.
        for path in ("/healthz", "/openapi.json", "/api/v1/public/games"):
            assert (await client.get(path)).headers["x-content-type-options"] == "nosniff"
