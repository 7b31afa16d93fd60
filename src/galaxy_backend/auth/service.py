"""The auth service: emailed codes, sessions in a write-through cache, revocation."""

import hashlib
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from uuid import UUID

from galaxy_backend.audit.trail import Actor, write_audit
from galaxy_backend.auth import repository
from galaxy_backend.auth.credentials import USER_TOKEN_PREFIX, code_hash, new_code, new_token
from galaxy_backend.auth.credentials import token_hash as hash_token
from galaxy_backend.auth.errors import (
    AccountBlocked,
    ChallengeExpired,
    CodeAttemptsSpent,
    InvalidCode,
    InvalidSession,
    SessionNotFound,
    TooManyCodeRequests,
    TooManyGuesses,
)
from galaxy_backend.auth.models import Challenge, Session, SignIn
from galaxy_backend.kernel.cache import CacheLimits, WriteThroughCache
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.kernel.errors import NotFound, RateLimited, Unauthenticated
from galaxy_backend.kernel.networks import limit_key
from galaxy_backend.kernel.principal import CallerInfo, Principal
from galaxy_backend.mail import templates
from galaxy_backend.mail.service import MailService
from galaxy_backend.postgres import Connection, Database, in_transaction, transaction
from galaxy_backend.push import Publisher
from galaxy_backend.telemetry import get_logger
from galaxy_backend.user.models import Block, User
from galaxy_backend.user.service import UserService

_log = get_logger(__name__)

SESSION_TOPIC = "session"
SESSION_REVOKED = "session.revoked"
# last_seen_at is only worth writing back when it moved by at least this much.
_TOUCH_GRANULARITY = timedelta(seconds=60)
_DAY = timedelta(days=1)


class GeoRecorder(Protocol):
    def country_for(self, ip: str | None) -> str | None: ...

    def record_sign_in(self, country: str | None) -> None: ...

    def record_activity(self, user_id: UUID, country: str | None) -> None: ...


