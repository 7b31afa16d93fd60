"""The geo service: country lookups, and daily counters written off the request path."""

import asyncio
import contextlib
import contextvars
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from galaxy_backend.geo import repository
from galaxy_backend.geo.reader import GeoReader
from galaxy_backend.geo.repository import UNKNOWN_COUNTRY, CountryDay
from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.postgres import PoolProvider, in_transaction
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

MAX_STATS_DAYS = 90
# Who was active on a day is kept only as long as the statistics can show that day; the
# per-country sign-in counts hold no user id and are kept.
ACTIVE_USERS_RETENTION_DAYS = MAX_STATS_DAYS
# Past this many buffered counts (PostgreSQL unreachable), new counts are dropped.
_MAX_PENDING = 100_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _country_code(country: str | None) -> str:
    if country and len(country) == 2 and country.isascii() and country.isalpha():
        return country.upper()
    return UNKNOWN_COUNTRY


class GeoService:
    """GeoIP lookups plus per-country counters, buffered and written in batches.

    Requests only touch in-memory buffers; one background task writes them shortly after,
    in two statements whatever the count, and stop writes whatever is left.
    """

    name = "geo"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        database: PoolProvider,
        reader: GeoReader,
        clock: Callable[[], datetime] = _utc_now,
        flush_delay: timedelta = timedelta(milliseconds=500),
    ) -> None:
        self._database = database
        self._reader = reader
        self._clock = clock
        self._flush_delay = flush_delay.total_seconds()
        self._sign_ins: Counter[tuple[date, str]] = Counter()
        self._active: dict[tuple[date, UUID], str] = {}
        self._active_day: date | None = None
        self._active_seen: set[UUID] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._in_flight = 0
        self._stopped = False
        self._pruned_on: date | None = None

    @property
    def pending_writes(self) -> int:
        """Counts buffered or being written."""
        return len(self._sign_ins) + len(self._active) + self._in_flight

    def country_for(self, ip: str | None) -> str | None:
        """ISO country code of a client address, or None when it cannot be placed."""
        return self._reader.country(ip)

    def record_sign_in(self, country: str | None) -> None:
        """Count a sign-in for today; never blocks or fails the caller."""
        if self._refuse("sign_in"):
            return
        self._sign_ins[(self._today(), _country_code(country))] += 1
        self._schedule_flush()

    def record_activity(self, user_id: UUID, country: str | None) -> None:
        """Count the user as active today (at most once per day per process)."""
        day = self._today()
        if day != self._active_day:
            self._active_day = day
            self._active_seen = set()
        if user_id in self._active_seen or self._refuse("active_user"):
            return
        self._active_seen.add(user_id)
        self._active[(day, user_id)] = _country_code(country)
        self._schedule_flush()

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
        """Write every buffered count (the seed's stop step 5), then close the reader."""
        self._stopped = True
        try:
            flusher = self._flusher
            if flusher is not None and not flusher.done():
                if self._lock.locked():
                    await flusher  # a write is under way: let it finish
                else:
                    flusher.cancel()  # only waiting for its delay
                    with contextlib.suppress(asyncio.CancelledError):
                        await flusher
            await self.flush()
        except asyncio.CancelledError:
            _log.warning("geo counts dropped at shutdown", pending=self.pending_writes)
            raise
        finally:
            self._reader.close()

    async def flush(self) -> None:
        """Write the buffers now; on failure the counts go back to be written next time."""
        async with self._lock:
            if not self._sign_ins and not self._active:
                return
            sign_ins, self._sign_ins = self._sign_ins, Counter()
            active, self._active = self._active, {}
            self._in_flight = len(sign_ins) + len(active)
            try:
                # One transaction: counts that go back to the buffer were not written at all.
                async with in_transaction(self._database) as conn:
                    if sign_ins:
                        await repository.add_sign_ins(conn, dict(sign_ins))
                    if active:
                        await repository.add_active_users(conn, active)
            except BaseException as exc:
                self._sign_ins.update(sign_ins)
                for key, country in active.items():
                    self._active.setdefault(key, country)
                if not isinstance(exc, Exception):
                    raise
                _log.warning(
                    "geo counter write failed",
                    error=str(exc),
                    pending=self.pending_writes,
                    exc_info=exc,
                )
                if not self._stopped:
                    self._schedule_flush()
                return
            finally:
                self._in_flight = 0
        await self._prune_once_a_day()

    async def _prune_once_a_day(self) -> None:
        # Apart from the counter writes: a failure here must not put written counts back.
        today = self._today()
        if self._pruned_on == today:
            return
        oldest_kept = today - timedelta(days=ACTIVE_USERS_RETENTION_DAYS - 1)
        try:
            async with self._database.pool.acquire() as conn:
                pruned = await repository.prune_active_users(conn, before=oldest_kept)
        except Exception as exc:
            _log.warning("pruning old active-user rows failed", error=str(exc))
            return
        self._pruned_on = today
        if pruned:
            _log.info("old active-user rows pruned", rows=pruned, before=oldest_kept.isoformat())

    def _refuse(self, counter: str) -> bool:
        if self._stopped or self.pending_writes >= _MAX_PENDING:
            _log.warning(
                "geo counter dropped",
                counter=counter,
                reason="stopped" if self._stopped else "too many pending counts",
            )
            return True
        return False

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            # A fresh context: the write belongs to no request, least of all to the one
            # that happened to schedule it (its trace and log fields would claim it).
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_later(), name="geo.flush", context=contextvars.Context()
            )

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_delay)
        await self.flush()

    def _today(self) -> date:
        return self._clock().astimezone(UTC).date()
