"""The controls of a game's engine: the owner's (force a turn, pause, resume) and the
operators' (the same, audited, and the engine's stop and restart as jobs)."""

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.cronutil import parse_schedule
from galaxy_backend.kernel.durations import format_duration
from galaxy_backend.postgres import Database, Tx, transaction
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.errors import ForceTurnCooldown, OwnerOnly, WrongRuntimeStatus
from galaxy_backend.runtime.models import Job, JobKind, RecordStatus, RuntimeRecord
from galaxy_backend.runtime.playing import Playing


async def audit_game(tx: Tx, actor: Actor, action: str, game_id: UUID, **details: Any) -> None:
    """An operator's action on a game, in the transaction that makes it."""
    await write_audit(
        tx.conn, actor, action, target_type="game", target_id=str(game_id), details=details
    )


class RecordChanges(Protocol):
    """The runtime service's records and jobs, which the controls change."""

    async def record(self, game_id: UUID) -> RuntimeRecord: ...

    async def set_status(
        self,
        game_id: UUID,
        status: RecordStatus,
        *,
        audit: tuple[Actor, str] | None = None,
        **changes: Any,
    ) -> RuntimeRecord: ...

    async def queue_job(
        self, game_id: UUID, kind: JobKind, *, reason: str, actor: Actor | None = None
    ) -> Job: ...


class Controls:
    def __init__(
        self,
        *,
        database: Database,
        records: RecordChanges,
        playing: Playing,
        force_turn_cooldown: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._records = records
        self._playing = playing
        self._force_turn_cooldown = force_turn_cooldown
        self._clock = clock

    async def _owned(self, game_id: UUID, user_id: UUID | None) -> RuntimeRecord:
        found = await self._records.record(game_id)
        if user_id is not None and found.owner_id != user_id:
            if found.has_player(user_id):
                raise OwnerOnly()
            await self._playing.refuse_outsider(game_id)
        return found

    async def operator_job(self, game_id: UUID, kind: JobKind, actor: Actor) -> Job:
        """An operator's stop or restart of a game's engine (audited)."""
        return await self._records.queue_job(
            game_id, kind, reason=f"{kind} by {actor.username}", actor=actor
        )

    async def force_next_turn(
        self, game_id: UUID, *, by_owner: UUID | None = None, actor: Actor | None = None
    ) -> None:
        """Run the next turn now; the next scheduled tick then runs nothing (docs/engine.md).

        An owner may do it once per BACKEND_RUNTIME_FORCE_TURN_COOLDOWN (each turn mails
        every player and keeps a report); operators are not bound by it.
        """
        found = await self._owned(game_id, by_owner)
        async with transaction(self._database) as tx:
            if by_owner is not None:
                wait = await repository.owner_force_wait(
                    tx.conn, game_id, cooldown=self._force_turn_cooldown
                )
                if wait is not None:
                    raise ForceTurnCooldown(
                        "the game's owner may force a turn once every"
                        f" {format_duration(self._force_turn_cooldown)}",
                        retry_after_seconds=max(1, math.ceil(wait.total_seconds())),
                    )
            forced = await repository.request_turn(
                tx.conn, game_id, "forced", replace=True, by_owner=by_owner is not None
            )
            if forced and actor is not None:
                await audit_game(tx, actor, "runtime.force_turn", game_id)
        if not forced:
            raise WrongRuntimeStatus(
                f"only a running game's turn can be forced (this one is {found.status})",
                details={"status": found.status},
            )

    async def pause(
        self, game_id: UUID, *, by_owner: UUID | None = None, actor: Actor | None = None
    ) -> RuntimeRecord:
        found = await self._owned(game_id, by_owner)
        if found.status != "running":
            raise WrongRuntimeStatus(
                f"only a running game can be paused (this one is {found.status})",
                details={"status": found.status},
            )
        audit = None if actor is None else (actor, "runtime.pause")
        return await self._records.set_status(game_id, "paused", audit=audit)

    async def resume(
        self, game_id: UUID, *, by_owner: UUID | None = None, actor: Actor | None = None
    ) -> RuntimeRecord:
        found = await self._owned(game_id, by_owner)
        if found.status != "paused":
            raise WrongRuntimeStatus(
                f"only a paused game can be resumed (this one is {found.status})",
                details={"status": found.status},
            )
        schedule = parse_schedule(found.turn_schedule, found.turn_time_zone)
        return await self._records.set_status(
            game_id,
            "running",
            audit=None if actor is None else (actor, "runtime.resume"),
            next_tick_at=schedule.next_after(self._clock()),
        )
