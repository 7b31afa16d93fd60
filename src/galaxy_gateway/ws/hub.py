"""Every authenticated WebSocket, by user and by session, and the delivery of push events.

Each connection has a bounded queue and a writer task that exists only while frames are
waiting; a connection whose queue is full has stopped keeping up and is closed with 4408,
so it never slows anyone else. Sessions end on `session.revoked` and at their expiry (4401).
"""

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.types import Send

from galaxy_gateway.telemetry import get_logger
from galaxy_gateway.ws import frames

_log = get_logger(__name__)

# Sessions checked again at once after a push reset (they may have been revoked unseen).
_REVALIDATE_CONCURRENCY = 8


class Connection:
    """One authenticated WebSocket: a bounded queue of frames and the task that writes them."""

    __slots__ = (
        "_closing",
        "_hub",
        "_queue",
        "_send",
        "_writer",
        "address",
        "session_id",
        "user_id",
    )

    def __init__(
        self, send: Send, *, hub: "Hub", user_id: str, session_id: str, address: str | None
    ) -> None:
        self._send = send
        self._hub = hub
        self._queue: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self.user_id = user_id
        self.session_id = session_id
        self.address = address

    def offer(self, frame: str) -> None:
        """Queue a frame; a full queue means the client is not keeping up (4408)."""
        if self._closing:
            return
        if len(self._queue) >= self._hub.queue_size:
            self.close(frames.TIMEOUT, "client too slow")
            return
        self._queue.append(frame)
        if self._writer is None:
            self._writer = self._hub.spawn(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue and not self._closing:
                frame = self._queue.popleft()
                await self._send({"type": "websocket.send", "text": frame})
        except Exception:
            self._queue.clear()
        finally:
            self._writer = None

    def close(self, code: int, reason: str) -> None:
        """Close the socket (at once, even past a client that stopped reading)."""
        if self._closing:
            return
        self._closing = True
        self._queue.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
        self._hub.closed(code)
        self._hub.spawn(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception:
            return


@dataclass
class _Session:
    token: str
    expires_at: datetime
    connections: set[Connection] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None


Resolver = Callable[[str], Awaitable[bool]]


class Hub:
    """Routes events to connections; owns every task it starts (cancelled on stop)."""

    name = "ws-hub"
    stop_timeout: float | None = 5.0

    def __init__(self, *, max_per_session: int, max_per_address: int, queue_size: int) -> None:
        self.queue_size = queue_size
        self._max_per_session = max_per_session
        self._max_per_address = max_per_address
        self._users: dict[str, set[Connection]] = {}
        self._sessions: dict[str, _Session] = {}
        self._addresses: Counter[str | None] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.close_codes: Counter[int] = Counter()
        # Checks that a session still stands; set in wiring (the backend's session lookup).
        self.session_alive: Resolver | None = None

    # -- counting -------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        return sum(len(s.connections) for s in self._sessions.values())

    @property
    def pending_and_open(self) -> int:
        """Every socket counted against its address: authenticated or still signing in."""
        return self._addresses.total()

    def admit_address(self, address: str | None) -> bool:
        """Count a new socket against its client address; False past the cap."""
        if self._closing or self._addresses[address] >= self._max_per_address:
            return False
        self._addresses[address] += 1
        return True

    def release_address(self, address: str | None) -> None:
        self._addresses[address] -= 1
        if self._addresses[address] <= 0:
            del self._addresses[address]

    def closed(self, code: int) -> None:
        self.close_codes[code] += 1

    # -- registry -------------------------------------------------------------------------

    def register(self, connection: Connection, *, token: str, expires_at: datetime) -> bool:
        """Add an authenticated connection; False past the per-session cap."""
        session = self._sessions.get(connection.session_id)
        if session is None:
            session = _Session(token=token, expires_at=expires_at)
            self._sessions[connection.session_id] = session
            self._arm_expiry(connection.session_id, session)
        elif len(session.connections) >= self._max_per_session:
            return False
        session.connections.add(connection)
        self._users.setdefault(connection.user_id, set()).add(connection)
        return True

    def unregister(self, connection: Connection) -> None:
        session = self._sessions.get(connection.session_id)
        if session is not None:
            session.connections.discard(connection)
            if not session.connections:
                if session.timer is not None:
                    session.timer.cancel()
                del self._sessions[connection.session_id]
        users = self._users.get(connection.user_id)
        if users is not None:
            users.discard(connection)
            if not users:
                del self._users[connection.user_id]

    def _arm_expiry(self, session_id: str, session: _Session) -> None:
        delay = session.expires_at.timestamp() - time.time()
        loop = asyncio.get_running_loop()
        session.timer = loop.call_later(
            max(delay, 0.0), self.close_session, session_id, frames.UNAUTHORIZED, "session expired"
        )

    # -- delivery -------------------------------------------------------------------------

    def to_users(self, user_ids: tuple[str, ...] | list[str], frame: str) -> int:
        """Queue a frame for every connection of each user; how many got it."""
        reached = 0
        for user_id in user_ids:
            for connection in self._users.get(user_id, ()):
                connection.offer(frame)
                reached += 1
        return reached

    def to_everyone(self, frame: str) -> None:
        for users in list(self._users.values()):
            for connection in list(users):
                connection.offer(frame)

    def close_session(self, session_id: str, code: int, reason: str) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            return
        for connection in list(session.connections):
            connection.close(code, reason)

    def resync(self) -> None:
        """Events were lost: every client reloads, and every session is checked again."""
        self.to_everyone(frames.RESYNC)
        if self.session_alive is not None and self._sessions:
            self.spawn(self._revalidate(self.session_alive))

    async def _revalidate(self, alive: Resolver) -> None:
        gate = asyncio.Semaphore(_REVALIDATE_CONCURRENCY)

        async def check(session_id: str, token: str) -> None:
            async with gate:
                try:
                    standing = await alive(token)
                except Exception:
                    return
            if not standing:
                self.close_session(session_id, frames.UNAUTHORIZED, "session revoked")

        checks = [check(sid, s.token) for sid, s in list(self._sessions.items())]
        await asyncio.gather(*checks)

    # -- tasks and lifecycle --------------------------------------------------------------

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def start(self) -> None:
        self._closing = False

    async def stop(self) -> None:
        """Close every socket with 1001 (the listener normally has), then end the tasks."""
        self._closing = True
        for session in list(self._sessions.values()):
            if session.timer is not None:
                session.timer.cancel()
            for connection in list(session.connections):
                connection.close(frames.GOING_AWAY, "server shutting down")
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
