"""The lobby sweeper (the seed's internal/lobby.Sweeper): its loop and its round.

Each round releases stale race-name registrations, starts enrollment-expired games that
have enough players and tells the owners of those that do not. Any number of sweepers in
any number of processes may run at once: each decision locks what it decides on, and skips
what another sweeper holds.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from galaxy_backend.cronutil import Schedule
from galaxy_backend.kernel.errors import DomainError
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.lobby import notices, repository, steps
from galaxy_backend.lobby.models import RaceName
from galaxy_backend.lobby.steps import LobbyContext
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# A failed sweep (the database away) is tried again this soon.
RETRY_SECONDS = 5.0
_BATCH = 100


@dataclass(frozen=True, slots=True)
class SweepReport:
    expired_registrations: int = 0
    started: int = 0
    owners_told: int = 0


class Sweeper:
    name = "lobby-sweeper"
    stop_timeout: float | None = 5.0

    def __init__(
        self, ctx: LobbyContext, schedule: Schedule, *, liveness: Liveness | None = None
    ) -> None:
        self._ctx = ctx
        self._heartbeat = (liveness or Liveness()).heartbeat(self.name)
        self._schedule = schedule
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    async def start(self) -> None:
        self._heartbeat.start(next_in=self._delay())
        self._task = asyncio.create_task(self._loop(), name="lobby-sweeper")

    async def stop(self) -> None:
        self._heartbeat.stop()
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def _delay(self) -> float:
        now = self._ctx.clock()
        return max(0.0, (self._schedule.next_after(now) - now).total_seconds())

    async def _loop(self) -> None:
        wait = self._delay()
        while True:
            await asyncio.sleep(wait)
            try:
                await self.sweep()
            except Exception as exc:
                # Soon, not at the next slot (a daily schedule would wait a day).
                wait = min(RETRY_SECONDS, self._delay())
                _log.warning("lobby sweep failed; trying again", error=str(exc), retry_in=wait)
            else:
                wait = self._delay()
                self._heartbeat.beat(next_in=wait)
            self.rounds += 1

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """One round; safe with any number of sweepers at once."""
        now = now or self._ctx.clock()
        expired = await self._expire_registrations(now)
        started, told = await self._close_expired_enrollments(now)
        if expired or started or told:
            _log.info(
                "lobby sweep", expired_registrations=expired, started=started, owners_told=told
            )
        return SweepReport(expired_registrations=expired, started=started, owners_told=told)

    async def _expire_registrations(self, now: datetime) -> int:
        count = 0
        ttl = self._ctx.pending_registration_ttl
        while True:
            async with self._ctx.database.pool.acquire() as conn:
                candidates = await repository.expired_registrations(conn, ttl, now, _BATCH)
            if not candidates:
                return count
            done = 0
            for entry in candidates:
                if await self._expire_one(entry):
                    done += 1
            count += done
            if done == 0 or len(candidates) < _BATCH:
                return count

    async def _expire_one(self, entry: RaceName) -> bool:
        async with self._ctx.unit() as tx:
            # The game's row first, as every decision takes it (an approval in flight would
            # deadlock with this otherwise), then the application, skipping one another
            # sweeper holds.
            await repository.lock_game(tx.conn, entry.game_id)
            if not await repository.try_lock_application(tx.conn, entry.application_id):
                return False
            application = await repository.get_application(tx.conn, entry.application_id)
            current = await repository.get_race_name(tx.conn, entry.id, lock=True)
            if (
                application is None
                or application.status != "pending"
                or current is None
                or current.status != "pending_registration"
            ):
                return False
            await steps.move_application(tx, application, "expired", "expire it")
            await steps.release(tx, [application.id], "expired")
            game = await steps.locked_game(tx, application.game_id)
            await self._ctx.tell(tx, notices.application_expired(game, application))
        return True

    async def _close_expired_enrollments(self, now: datetime) -> tuple[int, int]:
        started = told = 0
        async with self._ctx.database.pool.acquire() as conn:
            ids = await repository.expired_enrollments(conn, now, _BATCH)
        for game_id in ids:
            try:
                outcome = await self._sweep_game(game_id, now)
            except DomainError as exc:
                # The runtime refused (its queue full, say): the next round tries again.
                _log.warning("sweeper could not start a game", game_id=str(game_id), error=str(exc))
                continue
            started += outcome == "started"
            told += outcome == "told"
        return started, told

    async def _sweep_game(self, game_id: UUID, now: datetime) -> str | None:
        async with self._ctx.unit() as tx:
            # Another sweeper holding the game deals with it; this one moves on.
            if not await repository.try_lock_game(tx.conn, game_id):
                return None
            game = await repository.get_game(tx.conn, game_id)
            if game is None or game.status != "enrollment_open" or game.enrollment_deadline > now:
                return None
            if game.approved_count >= game.min_players:
                reason = "the enrollment deadline passed"
                await steps.start(self._ctx, tx, game, reason=reason, by="sweeper")
                return "started"
            if await repository.mark_below_min_notified(tx.conn, game_id):
                await self._ctx.tell(tx, notices.below_min_players(game))
                return "told"
        return None
