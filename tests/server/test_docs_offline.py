"""`/docs` works offline: it names no other host and the backend serves all it needs, openly."""

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.server.edge_stack import EdgeStack, build_stack

CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


class References(HTMLParser):
    """Every URL a browser loads for the page: stylesheets, icons, scripts, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.urls.append(value)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    stack: EdgeStack = build_stack()
    await stack.listener.start()
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        yield client
    await stack.listener.stop()


async def test_docs_names_no_other_host(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "://" not in response.text
    parser = References()
    parser.feed(response.text)
    assert parser.urls
    for url in parser.urls:
        assert not urlsplit(url).netloc, url
        assert url.startswith("/"), url


async def test_every_asset_of_docs_is_served_without_credentials(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/docs")).text
    parser = References()
    parser.feed(page)
    # The script on the page loads the OpenAPI document too.
    spec = re.search(r"url: '([^']+)'", page)
    assert spec is not None
    urls = {*parser.urls, spec.group(1)}
    assert {urlsplit(url).path.rsplit(".", 1)[-1] for url in urls} == {"js", "css", "png", "json"}
    for url in urls:
        response = await client.get(urljoin("/docs", url))
        assert response.status_code == 200, url
        extension = "." + urlsplit(url).path.rsplit(".", 1)[-1]
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type in CONTENT_TYPES[extension], (url, media_type)
        assert response.content, url


async def test_the_swagger_ui_script_is_the_real_one(client: httpx.AsyncClient) -> None:
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content
    assert "max-age" in bundle.headers["cache-control"]
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404
