"""The admin service: operator login with throttling, sessions in a write-through cache."""

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from galaxy_backend.admin import repository
from galaxy_backend.admin.errors import (
    InvalidAdminSession,
    InvalidCredentials,
    LastAdmin,
    LoginInProgress,
    OperatorNotFound,
    TooManyFailedLogins,
    UsernameTaken,
)
from galaxy_backend.admin.models import ROLES, AdminAccount, AdminLogin, AdminSession
from galaxy_backend.admin.passwords import Lane, Passwords
from galaxy_backend.audit.trail import Actor, AuditEntry, write_audit
from galaxy_backend.audit.trail import entries as audit_entries
from galaxy_backend.auth.credentials import ADMIN_TOKEN_PREFIX, new_token, token_hash
from galaxy_backend.config import MIN_ADMIN_PASSWORD_LENGTH
from galaxy_backend.kernel.cache import CacheLimits, WriteThroughCache
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.kernel.errors import (
    Conflict,
    InvalidInput,
)
from galaxy_backend.kernel.networks import limit_key
from galaxy_backend.kernel.principal import CallerInfo, Principal
from galaxy_backend.postgres import in_transaction
from galaxy_backend.postgres.pool import Database
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

ADMIN_SESSION_TOPIC = "admin_session"
# Callers without an address (a Unix socket) share one throttle.
_NO_ADDRESS = "::"


