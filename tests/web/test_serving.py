"""How the gateway serves the web client: every file from memory with its policy and an
ETag, nothing referenced from elsewhere, nothing but the client's own files."""

import re

from galaxy_gateway.web import content_security_policy, web_files
from tests.support.gateway import Stack

_ASSET = re.compile(r'(?:href|src)="(/[^"]*)"')
_IMPORT = re.compile(r'from "(\.[^"]+)"')


async def test_the_page_and_its_files_carry_the_policy_and_revalidate(stack: Stack) -> None:
    page = await stack.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    port = stack.gateway.http.port
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert f"connect-src 'self' ws://127.0.0.1:{port} wss://127.0.0.1:{port};" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    again = await stack.client.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    for path in _ASSET.findall(page.text):
        asset = await stack.client.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["content-security-policy"] == policy
    script = await stack.client.get("/assets/js/main.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    head = await stack.client.head("/assets/app.css")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 100


async def test_only_the_clients_files_are_served(stack: Stack) -> None:
    for path in ("/games/123", "/assets/", "/assets/js/../../index.html.bak", "/.hidden"):
        missing = await stack.client.get(path)
        assert missing.status_code == 404, path
        assert "text/html" not in missing.headers["content-type"]
    refused = await stack.client.post("/", content=b"x")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
    # A Host that is not a plain name and port is never written into the policy.
    odd = await stack.client.get("/", headers={"Host": "evil.example; script-src *"})
    assert "evil" not in odd.headers["content-security-policy"]


def test_every_module_is_there_and_nothing_comes_from_elsewhere() -> None:
    found = web_files()
    index = found["index.html"].decode()
    for path in _ASSET.findall(index):
        assert path.lstrip("/") in found, path
    for name, body in found.items():
        text = body.decode()
        if name.endswith(".js"):
            folder = name.rsplit("/", 1)[0]
            for relative in _IMPORT.findall(text):
                parts = [*folder.split("/"), *relative.split("/")]
                resolved: list[str] = []
                for part in parts:
                    if part == "..":
                        resolved.pop()
                    elif part != ".":
                        resolved.append(part)
                assert "/".join(resolved) in found, (name, relative)
            # Preloaded, so that the browser fetches every module at once.
            assert f'href="/{name}"' in index or name.endswith("main.js"), name
        for url in re.findall(r"https?://[^\s\"')]+", text):
            assert url == "http://www.w3.org/2000/svg", (name, url)
        assert "innerHTML" not in text and "eval(" not in text, name


def test_the_policy_names_the_socket_only_for_a_plain_host() -> None:
    assert b"ws://localhost:8000 wss://localhost:8000" in content_security_policy(b"localhost:8000")
    assert b"ws://[::1]:8000" in content_security_policy(b"[::1]:8000")
    assert b"ws:" not in content_security_policy(b"a b")
    assert b"ws:" not in content_security_policy(None)
