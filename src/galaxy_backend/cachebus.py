"""Cross-replica cache invalidation over PostgreSQL LISTEN/NOTIFY.

A service that changes a cached row calls `notify` inside its transaction, so the message
leaves at commit. Every other replica drops that key and reloads it on next use. When the
listening connection is lost, notifications may have been missed: the bus marks itself
not ready, reconnects, and asks every cache to re-warm.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import orjson

from galaxy_backend.postgres import Connection
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

CHANNEL = "galaxy_cache"

Invalidate = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]


class CacheBus:
    """The listening side is a component; `notify` is called by services in their transactions."""

    name = "cache-bus"
    stop_timeout: float | None = 5.0

    def __init__(self, *, dsn_provider: Callable[[], Awaitable[Connection]]) -> None:
        self.instance_id = uuid.uuid4().hex
        self._connect = dsn_provider
        self._topics: dict[str, list[Invalidate]] = {}
        self._resyncs: list[Resync] = []
        self._conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._ready = False

    def subscribe(self, topic: str, invalidate: Invalidate) -> None:
        self._topics.setdefault(topic, []).append(invalidate)

    def on_resync(self, resync: Resync) -> None:
        self._resyncs.append(resync)

    def ready(self) -> bool:
        return self._ready

    async def notify(self, conn: Connection, topic: str, *keys: str) -> None:
        """Queue invalidations for other replicas, in one round trip whatever their number;
        delivered when `conn`'s transaction commits."""
        origin = self.instance_id
        payloads = [orjson.dumps({"o": origin, "t": topic, "k": k}).decode() for k in keys]
        await conn.execute(
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", CHANNEL, payloads
        )

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._supervise(), name="cache-bus")

    async def _listen(self) -> None:
        conn = await self._connect()
        await conn.add_listener(CHANNEL, self._on_message)
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn
        self._lost.clear()
        self._ready = True

    def _on_message(self, _: Connection, __: int, ___: str, payload: object) -> None:
        try:
            message = orjson.loads(str(payload))
        except orjson.JSONDecodeError:
            return
        if message.get("o") == self.instance_id:
            return
        for invalidate in self._topics.get(str(message.get("t")), ()):
            invalidate(str(message.get("k")))

    def _on_terminated(self, _: Connection) -> None:
        self._ready = False
        self._lost.set()

    async def _supervise(self) -> None:
        delay = 0.2
        while True:
            await self._lost.wait()
            _log.warning("cache bus connection lost; reconnecting")
            self._conn = None
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError) as exc:
                _log.warning("cache bus reconnect failed", error=str(exc), retry_in_seconds=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            # Anything may have changed while deaf: reload every cache from the database.
            for resync in self._resyncs:
                try:
                    await resync()
                except Exception as exc:
                    _log.error("cache resync failed", exc_info=exc)
            _log.info("cache bus listening again; caches re-warmed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._ready = False
            with contextlib.suppress(Exception):
                await conn.close()
