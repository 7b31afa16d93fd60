"""The runtime's outside clients as one component: the driver and the engines' HTTP client.

The driver is chosen at start (whether a Docker API answers is only known then); both are
closed at the seed's stop step 6, after the geo counters drain and before the pool closes.
"""

from collections.abc import Awaitable, Callable

from galaxy_backend.runtime.drivers.base import Driver
from galaxy_backend.runtime.engine_client import EngineClient


class RuntimeClients:
    name = "runtime-clients"
    stop_timeout: float | None = 10.0

    def __init__(self, *, engine: EngineClient, choose: Callable[[], Awaitable[Driver]]) -> None:
        self.engine = engine
        self._choose = choose
        self._driver: Driver | None = None

    @property
    def driver(self) -> Driver:
        if self._driver is None:
            raise RuntimeError("the runtime driver is chosen when the runtime starts")
        return self._driver

    def driver_name(self) -> str:
        return self.driver.name

    async def start(self) -> None:
        self._driver = await self._choose()

    async def stop(self) -> None:
        try:
            await self.engine.stop()
        finally:
            if self._driver is not None:
                await self._driver.close()
