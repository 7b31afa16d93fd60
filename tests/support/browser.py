"""One headless Chromium for a test session, for the console's and the web client's browser tests.

They skip, saying why, where Chromium or Playwright is missing, unless
`GALAXY_TEST_REQUIRE_BROWSER=1` (CI) turns that into a failure. They never download a
browser (`playwright install`): `GALAXY_TEST_CHROMIUM` names the executable (default
`/usr/bin/chromium`). Screenshots go under `GALAXY_TEST_SCREENSHOTS` (default
`.artifacts/screenshots/`, which git ignores)."""

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.support import REPO

REQUIRE_VARIABLE = "GALAXY_TEST_REQUIRE_BROWSER"
CHROMIUM = Path(os.environ.get("GALAXY_TEST_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = (
    Path(os.environ.get("GALAXY_TEST_SCREENSHOTS", REPO / ".artifacts" / "screenshots")) / "console"
)
# How long the page may take to show something: generous, the machine is shared.
WAIT_MS = 20_000
# Seen in the page: Content Security Policy violations, for the tests to assert none.
_WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`);
});
"""


def browser_unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{REQUIRE_VARIABLE}=1, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def console_browser() -> AsyncIterator[Any]:
    """One headless Chromium for the session; each operator gets a context of their own."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        browser_unavailable("playwright is not installed (make setup installs it)")
    if not await asyncio.to_thread(CHROMIUM.exists):
        browser_unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        yield launched
        await launched.close()
