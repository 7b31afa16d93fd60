"""Cross-replica cache invalidation over PostgreSQL LISTEN/NOTIFY.

A service that changes a cached row calls `notify` inside its transaction, so the message
leaves at commit. Every other replica drops that key and reloads it on next use.

While the listening connection is down, notifications may be missed: the bus reads as not
ready (so `/readyz` takes the replica out of rotation), reconnects with backoff, and then
re-warms every cache, retrying until each has succeeded; only then is it ready again. A
half-open connection (the peer gone without a FIN) raises no error by itself, so a round
trip on it every `heartbeat` seconds, bounded in time, finds it out. The supervisor survives
any error: it logs, backs off, and tries again.
"""

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable

import orjson
from opentelemetry.metrics import Meter, Observation

from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.postgres import Connection
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

CHANNEL = "galaxy_cache"

Invalidate = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]

_BACKOFF_FIRST = 0.2
_BACKOFF_MAX = 5.0


class CacheBus:
    """The listening side is a component; `notify` is called by services in their transactions."""

    name = "cache-bus"
    stop_timeout: float | None = 5.0

    def __init__(
        self,
        *,
        dsn_provider: Callable[[], Awaitable[Connection]],
        heartbeat: float = 10.0,
        rng: random.Random | None = None,
        liveness: Liveness | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.instance_id = uuid.uuid4().hex
        # A round is one heartbeat's watch that found the connection answering.
        self._beat = (liveness or Liveness()).heartbeat(self.name)
        self._connect = dsn_provider
        self._heartbeat = heartbeat
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._topics: dict[str, list[Invalidate]] = {}
        self._resyncs: list[Resync] = []
        self._conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._ready = False
        self.reconnects = 0
        if meter is not None:
            meter.create_observable_counter(
                "cache.bus.reconnects",
                callbacks=[lambda _: [Observation(self.reconnects)]],
                unit="{connection}",
                description="LISTEN connections the cache bus had to open again",
            )

    def subscribe(self, topic: str, invalidate: Invalidate) -> None:
        self._topics.setdefault(topic, []).append(invalidate)

    def on_resync(self, resync: Resync) -> None:
        self._resyncs.append(resync)

    def ready(self) -> bool:
        return self._ready

    async def invalidate(self, conn: Connection, topic: str, *keys: str) -> None:
        """Queue invalidations for other replicas, in one round trip whatever their number;
        delivered when `conn`'s transaction commits."""
        await self.invalidate_many(conn, [(topic, key) for key in keys])

    async def invalidate_many(self, conn: Connection, items: Iterable[tuple[str, str]]) -> None:
        """`invalidate` for keys of several topics, still in one round trip."""
        origin = self.instance_id
        payloads = [orjson.dumps({"o": origin, "t": t, "k": k}).decode() for t, k in items]
        if not payloads:
            return
        await conn.execute(
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", CHANNEL, payloads
        )

    async def start(self) -> None:
        await self._listen()
        self._ready = True
        self._beat.start(next_in=self._heartbeat)
        self._task = asyncio.create_task(self._supervise(), name="cache-bus")

    async def _listen(self) -> None:
        conn = await self._connect()
        try:
            await conn.add_listener(CHANNEL, self._on_message)
        except BaseException:
            await _close_quietly(conn)
            raise
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn
        self._lost.clear()

    def _on_message(self, _: Connection, __: int, ___: str, payload: object) -> None:
        try:
            message = orjson.loads(str(payload))
        except orjson.JSONDecodeError:
            return
        if not isinstance(message, dict) or message.get("o") == self.instance_id:
            return
        for invalidate in self._topics.get(str(message.get("t")), ()):
            try:
                invalidate(str(message.get("k")))
            except Exception as exc:
                # A malformed key from another process must not stop the others.
                _log.warning("cache invalidation failed", topic=message.get("t"), error=str(exc))

    def _on_terminated(self, _: Connection) -> None:
        self._mark_lost("connection closed")

    def _mark_lost(self, why: str) -> None:
        if not self._lost.is_set():
            _log.warning("cache bus connection lost; caches may be stale", reason=why)
        self._ready = False
        self._lost.set()

    async def _supervise(self) -> None:
        while True:
            try:
                await self._watch()
                await self._recover()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Never die silently: whatever happened, start over from a lost connection.
                _log.error("cache bus supervisor error; recovering", exc_info=exc)
                self._mark_lost(type(exc).__name__)
                await asyncio.sleep(_BACKOFF_FIRST)

    async def _watch(self) -> None:
        """Return once the connection is lost; probe it every heartbeat meanwhile."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._heartbeat):
                    await self._lost.wait()
                return
            conn = self._conn
            if conn is None:
                self._mark_lost("no connection")
                return
            try:
                async with asyncio.timeout(max(1.0, self._heartbeat / 2)):
                    await conn.fetchval("SELECT 1")
            except Exception as exc:  # a timeout, or the connection failing under us
                self._mark_lost(f"heartbeat failed: {type(exc).__name__}")
            else:
                self._beat.beat(next_in=self._heartbeat)

    async def _recover(self) -> None:
        """Reconnect, then re-warm every cache; both retried with backoff until they work."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.remove_termination_listener(self._on_terminated)
            await _close_quietly(conn)
        delay = _BACKOFF_FIRST
        while True:
            try:
                await self._listen()
                break
            except Exception as exc:
                _log.warning("cache bus reconnect failed", error=str(exc), retry_in_seconds=delay)
                delay = await self._back_off(delay)
        self.reconnects += 1
        # Anything may have changed while deaf: reload every cache from the database.
        for resync in self._resyncs:
            delay = _BACKOFF_FIRST
            while not self._lost.is_set():
                try:
                    await resync()
                    break
                except Exception as exc:
                    _log.warning("cache re-warm failed", error=str(exc), retry_in_seconds=delay)
                    delay = await self._back_off(delay)
        if self._lost.is_set():
            return  # lost again while re-warming: the next round starts over
        self._ready = True
        self._beat.beat(next_in=self._heartbeat)
        _log.info("cache bus listening again; caches re-warmed")

    async def _back_off(self, delay: float) -> float:
        await asyncio.sleep(delay * (0.5 + self._rng.random() / 2))
        return min(delay * 2, _BACKOFF_MAX)

    async def stop(self) -> None:
        self._beat.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._ready = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.remove_termination_listener(self._on_terminated)
            await _close_quietly(conn)


async def _close_quietly(conn: Connection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), 2.0)
    if not conn.is_closed():
        conn.terminate()
