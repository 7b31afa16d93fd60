"""The geo service: country lookups, and daily counters written off the request path."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from galaxy_backend.errors import InvalidInput
from galaxy_backend.geo import repository
from galaxy_backend.geo.reader import GeoReader
from galaxy_backend.geo.repository import UNKNOWN_COUNTRY, CountryDay
from galaxy_backend.postgres import Connection
from galaxy_backend.postgres.migrate import PoolProvider
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

MAX_STATS_DAYS = 90
# Counters share the pool with requests: a few writers at a time leave it to the requests.
_CONCURRENT_WRITES = 2
# Past this many waiting writes (PostgreSQL stuck), new counts are dropped, not queued.
_MAX_PENDING_WRITES = 10_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _country_code(country: str | None) -> str:
    if country and len(country) == 2 and country.isascii() and country.isalpha():
        return country.upper()
    return UNKNOWN_COUNTRY


class GeoService:
    """GeoIP lookups plus per-country counters; stop drains every pending counter write."""

    name = "geo"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        database: PoolProvider,
        reader: GeoReader,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._database = database
        self._reader = reader
        self._clock = clock
        self._writers = asyncio.Semaphore(_CONCURRENT_WRITES)
        self._tasks: set[asyncio.Task[None]] = set()
        self._active_day: date | None = None
        self._active_seen: set[UUID] = set()
        self._stopped = False

    @property
    def pending_writes(self) -> int:
        return len(self._tasks)

    def country_for(self, ip: str | None) -> str | None:
        """ISO country code of a client address, or None when it cannot be placed."""
        return self._reader.country(ip)

    def record_sign_in(self, user_id: UUID, country: str | None) -> None:
        """Count a sign-in for today in the background; never blocks or fails the caller."""
        day = self._today()
        code = _country_code(country)

        async def write(conn: Connection) -> None:
            await repository.add_sign_in(conn, day=day, country=code)

        self._schedule("sign_in", write)

    def record_activity(self, user_id: UUID, country: str | None) -> None:
        """Count the user as active today (once per day per process), in the background."""
        day = self._today()
        if day != self._active_day:
            self._active_day = day
            self._active_seen = set()
        if user_id in self._active_seen:
            return
        self._active_seen.add(user_id)
        code = _country_code(country)

        async def write(conn: Connection) -> None:
            await repository.add_active_user(conn, day=day, user_id=user_id, country=code)

        def forget() -> None:
            # Let the user's next request try again today.
            if self._active_day == day:
                self._active_seen.discard(user_id)

        self._schedule("active_user", write, on_failure=forget)

    async def stats(self, *, days: int) -> list[CountryDay]:
        """Figures per UTC day and country over the last `days` days, newest day first."""
        if not 1 <= days <= MAX_STATS_DAYS:
            raise InvalidInput(f"days must be between 1 and {MAX_STATS_DAYS}", field="days")
        until = self._today()
        since = until - timedelta(days=days - 1)
        async with self._database.pool.acquire() as conn:
            return await repository.country_days(conn, since=since, until=until)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        """Wait for every counter write, including ones scheduled meanwhile; close the reader."""
        try:
            while pending := [task for task in self._tasks if not task.done()]:
                await asyncio.wait(pending)
        except asyncio.CancelledError:
            # Out of time: the pool closes next, so the remaining writes are abandoned.
            left = [task for task in self._tasks if not task.done()]
            for task in left:
                task.cancel()
            _log.warning("geo counter writes dropped at shutdown", pending=len(left))
            raise
        finally:
            self._stopped = True
            self._reader.close()

    def _today(self) -> date:
        now = self._clock()
        return now.astimezone(UTC).date() if now.tzinfo is not None else now.date()

    def _schedule(
        self,
        counter: str,
        write: Callable[[Connection], Awaitable[None]],
        *,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        if self._stopped or len(self._tasks) >= _MAX_PENDING_WRITES:
            _log.warning(
                "geo counter dropped",
                counter=counter,
                reason="stopped" if self._stopped else "too many pending writes",
            )
            if on_failure is not None:
                on_failure()
            return
        task = asyncio.get_running_loop().create_task(
            self._write(counter, write, on_failure), name=f"geo.{counter}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(
        self,
        counter: str,
        write: Callable[[Connection], Awaitable[None]],
        on_failure: Callable[[], None] | None,
    ) -> None:
        try:
            async with self._writers, self._database.pool.acquire() as conn:
                await write(conn)
        except Exception as exc:
            if on_failure is not None:
                on_failure()
            _log.warning("geo counter write failed", counter=counter, error=str(exc), exc_info=exc)
