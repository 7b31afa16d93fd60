"""Helpers shared by tests: waiting on conditions, free ports, running the CLI."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


async def eventually(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> None:
    """Poll a condition until it holds; fail after `timeout` seconds (never sleep blindly)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not hold within {timeout}s")
        await asyncio.sleep(interval)


async def wait_ready(client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    """Wait until the backend behind `client` answers /readyz with 200 (a process starting)."""

    async def ready() -> bool:
        try:
            return (await client.get("/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ready, timeout=timeout, interval=0.1, message="backend ready")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_bound(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def backend_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a backend subprocess: no stray BACKEND_* from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKEND_")}
    env.update(extra)
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "galaxy_backend", *args]


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args),
        env=backend_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
