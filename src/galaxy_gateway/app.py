"""App: starts components in order and stops them in reverse, each within its deadline."""

import asyncio
import gc
import signal
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from galaxy_gateway.telemetry import get_logger

_log = get_logger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1


class Component(Protocol):
    """A part of the process with a start and a stop; `stop_timeout` bounds its stop."""

    name: str
    stop_timeout: float | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class TrafficListener(Protocol):
    """A component that accepts outside traffic; told to refuse new traffic before any stop."""

    def refuse_new(self) -> None: ...


class StartError(Exception):
    """A component failed to start; everything already started has been stopped."""


class App:
    """Ordered start, wait for SIGINT/SIGTERM (or a failure), refuse traffic, reverse stop."""

    def __init__(self, components: Sequence[Component], *, shutdown_timeout: float) -> None:
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique: {names}")
        self._components = list(components)
        self._shutdown_timeout = shutdown_timeout
        self._started: list[Component] = []
        self._stop_requested = asyncio.Event()
        self._stop_reason = ""
        self._failed = False
        self._deadline: float | None = None

    @property
    def stop_order(self) -> list[str]:
        """Component names in the order a stop takes them (the reverse of the start)."""
        return [c.name for c in reversed(self._components)]

    def request_stop(self, reason: str, *, failed: bool = False) -> None:
        """Ask the app to stop; a component calls this with failed=True when it dies."""
        self._failed = self._failed or failed
        if not self._stop_requested.is_set():
            self._stop_reason = reason
            self._stop_requested.set()

    async def run(self) -> int:
        """Start, wait for a signal or a failure, stop; return the process exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            start = asyncio.create_task(self.start())
            stop_wait = asyncio.create_task(self._stop_requested.wait())
            done, _ = await asyncio.wait({start, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if start not in done:
                _log.warning("stop requested during start", reason=self._stop_reason)
                start.cancel()
            try:
                await start
            except StartError:
                stop_wait.cancel()
                return EXIT_FAILURE
            except asyncio.CancelledError:
                stop_wait.cancel()
                clean = await self.stop()
                return EXIT_OK if clean and not self._failed else EXIT_FAILURE
            _log.info("started", components=[c.name for c in self._started])
            await stop_wait
            _log.info("stopping", reason=self._stop_reason)
            clean = await self.stop()
            return EXIT_OK if clean and not self._failed else EXIT_FAILURE
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._deadline is not None:
            _log.warning("second signal: forcing shutdown", signal=name)
            self._deadline = time.monotonic()
            return
        self.request_stop(f"signal {name}")

    async def start(self) -> None:
        """Start each component in order; on failure stop those started and raise StartError."""
        for component in self._components:
            try:
                await component.start()
            except asyncio.CancelledError:
                _log.warning("start interrupted", component=component.name)
                raise
            except Exception as exc:
                self._failed = True
                _log.error("start failed", component=component.name, error=str(exc), exc_info=exc)
                await self.stop()
                raise StartError(f"{component.name}: {exc}") from exc
            self._started.append(component)
        # What start built lives as long as the process: out of the collector's full passes,
        # which otherwise walk it all and stall requests in flight.
        gc.collect()
        gc.freeze()

    async def stop(self) -> bool:
        """Refuse traffic, then stop started components in reverse; False if any step failed."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self._shutdown_timeout
        clean = True
        for component in reversed(self._started):
            if isinstance(component, TrafficListener):
                try:
                    component.refuse_new()
                except Exception as exc:
                    clean = False
                    _log.error("refuse_new failed", component=component.name, exc_info=exc)
        while self._started:
            component = self._started.pop()
            clean = await self._stop_one(component) and clean
        return clean

    async def _stop_one(self, component: Component) -> bool:
        assert self._deadline is not None
        budget = self._deadline - time.monotonic()
        if component.stop_timeout is not None:
            budget = min(budget, component.stop_timeout)
        try:
            async with asyncio.timeout(max(budget, 0.0)):
                await component.stop()
        except TimeoutError:
            _log.error(
                "stop overran its deadline",
                component=component.name,
                budget_seconds=round(max(budget, 0.0), 3),
            )
            return False
        except Exception as exc:
            _log.error("stop failed", component=component.name, exc_info=exc)
            return False
        return True
