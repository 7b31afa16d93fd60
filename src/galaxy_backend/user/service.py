"""The user service: accounts read from a write-through cache, changed in transactions."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.kernel.cache import CacheLimits, WriteThroughCache
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.kernel.errors import InvalidInput
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Tx, transaction
from galaxy_backend.postgres.pool import Database
from galaxy_backend.telemetry import get_logger
from galaxy_backend.user import repository
from galaxy_backend.user.errors import UserNotFound
from galaxy_backend.user.models import BlockKind, Entitlements, User

_log = get_logger(__name__)

USER_TOPIC = "user"


class SessionRevoker(Protocol):
    """What user needs from auth (through an adapter: auth also depends on user)."""

    async def revoke_user_sessions(self, user_id: UUID, *, reason: str) -> int: ...


class Notifier(Protocol):
    """What user needs from notifications (an adapter: notification is built after user)."""

    async def post(self, tx: Tx, notice: Notice) -> list[UUID]: ...


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    display_name: str | None = None
    language: str | None = None
    time_zone: str | None = None


class UserService:
    def __init__(
        self,
        *,
        database: Database,
        bus: CacheBus,
        revoker: SessionRevoker,
        notifier: Notifier,
        defaults: Entitlements,
        cache_limits: CacheLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._bus = bus
        self._revoker = revoker
        self._notifier = notifier
        self._defaults = defaults
        self._clock = clock
        self.cache: WriteThroughCache[UUID, User] = WriteThroughCache(
            "users", self._load_recent, cache_limits
        )
        bus.subscribe(USER_TOPIC, lambda key: self.cache.discard(UUID(key)))
        bus.on_resync(self.cache.warm)

    async def _load_recent(self, limit: int) -> list[tuple[UUID, User]]:
        async with self._database.pool.acquire() as conn:
            return [(user.id, user) for user in await repository.recent_live(conn, limit)]

    def entitlements(self, user: User) -> Entitlements:
        return user.entitlements(self._defaults)

    def remember(self, user: User) -> None:
        """Write-through after the caller's commit; a deleted account is not kept."""
        if user.deleted_at is None:
            self.cache.put(user.id, user)
        else:
            self.cache.discard(user.id)

    def cached(self, user_id: UUID) -> User | None:
        return self.cache.get(user_id)

    async def get(self, user_id: UUID) -> User:
        """The account, from the cache or else the database (a deleted one too, uncached)."""
        user = await self.cache.get_or_load(user_id, lambda: self._live(user_id))
        if user is None:
            async with self._database.pool.acquire() as conn:
                user = await repository.get(conn, user_id)
            if user is None:
                raise UserNotFound()
        return user

    async def _live(self, user_id: UUID) -> User | None:
        async with self._database.pool.acquire() as conn:
            user = await repository.get(conn, user_id)
        return user if user is not None and user.deleted_at is None else None

    async def record_sign_in(
        self, tx: Tx, *, email: str, email_normalized: str, country: str | None
    ) -> tuple[User, bool]:
        """Auth's confirmed sign-in, in auth's transaction: the account (created on the first
        one) and whether it was created; cached once that transaction commits."""
        user, created = await repository.record_sign_in(
            tx.conn,
            user_id=uuid.uuid4(),
            email=email,
            email_normalized=email_normalized,
            country=country,
        )
        tx.after_commit(lambda: self.remember(user))
        return user, created

    async def update_profile(self, user_id: UUID, changes: ProfileChanges) -> User:
        values = {k: v for k, v in asdict(changes).items() if v is not None}
        if not values:
            return await self.get(user_id)
        return await self._change(user_id, lambda tx: repository.update(tx.conn, user_id, values))

    async def delete_account(self, user_id: UUID) -> None:
        """Anonymise the account and end every session."""
        await self._change(user_id, lambda tx: repository.anonymize(tx.conn, user_id))
        await self._revoker.revoke_user_sessions(user_id, reason="account_deleted")
        _log.info("account deleted", user_id=str(user_id))

    async def block(
        self,
        user_id: UUID,
        *,
        kind: BlockKind,
        reason: str,
        until: datetime | None,
        actor: Actor,
    ) -> User:
        if kind == "temporary" and (until is None or until <= self._clock()):
            raise InvalidInput("a temporary block needs an end in the future", field="until")
        if kind == "permanent" and until is not None:
            raise InvalidInput("a permanent block has no end", field="until")

        async def apply(tx: Tx) -> User | None:
            conn = tx.conn
            user = await repository.set_block(conn, user_id, kind=kind, reason=reason, until=until)
            if user is not None:
                ends = f" until {until.isoformat()}" if until else ""
                await self._notifier.post(
                    tx,
                    Notice(
                        kind="account.blocked",
                        user_ids=[user_id],
                        title="Your Galaxy account is blocked",
                        body=f"Your account is blocked{ends}. Reason: {reason}",
                        payload={"kind": kind, "until": until.isoformat() if until else None},
                    ),
                )
                await write_audit(
                    conn,
                    actor,
                    "user.block",
                    target_type="user",
                    target_id=str(user_id),
                    details={
                        "kind": kind,
                        "reason": reason,
                        "until": until.isoformat() if until else None,
                    },
                )
            return user

        user = await self._change(user_id, apply)
        if kind == "permanent":
            await self._revoker.revoke_user_sessions(user_id, reason="blocked")
        return user

    async def unblock(self, user_id: UUID, *, actor: Actor) -> User:
        async def apply(tx: Tx) -> User | None:
            user = await repository.set_block(tx.conn, user_id, kind=None, reason=None, until=None)
            if user is not None:
                await self._notifier.post(
                    tx,
                    Notice(
                        kind="account.unblocked",
                        user_ids=[user_id],
                        title="Your Galaxy account is unblocked",
                        body="Your account is no longer blocked. Welcome back.",
                    ),
                )
                await write_audit(
                    tx.conn, actor, "user.unblock", target_type="user", target_id=str(user_id)
                )
            return user

        return await self._change(user_id, apply)

    async def grant(
        self,
        user_id: UUID,
        *,
        tier: str | None,
        max_owned_games: int | None,
        max_active_games: int | None,
        actor: Actor,
    ) -> User:
        changes = {
            "tier": tier,
            "max_owned_games": max_owned_games,
            "max_active_games": max_active_games,
        }

        async def apply(tx: Tx) -> User | None:
            conn = tx.conn
            user = await repository.update(conn, user_id, changes)
            if user is not None:
                granted = user.entitlements(self._defaults)
                await self._notifier.post(
                    tx,
                    Notice(
                        kind="account.entitlements_changed",
                        user_ids=[user_id],
                        title="Your Galaxy tier or game limits changed",
                        body=(
                            f"Tier: {granted.tier}. You may own {granted.max_owned_games}"
                            f" games and play {granted.max_active_games} at once."
                        ),
                        payload={
                            "tier": granted.tier,
                            "max_owned_games": granted.max_owned_games,
                            "max_active_games": granted.max_active_games,
                        },
                    ),
                )
                await write_audit(
                    conn,
                    actor,
                    "user.entitlements",
                    target_type="user",
                    target_id=str(user_id),
                    details=changes,
                )
            return user

        return await self._change(user_id, apply)

    async def search(
        self, *, query: str | None, cursor: str | None, limit: int
    ) -> tuple[list[User], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            users = list(await repository.search(conn, query=query, after=after, limit=limit + 1))
        return page_of(users, limit)

    async def _change(self, user_id: UUID, apply: Callable[[Tx], Awaitable[User | None]]) -> User:
        async with transaction(self._database) as tx:
            user = await apply(tx)
            if user is None:
                raise UserNotFound()
            await self._bus.invalidate(tx.conn, USER_TOPIC, str(user_id))
        self.remember(user)
        return user
