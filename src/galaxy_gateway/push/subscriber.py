"""One subscription per backend replica: `SubscribePush` from the last cursor, for ever.

A dropped stream is opened again with backoff and resumes after the last cursor handled;
the backend answers a cursor it no longer holds (it restarted, or the gateway fell behind)
with `push.reset`, which the dispatcher turns into a resync of every client.
"""

import asyncio
import random
import time
from collections.abc import Callable, Sequence

import grpc

from galaxy_gateway.config import Address
from galaxy_gateway.internal_token import InternalToken, TokenUnavailable
from galaxy_gateway.telemetry import get_logger
from galaxy_proto.push_pb2 import PushEvent, SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub

_log = get_logger(__name__)

_CHANNEL_OPTIONS = [
    # A backend that vanished without a FIN is noticed within about 40 s.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Reconnects follow our own backoff, not the channel's.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]

Handler = Callable[[str, Sequence[PushEvent]], None]
Resync = Callable[[str], None]


class PushSubscriber:
    """Keeps one replica's push stream open; hands each batch to `handle`."""

    stop_timeout: float | None = 5.0

    def __init__(
        self,
        address: Address,
        *,
        token: InternalToken,
        gateway_id: str,
        handle: Handler,
        resync: Resync,
        reconnect_min: float,
        reconnect_max: float,
    ) -> None:
        self.address = str(address)
        self.name = f"push-subscriber {self.address}"
        self._token = token
        self._gateway_id = gateway_id
        self._handle = handle
        self._resync = resync
        self._dropped = False
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self.cursor = 0
        self.last_error: str | None = "not connected yet"

    @property
    def live(self) -> bool:
        return self._connected

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._connected = False

    async def _run(self) -> None:
        delay = self._reconnect_min
        while True:
            began = time.monotonic()
            await self._subscribe_once()
            if time.monotonic() - began > 10 * self._reconnect_max:
                delay = self._reconnect_min
            # Full jitter: many gateways restarting together do not reconnect in step.
            await asyncio.sleep(random.uniform(self._reconnect_min, delay))  # noqa: S311
            delay = min(delay * 2, self._reconnect_max)

    async def _subscribe_once(self) -> None:
        try:
            token = self._token.get()
        except TokenUnavailable as exc:
            self.last_error = str(exc)
            _log.warning("push subscription waits for the internal token", error=str(exc))
            return
        async with grpc.aio.insecure_channel(self.address, options=_CHANNEL_OPTIONS) as channel:
            stub = PushStub(channel)  # type: ignore[no-untyped-call]
            call = stub.SubscribePush(
                SubscribePushRequest(gateway_id=self._gateway_id, after_cursor=self.cursor),
                metadata=(("authorization", f"Bearer {token}"),),
            )
            watcher = asyncio.create_task(self._watch(channel))
            try:
                async for batch in call:
                    self._connected = True
                    events = batch.events
                    if events:
                        self._handle(self.address, events)
                        self.cursor = events[-1].cursor
                self.last_error = "the stream ended"
                _log.info("push stream ended", replica=self.address, cursor=self.cursor)
            except grpc.aio.AioRpcError as exc:
                self.last_error = f"{exc.code().name}: {exc.details()}"
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                    self._token.refused()
                    _log.error("the backend refused the internal token", replica=self.address)
                else:
                    _log.warning("push stream failed", replica=self.address, error=self.last_error)
            finally:
                watcher.cancel()
                self._dropped = self._dropped or self._connected
                self._connected = False
                call.cancel()

    async def _watch(self, channel: grpc.aio.Channel) -> None:
        # The backend says nothing on a quiet stream: a ready channel with the call open
        # is what "live" means until the first batch arrives.
        await channel.channel_ready()
        await asyncio.sleep(0.05)
        self._connected = True
        self.last_error = None
        _log.info("push stream open", replica=self.address, after_cursor=self.cursor)
        if self._dropped and self.cursor == 0:
            # Nothing had arrived before the drop, so the backend cannot tell what was
            # missed (0 means "from the oldest retained"): the clients resync to be sure.
            self._resync(self.address)