class AdminService:
    def __init__(
        self,
        *,
        database: Database,
        bus: CacheBus,
        passwords: Passwords,
        session_ttl: timedelta,
        lockout_threshold: int,
        address_lockout_threshold: int,
        lockout_duration: timedelta,
        cache_limits: CacheLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._bus = bus
        self._passwords = passwords
        self._session_ttl = session_ttl
        self._lockout_threshold = lockout_threshold
        self._address_lockout_threshold = address_lockout_threshold
        self._lockout_duration = lockout_duration
        self._clock = clock
        # Networks whose login is being checked now (one at a time each).
        self._checking: set[str] = set()
        self.cache: WriteThroughCache[bytes, AdminSession] = WriteThroughCache(
            "admin_sessions", self._load_recent, cache_limits
        )
        bus.subscribe(ADMIN_SESSION_TOPIC, lambda key: self.cache.discard(bytes.fromhex(key)))
        bus.on_resync(self.cache.warm)

    async def _load_recent(self, limit: int) -> list[tuple[bytes, AdminSession]]:
        async with self._database.pool.acquire() as conn:
            return [(s.token_hash, s) for s in await repository.recent_live_sessions(conn, limit)]

    async def create_admin(
        self, username: str, password: str, role: str, *, actor: Actor | None = None
    ) -> AdminAccount:
        """A new operator; audited when an operator (or the CLI) makes it."""
        name = username.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise InvalidInput("1 to 64 printable characters", field="username")
        _check_role(role)
        _check_password(password)
        hashed = await self._passwords.hash(password)
        try:
            async with in_transaction(self._database) as conn:
                account = await repository.insert_account(
                    conn, admin_id=uuid.uuid4(), username=name, password_hash=hashed, role=role
                )
                if actor is not None:
                    await write_audit(
                        conn,
                        actor,
                        "admin.operator.create",
                        target_type="operator",
                        target_id=str(account.id),
                        details={"username": name, "role": role},
                    )
        except asyncpg.UniqueViolationError:
            raise UsernameTaken() from None
        _log.info("admin created", admin_id=str(account.id), username=name, role=role)
        return account

    # --- managing operators -----------------------------------------------------------------

    async def operators(
        self, *, cursor: str | None, limit: int
    ) -> tuple[list[AdminAccount], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await repository.accounts(conn, after=after, limit=limit + 1)
        return page_of(rows, limit)

    async def operator_named(self, username: str) -> AdminAccount:
        async with self._database.pool.acquire() as conn:
            found = await repository.account_by_username(conn, username)
        if found is None:
            raise OperatorNotFound()
        return found

    async def disable(self, admin_id: UUID, actor: Actor) -> AdminAccount:
        """Disable the operator and end every session of theirs at once, on every replica."""
        return await self._change(admin_id, actor, "admin.operator.disable", disabled=True)

    async def enable(self, admin_id: UUID, actor: Actor) -> AdminAccount:
        return await self._change(admin_id, actor, "admin.operator.enable", disabled=False)

    async def set_role(self, admin_id: UUID, role: str, actor: Actor) -> AdminAccount:
        _check_role(role)
        return await self._change(admin_id, actor, "admin.operator.role", role=role)

    async def set_password(
        self, admin_id: UUID, password: str, actor: Actor, *, keep_session: UUID | None = None
    ) -> AdminAccount:
        """A new password; every session of the operator ends, but `keep_session` (the one
        that made the change, when operators change their own)."""
        _check_password(password)
        hashed = await self._passwords.hash(password)
        return await self._change(
            admin_id, actor, "admin.operator.password", password_hash=hashed, keep=keep_session
        )

    async def _change(
        self,
        admin_id: UUID,
        actor: Actor,
        action: str,
        *,
        disabled: bool | None = None,
        role: str | None = None,
        password_hash: str | None = None,
        keep: UUID | None = None,
    ) -> AdminAccount:
        async with in_transaction(self._database) as conn:
            accounts = {a.id: a for a in await repository.lock_accounts(conn)}
            before = accounts.get(admin_id)
            if before is None:
                raise OperatorNotFound()
            after = await repository.update_account(
                conn, admin_id, disabled=disabled, role=role, password_hash=password_hash
            )
            accounts[admin_id] = after
            if not any(a.role == "admin" and a.disabled_at is None for a in accounts.values()):
                raise LastAdmin()
            details: dict[str, object] = {"username": after.username}
            if disabled or password_hash is not None:
                ended = await repository.revoke_sessions_of(conn, admin_id, keep=keep)
                details["sessions_ended"] = len(ended)
            elif role is not None and role != before.role:
                # Still valid, but every replica must read the new role.
                ended = await repository.live_session_hashes_of(conn, admin_id)
                details.update(role=role, previous_role=before.role)
            else:
                ended = []
            if ended:
                await self._bus.invalidate(conn, ADMIN_SESSION_TOPIC, *(h.hex() for h in ended))
            await write_audit(
                conn,
                actor,
                action,
                target_type="operator",
                target_id=str(admin_id),
                details=details,
            )
        for digest in ended:
            self.cache.discard(digest)
        _log.info(action, admin_id=str(admin_id), sessions=len(ended))
        return after

    async def bootstrap(self, username: str, password: str) -> AdminAccount | None:
        """Create the first admin when there is none; replicas starting together create one."""
        async with self._database.pool.acquire() as conn:
            if await repository.any_admin(conn):
                return None
        try:
            return await self.create_admin(username, password, "admin")
        except Conflict:
            return None

    async def login(
        self, username: str, password: str, *, client_ip: str | None, user_agent: str | None
    ) -> AdminLogin:
        """Exchange a good password for an admin session.

        Everything is counted per network (an IPv6 /64, an IPv4 address), before the
        password is checked: one check at a time per network (a second at once is 429),
        failures per network and per (network, username as typed), so a stranger's
        guesses lock only the stranger out, and an unknown username is answered and
        throttled exactly like a wrong password. The check waits in the lane of its
        network's standing (see admin.passwords), so a flood of failing networks cannot
        crowd out an operator from one that has not failed. No connection or row lock is
        held while argon2 runs (tens of milliseconds, on a bounded number of threads).
        """
        network = limit_key(client_ip) or _NO_ADDRESS
        if network in self._checking:
            raise LoginInProgress(retry_after_seconds=1)
        self._checking.add(network)
        try:
            return await self._login(username, password, network, client_ip, user_agent)
        finally:
            self._checking.discard(network)

    async def _login(
        self,
        username: str,
        password: str,
        network: str,
        client_ip: str | None,
        user_agent: str | None,
    ) -> AdminLogin:
        async with self._database.pool.acquire() as conn:
            standing = await repository.login_standing(
                conn, network=network, username=username, window=self._lockout_duration
            )
            self._refuse_if_locked(standing.locked_until)
            found = await repository.account_for_login(conn, username)
        account, stored = found if found else (None, None)
        lane: Lane = "trusted" if standing.known else "suspect" if standing.failed else "clean"
        ok = await self._passwords.verify(stored, password, lane=lane)
        if account is None or account.disabled_at is not None or not ok:
            async with self._database.pool.acquire() as conn:
                await repository.record_login_failure(
                    conn,
                    client_ip=network,
                    username=username,
                    pair_threshold=self._lockout_threshold,
                    address_threshold=self._address_lockout_threshold,
                    lockout=self._lockout_duration,
                )
            raise InvalidCredentials()
        assert stored is not None
        rehashed = (
            await self._passwords.hash(password) if self._passwords.needs_rehash(stored) else None
        )
        token = new_token(ADMIN_TOKEN_PREFIX)
        async with in_transaction(self._database) as conn:
            await repository.clear_login_failures(conn, client_ip=network, username=username)
            await repository.record_login(conn, account.id, rehashed)
            session = await repository.insert_session(
                conn,
                session_id=uuid.uuid4(),
                admin_id=account.id,
                token_hash=token_hash(token),
                client_ip=client_ip,
                user_agent=user_agent,
                ttl=self._session_ttl,
            )
            await write_audit(
                conn, Actor(str(account.id), account.username, client_ip), "admin.login"
            )
        self.cache.put(session.token_hash, session)
        _log.info("admin signed in", admin_id=str(session.admin_id))
        return AdminLogin(token=token, session=session)

    def _refuse_if_locked(self, locked_until: datetime | None) -> None:
        now = self._clock()
        if locked_until is not None and locked_until > now:
            raise TooManyFailedLogins(
                retry_after_seconds=max(1, math.ceil((locked_until - now).total_seconds()))
            )

    async def prune_login_failures(self, *, keep: timedelta) -> int:
        async with self._database.pool.acquire() as conn:
            return await repository.prune_login_failures(
                conn, keep=max(keep, self._lockout_duration)
            )

    async def _live_session(self, digest: bytes) -> AdminSession | None:
        async with self._database.pool.acquire() as conn:
            return await repository.live_session_by_hash(conn, digest)

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        """The admin audience's authenticator."""
        digest = token_hash(token)
        session = await self.cache.get_or_load(digest, lambda: self._live_session(digest))
        if session is None:
            raise InvalidAdminSession()
        if session.expires_at <= self._clock():
            self.cache.discard(digest)
            raise InvalidAdminSession("the admin session has expired")
        return Principal(
            audience="admin",
            subject=str(session.admin_id),
            session_id=str(session.id),
            roles=frozenset({session.role}),
            expires_at=session.expires_at,
            attributes={"username": session.username},
        )

    async def logout(self, session_id: UUID, actor: Actor) -> None:
        async with in_transaction(self._database) as conn:
            digest = await repository.revoke_session(conn, session_id)
            if digest is not None:
                await self._bus.invalidate(conn, ADMIN_SESSION_TOPIC, digest.hex())
                await write_audit(conn, actor, "admin.logout")
        if digest is not None:
            self.cache.discard(digest)

    async def audit(
        self,
        *,
        before: int | None,
        limit: int,
        operator: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        async with self._database.pool.acquire() as conn:
            return await audit_entries(
                conn,
                before=before,
                limit=limit,
                operator=operator,
                action=action,
                since=since,
                until=until,
            )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"one of {', '.join(ROLES)}", field="role")


def _check_password(password: str) -> None:
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        raise InvalidInput(f"at least {MIN_ADMIN_PASSWORD_LENGTH} characters", field="password")


class AdminBootstrap:
    """Creates BACKEND_ADMIN_BOOTSTRAP_USERNAME at start when no admin exists yet."""

    name = "admin-bootstrap"
    stop_timeout: float | None = None

    def __init__(self, service: AdminService, username: str | None, password: str | None) -> None:
        self._service = service
        self._username = username
        self._password = password

    async def start(self) -> None:
        if self._username and self._password:
            created = await self._service.bootstrap(self._username, self._password)
            if created is not None:
                _log.info("bootstrap admin created", username=created.username)

    async def stop(self) -> None:
        return None
