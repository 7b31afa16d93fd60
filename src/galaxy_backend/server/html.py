"""Security headers of what the backend serves: HTML pages get a Content Security Policy.

Every response carries `X-Content-Type-Options: nosniff`. An HTML page without a policy of
its own gets `DEFAULT_PAGE_POLICY` (nothing but its own origin, never framed); a page with
inline scripts sets its own, allowing exactly those scripts by hash (`inline_script_hashes`).
"""

import base64
import hashlib
import re
from collections.abc import Iterable

NOSNIFF = (b"x-content-type-options", b"nosniff")
CSP_HEADER = "content-security-policy"
# Ours: no plugin, no framing (clickjacking), no <base> games, forms post to us alone.
_ALWAYS = "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
DEFAULT_PAGE_POLICY = f"default-src 'self'; {_ALWAYS}"

# An inline script: a <script> element without a src attribute, and its text.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_script_hashes(page: str) -> list[str]:
    """CSP sources allowing the page's inline scripts, exactly as written."""
    return [_hash(text) for text in _INLINE_SCRIPT.findall(page)]


def inline_style_hashes(page: str) -> list[str]:
    return [_hash(text) for text in _INLINE_STYLE.findall(page)]


def page_policy(
    *,
    scripts: Iterable[str] = (),
    styles: Iterable[str] = (),
    images: Iterable[str] = (),
    connect_self: bool = False,
) -> str:
    """A policy for one page: its own origin's files plus the given sources, nothing else."""
    directives = [
        "default-src 'none'",
        " ".join(["script-src 'self'", *scripts]),
        " ".join(["style-src 'self'", *styles]),
        " ".join(["img-src 'self'", *images]),
    ]
    if connect_self:
        directives.append("connect-src 'self'")
    return "; ".join([*directives, _ALWAYS])


def with_page_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` of a response plus nosniff, and the default policy for an HTML page that
    has none of its own."""
    html = policy = False
    for name, value in headers:
        if name == b"content-type":
            html = value.startswith(b"text/html")
        elif name == b"content-security-policy":
            policy = True
    extra = [NOSNIFF]
    if html and not policy:
        extra.append((b"content-security-policy", DEFAULT_PAGE_POLICY.encode()))
    return [*headers, *extra]