class AuthService:
    def __init__(
        self,
        *,
        database: Database,
        users: UserService,
        mail: MailService,
        push: Publisher,
        geo: GeoRecorder,
        bus: CacheBus,
        secret_key: Callable[[], bytes],
        code_ttl: timedelta,
        code_max_attempts: int,
        email_rate_limit: int,
        ip_rate_limit: int,
        ip_guess_limit: int,
        rate_window: timedelta,
        session_ttl: timedelta,
        email_daily_limit: int = 10,
        email_guess_limit: int = 10,
        cache_limits: CacheLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._users = users
        self._mail = mail
        self._push = push
        self._geo = geo
        self._bus = bus
        self._secret_key = secret_key
        self._code_ttl = code_ttl
        self._code_max_attempts = code_max_attempts
        self._email_rate_limit = email_rate_limit
        self._ip_rate_limit = ip_rate_limit
        self._ip_guess_limit = ip_guess_limit
        self._rate_window = rate_window
        self._email_daily_limit = email_daily_limit
        self._email_guess_limit = email_guess_limit
        self._session_ttl = session_ttl
        self._clock = clock
        self.cache: WriteThroughCache[bytes, Session] = WriteThroughCache(
            "sessions", self._load_recent, cache_limits
        )
        self._touched: dict[UUID, datetime] = {}
        self._principals = self.cache.derived(lambda _: _PrincipalSlot())
        bus.subscribe(SESSION_TOPIC, lambda key: self.cache.discard(bytes.fromhex(key)))
        bus.on_resync(self.cache.warm)

    async def _load_recent(self, limit: int) -> list[tuple[bytes, Session]]:
        async with self._database.pool.acquire() as conn:
            return [(s.token_hash, s) for s in await repository.recent_live_sessions(conn, limit)]

    # --- sign-in ----------------------------------------------------------------------------

    async def request_code(self, email: str, *, client_ip: str | None) -> Challenge:
        """Mail a fresh code to `email`.

        Limits count per network (an IPv6 /64, an IPv4 address): codes for this email from
        this network, codes from this network, and, per day, codes for this email from
        networks it has never signed in from. A stranger spending the first locks out only
        the stranger; the last bounds what strangers can mail to someone, without locking
        the player out on a network they signed in from before.
        """
        normalized = email.strip().lower()
        network = limit_key(client_ip)
        challenge_id = uuid.uuid4()
        code = new_code()
        async with in_transaction(self._database) as conn:
            await repository.lock_code_requests(conn, email_normalized=normalized, network=network)
            known = await repository.known_network(
                conn, email_normalized=normalized, network=network
            )
            recent = await repository.recent_challenges(
                conn,
                email_normalized=normalized,
                network=network,
                window=self._rate_window,
                day=_DAY,
            )
            if recent["by_email_here"] >= self._email_rate_limit:
                raise self._limited(
                    "too many codes requested for this email from this address",
                    recent["first_by_email_here"],
                )
            if network is not None and recent["by_network"] >= self._ip_rate_limit:
                raise self._limited(
                    "too many codes requested from this address", recent["first_by_network"]
                )
            if not known and recent["by_strangers"] >= self._email_daily_limit:
                raise self._limited(
                    "too many codes were asked for this email today; sign in from where you"
                    " signed in before, or try again later",
                    recent["first_by_strangers"],
                    window=_DAY,
                )
            expires_at = await repository.insert_challenge(
                conn,
                challenge_id=challenge_id,
                email=email.strip(),
                email_normalized=normalized,
                code_hash=code_hash(self._secret_key(), challenge_id, code),
                max_attempts=self._code_max_attempts,
                client_ip=client_ip,
                ttl=self._code_ttl,
                from_known=known,
            )
            # Same transaction: the code is mailed if and only if the challenge exists.
            await self._mail.enqueue(
                conn,
                to=email.strip(),
                mail=templates.sign_in_code(
                    code, ttl_minutes=max(1, round(self._code_ttl.total_seconds() / 60))
                ),
                kind="sign_in_code",
                idempotency_key=f"sign-in:{challenge_id}",
                secret_for=self._code_ttl,
            )
        _log.info("sign-in code mailed", challenge_id=str(challenge_id))
        return Challenge(id=challenge_id, expires_at=expires_at)

    def _limited(
        self, message: str, first: datetime | None, *, window: timedelta | None = None
    ) -> RateLimited:
        elapsed = self._clock() - first if first else timedelta(0)
        span = window or self._rate_window
        retry = max(1, math.ceil((span - elapsed).total_seconds()))
        return TooManyCodeRequests(message, retry_after_seconds=retry)

    async def confirm(
        self,
        challenge_id: UUID,
        code: str,
        *,
        device_name: str | None,
        client_ip: str | None,
        user_agent: str | None,
    ) -> SignIn:
        """Exchange a correct code for a session; the first sign-in creates the account.

        One transaction: the guess is counted (on the challenge, and on the address when
        wrong), the user service finds or creates the account, and a session opens unless
        the account is blocked. Refusals are raised after the commit, so guesses count.
        """
        token = new_token(USER_TOKEN_PREFIX)
        digest = hash_token(token)
        network = limit_key(client_ip)
        user: User | None = None
        created = False
        session: Session | None = None
        async with transaction(self._database) as tx:
            attempt = await repository.attempt_code(
                tx.conn,
                challenge_id=challenge_id,
                code_hash=code_hash(self._secret_key(), challenge_id, code),
                network=network,
                address_limit=self._ip_guess_limit,
                window=self._rate_window,
                email_limit=self._email_guess_limit,
            )
            if attempt.email_failures == self._email_guess_limit and attempt.email:
                await self._warn_of_guessing(tx.conn, attempt.email, attempt.email_normalized)
            if attempt.matched and network is not None:
                await repository.remember_network(
                    tx.conn, email_normalized=str(attempt.email_normalized), network=network
                )
            if attempt.matched:
                user, created = await self._users.record_sign_in(
                    tx,
                    email=str(attempt.email),
                    email_normalized=str(attempt.email_normalized),
                    country=self._geo.country_for(client_ip),
                )
                if user.active_block(self._clock()) is None:
                    session = await repository.open_session(
                        tx.conn,
                        session_id=uuid.uuid4(),
                        user_id=user.id,
                        token_hash=digest,
                        device_name=device_name,
                        client_ip=client_ip,
                        user_agent=user_agent,
                        ttl=self._session_ttl,
                    )
        if attempt.throttled:
            retry = attempt.retry_after or self._rate_window
            raise TooManyGuesses(
                "too many wrong codes; try again later",
                retry_after_seconds=max(1, math.ceil(retry.total_seconds())),
            )
        if not attempt.live and attempt.exhausted:
            raise CodeAttemptsSpent()
        if not attempt.live:
            raise ChallengeExpired()
        if user is None:
            raise InvalidCode(
                "the code is not correct", details={"attempts_left": attempt.attempts_left}
            )
        if session is None:
            block = user.active_block(self._clock())
            assert block is not None
            raise _blocked(block)
        self.cache.put(digest, session)
        self._geo.record_sign_in(user.country)
        self._geo.record_activity(user.id, user.country)
        _log.info("signed in", user_id=str(user.id), session_id=str(session.id), created=created)
        return SignIn(token=token, session=session, user=user, created=created)

    async def _warn_of_guessing(
        self, conn: Connection, email: str, email_normalized: str | None
    ) -> None:
        """Tell the player, once a day, that strangers' codes for them are refused now."""
        day = self._clock().astimezone(UTC).date()
        until = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        subject = hashlib.sha256(str(email_normalized).encode()).hexdigest()
        await self._mail.enqueue(
            conn,
            to=email,
            mail=templates.sign_in_guessing(until=until, limit=self._email_guess_limit),
            kind="sign_in_guessing",
            idempotency_key=f"sign-in-guessing:{subject}:{day.isoformat()}",
        )
        _log.warning("sign-in guesses for one email hit the daily limit")

    # --- sessions ---------------------------------------------------------------------------

    async def session_for(self, token: str) -> tuple[Session, User]:
        """The live session of a token and its user; raises on anything else."""
        digest = hash_token(token)
        session = await self.cache.get_or_load(digest, lambda: self._live_session(digest))
        if session is None:
            raise InvalidSession()
        now = self._clock()
        if session.expires_at <= now:
            self.cache.discard(digest)
            raise InvalidSession("the session has expired")
        user = self._users.cached(session.user_id)
        if user is None:
            try:
                user = await self._users.get(session.user_id)
            except NotFound:
                raise InvalidSession("invalid session") from None
        if user.deleted_at is not None:
            raise InvalidSession("invalid session")
        block = user.active_block(now)
        if block is not None:
            raise _blocked(block)
        if now - session.last_seen_at >= _TOUCH_GRANULARITY:
            session.last_seen_at = now
            self._touched[session.id] = now
            self._geo.record_activity(user.id, user.country)
        return session, user

    async def _live_session(self, digest: bytes) -> Session | None:
        async with self._database.pool.acquire() as conn:
            return await repository.live_session_by_hash(conn, digest)

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        """The user audience's authenticator (see server.auth.Authenticator)."""
        session, user = await self.session_for(token)
        # Every check above ran for this request; only the Principal object is kept, with
        # the session's cache entry and for as long as the user's entry holds this user.
        slot = self._principals.get(session.token_hash, session)
        if slot.user is not user or slot.principal is None:
            slot.user = user
            slot.principal = Principal(
                audience="user",
                subject=str(user.id),
                session_id=str(session.id),
                expires_at=session.expires_at,
                attributes={"user": user},
            )
        return slot.principal

    async def resolve(self, token: str) -> Session:
        """For the gateway: the session behind a token, or NotFound."""
        try:
            session, _ = await self.session_for(token)
        except Unauthenticated:
            raise SessionNotFound("no live session for this token") from None
        return session

    async def list_sessions(self, user_id: UUID) -> list[Session]:
        async with self._database.pool.acquire() as conn:
            return await repository.live_sessions_of(conn, user_id)

    async def revoke_session(
        self, user_id: UUID, session_id: UUID, *, reason: str, actor: Actor | None = None
    ) -> None:
        revoked = await self._revoke(user_id, session_id, reason, actor)
        if not revoked:
            raise SessionNotFound("no such session")

    async def revoke_user_sessions(
        self, user_id: UUID, *, reason: str, actor: Actor | None = None
    ) -> int:
        """Every live session of the user, at once (permanent block, deletion, admin)."""
        return len(await self._revoke(user_id, None, reason, actor))

    async def _revoke(
        self, user_id: UUID, session_id: UUID | None, reason: str, actor: Actor | None = None
    ) -> list[Session]:
        async with in_transaction(self._database) as conn:
            revoked = await repository.revoke(
                conn, user_id=user_id, session_id=session_id, reason=reason
            )
            if revoked:
                await self._bus.invalidate(
                    conn, SESSION_TOPIC, *(s.token_hash.hex() for s in revoked)
                )
            # One session that was not live changed nothing: a 404, not an audited action.
            if actor is not None and (revoked or session_id is None):
                await write_audit(
                    conn,
                    actor,
                    "user.sessions.revoke",
                    target_type="user",
                    target_id=str(user_id),
                    details={"revoked": len(revoked)}
                    | ({"session_id": str(session_id)} if session_id else {}),
                )
        for session in revoked:
            self.cache.discard(session.token_hash)
            self._touched.pop(session.id, None)
            # The gateway drops every connection of this session when it sees this event.
            self._push.publish(
                SESSION_REVOKED,
                {"session_id": str(session.id), "user_id": str(user_id), "reason": reason},
                user_ids=[str(user_id)],
            )
        if revoked:
            _log.info("sessions revoked", user_id=str(user_id), count=len(revoked), reason=reason)
        return revoked

    # --- housekeeping -----------------------------------------------------------------------

    async def prune(self, *, keep: timedelta) -> int:
        """Drop challenges and guess counts older than `keep` (they only served the limits)."""
        async with self._database.pool.acquire() as conn:
            # The daily budgets look back a day; the windows, one window.
            deleted = await repository.prune(conn, keep=max(keep, self._rate_window, _DAY))
        if deleted:
            _log.info("old sign-in challenges pruned", rows=deleted)
        return deleted

    async def flush_touched(self) -> None:
        if not self._touched:
            return
        batch, self._touched = self._touched, {}
        async with self._database.pool.acquire() as conn:
            await repository.touch(conn, batch)


class _PrincipalSlot:
    """The principal last built for a cached session, and the user it was built with."""

    __slots__ = ("principal", "user")

    def __init__(self) -> None:
        self.user: User | None = None
        self.principal: Principal | None = None


def _blocked(block: Block) -> AccountBlocked:
    return AccountBlocked(
        "this account is blocked",
        details={"kind": block.kind, "until": block.until.isoformat() if block.until else None},
    )
