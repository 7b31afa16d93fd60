"""Readiness: every push subscription live and the backend answering, not shutting down."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol


class Subscription(Protocol):
    address: str
    last_error: str | None

    @property
    def live(self) -> bool: ...


class Readiness:
    """Why the gateway cannot serve yet (or any more); empty when it can."""

    def __init__(
        self,
        *,
        subscriptions: Sequence[Subscription],
        backend_check: Callable[[], Awaitable[str | None]],
        check_timeout: float = 2.0,
    ) -> None:
        self._subscriptions = list(subscriptions)
        self._backend_check = backend_check
        self._check_timeout = check_timeout
        self._shutting_down = False

    def mark_shutting_down(self) -> None:
        self._shutting_down = True

    async def reasons(self) -> list[str]:
        found = ["shutting down"] if self._shutting_down else []
        found += [
            f"push subscription to {s.address} is down ({s.last_error or 'connecting'})"
            for s in self._subscriptions
            if not s.live
        ]
        try:
            async with asyncio.timeout(self._check_timeout):
                backend = await self._backend_check()
        except TimeoutError:
            backend = f"the backend did not answer within {self._check_timeout:g}s"
        if backend:
            found.append(backend)
        return found


class ShutdownMarker:
    """Turns /readyz to 503 the moment a stop begins (listed before the listener)."""

    name = "readiness"
    stop_timeout: float | None = 1.0

    def __init__(self, readiness: Readiness) -> None:
        self._readiness = readiness

    def refuse_new(self) -> None:
        self._readiness.mark_shutting_down()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._readiness.mark_shutting_down()
