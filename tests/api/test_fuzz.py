"""Schemathesis over the served /openapi.json: no input makes a 500, every reply as documented.

Runs the real schemathesis CLI against the real backend (its own database, a real SMTP
receiver), once per kind of caller, so every route is fuzzed from the day it lands.
"""

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.api import Api

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Ending the caller's own credentials would leave the rest of the run unauthenticated.
_DESTRUCTIVE = ["/api/v1/user/auth/logout", "/api/v1/admin/auth/logout"]


# Each caller on the routes its credential opens (the rest only answer it 401/403), with a
# few examples each: every route is fuzzed, and the pass stays short.
_SCOPES = {
    "anonymous": ("^/(api/v1/public/|healthz|readyz|docs)", "12"),
    "player": ("^/api/v1/user/", "10"),
    "admin": ("^/api/v1/admin/", "10"),
}


async def fuzz(api: Api, caller: str, token: str | None, report: Path) -> tuple[int, str]:
    base = str(api.client.base_url).rstrip("/")
    args = [
        str(SCHEMATHESIS if SCHEMATHESIS.exists() else shutil.which("schemathesis")),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        _SCOPES[caller][1],
        "--include-path-regex",
        _SCOPES[caller][0],
        "--seed",
        "20261201",
        # One worker: hypothesis parses source with ast, and CPython 3.11's ast is not safe
        # across threads (python/cpython#106905: "AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--generation-allow-x00",
        "true",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--request-timeout",
        "10",
    ]
    for path in _DESTRUCTIVE:
        args += ["--exclude-path", path]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.fuzz_hooks", "PYTHONPATH": str(REPO)}
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=report.parent,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 600)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@pytest.mark.parametrize("caller", ["anonymous", "player", "admin"])
async def test_the_api_survives_fuzzing(start_api, caller: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Generous limits: the fuzzer asks for many codes and logins from one address.
    api: Api = await start_api(
        BACKEND_AUTH_EMAIL_RATE_LIMIT="100000",
        BACKEND_AUTH_IP_RATE_LIMIT="100000",
        BACKEND_AUTH_IP_GUESS_LIMIT="100000",
        BACKEND_AUTH_EMAIL_DAILY_LIMIT="100000",
        BACKEND_AUTH_EMAIL_GUESS_LIMIT="100000",
        BACKEND_ADMIN_LOCKOUT_THRESHOLD="100000",
        BACKEND_ADMIN_ADDRESS_LOCKOUT_THRESHOLD="100000",
    )
    token = None
    if caller == "player":
        token = (await api.sign_in("fuzzed@example.org"))["token"]
    elif caller == "admin":
        token = await api.admin_token()
    code, output = await fuzz(api, caller, token, tmp_path / "junit.xml")
    assert code == 0, output[-20000:]
