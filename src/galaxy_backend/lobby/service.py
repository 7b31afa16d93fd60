"""The lobby service: games, applications, the Race Name Directory, the start, the sweeper's work.

Every change is one transaction that locks what it counts (the game row for its seats and
status, a per-player advisory lock for a player's game limits), notifies through the
notification service inside that transaction, and writes the caches and publishes push
events only after the commit.
"""

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from galaxy_backend.audit.trail import Actor, record
from galaxy_backend.cronutil import Schedule, parse_schedule, parse_time_zone
from galaxy_backend.kernel.cache import CacheLimits
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.kernel.cursors import decode_cursor, encode_cursor, page_of
from galaxy_backend.kernel.durations import format_duration
from galaxy_backend.kernel.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from galaxy_backend.lobby import repository
from galaxy_backend.lobby.cache import (
    GAME_TOPIC,
    NAME_TOPIC,
    ListingFilter,
    LobbyCache,
    NameSlot,
    name_key,
    sort_key,
)
from galaxy_backend.lobby.effects import LobbyEffects
from galaxy_backend.lobby.engines import EngineCatalog
from galaxy_backend.lobby.models import (
    Application,
    Game,
    GameStart,
    RaceName,
    RuntimeOutcome,
)
from galaxy_backend.lobby.racenames import RaceNameError, RaceNameForms, race_name_forms
from galaxy_backend.lobby.repository import GAMES
from galaxy_backend.lobby.status import (
    BEFORE_START,
    LIVE,
    TERMINAL,
    GameStatus,
    check_path,
    check_transition,
    wrong_status,
)
from galaxy_backend.lobby.views import Role, summary_view
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Database, Tx
from galaxy_backend.push import Publisher
from galaxy_backend.telemetry import get_logger
from galaxy_backend.user.models import Entitlements, User

_log = get_logger(__name__)

_SWEEP_BATCH = 100
_INVITE_BYTES = 9  # 12 URL-safe characters


class Notifier(Protocol):
    """The notification service, through an adapter (it is built after the lobby)."""

    async def publish(self, tx: Tx, notice: Notice) -> list[UUID]:
        """Create the notifications in the caller's transaction; the ids created."""
        ...


class RuntimeControl(Protocol):
    """The runtime, through an adapter (lobby and runtime depend on each other)."""

    async def start_game(self, tx: Tx, game: GameStart) -> None:
        """Queue the engine's start in the caller's transaction; the result comes back
        through `LobbyService.on_runtime_job_result`."""
        ...

    async def stop_game(self, tx: Tx, game_id: UUID, *, reason: str) -> None:
        """Queue the engine's stop in the caller's transaction."""
        ...


class UserEntitlements(Protocol):
    """The seed's user-entitlement adapter: the user service satisfies it."""

    async def get(self, user_id: UUID) -> User: ...

    def entitlements(self, user: User) -> Entitlements: ...


@dataclass(frozen=True, slots=True)
class GameDraft:
    name: str
    min_players: int
    max_players: int
    enrollment_deadline: datetime
    turn_schedule: str
    description: str = ""
    turn_time_zone: str = "UTC"
    visibility: str = "public"
    engine_version: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    run_when_all_orders_in: bool = False
    # The race the owner plays in the game, seated (approved) at once.
    owner_race_name: str | None = None


@dataclass(frozen=True, slots=True)
class ListingQuery:
    statuses: tuple[str, ...] | None = None
    free_seats: bool = False
    engine_version: str | None = None
    query: str | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class ListingResult:
    """Items as pre-encoded JSON, the cursor of the next page."""

    items: list[bytes]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SweepReport:
    expired_registrations: int = 0
    started: int = 0
    owners_told: int = 0


_OUTCOME_STATUS: dict[str, GameStatus] = {
    "started": "running",
    "start_failed": "start_failed",
    "start_withdrawn": "enrollment_closed",
    "paused": "paused",
    "stopped": "paused",
    "resumed": "running",
    "finished": "finished",
    "start_waiting": "starting",
}


def _invalid_race_name(exc: RaceNameError, field: str = "race_name") -> InvalidInput:
    return InvalidInput(f"race name {exc}", field=field, code="invalid_race_name")


def _pretty(status: str) -> str:
    return status.replace("_", " ")


class LobbyService:
    def __init__(
        self,
        *,
        database: Database,
        bus: CacheBus,
        push: Publisher,
        notifier: Notifier,
        runtime: RuntimeControl,
        users: UserEntitlements,
        engines: EngineCatalog,
        pending_registration_ttl: timedelta,
        min_turn_interval: timedelta = timedelta(minutes=1),
        cache_limits: CacheLimits | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._min_turn_interval = min_turn_interval
        self._database = database
        self._notifier = notifier
        self._runtime = runtime
        self._users = users
        self._engines = engines
        self._pending_ttl = pending_registration_ttl
        self._clock = clock
        self.cache = LobbyCache(
            recent_games=self._recent_games,
            recent_names=self._recent_names,
            newest_listed=self._newest_listed,
            reload_games=self._games_by_ids,
            render_listed=summary_view,
            limits=cache_limits,
        )
        self._effects = LobbyEffects(database=database, bus=bus, push=push, cache=self.cache)
        bus.subscribe(GAME_TOPIC, lambda key: self.cache.discard_game(UUID(key)))
        bus.subscribe(NAME_TOPIC, self.cache.names.discard)
        for cache in self.cache.all():
            bus.on_resync(cache.warm)

    # --- cache loaders ----------------------------------------------------------------------

    async def _recent_games(self, limit: int) -> list[Game]:
        async with self._database.pool.acquire() as conn:
            return await repository.recent_games(conn, limit)

    async def _recent_names(self, limit: int) -> list[RaceName]:
        async with self._database.pool.acquire() as conn:
            return await repository.recent_race_names(conn, limit)

    async def _newest_listed(self, limit: int) -> list[Game]:
        async with self._database.pool.acquire() as conn:
            return await repository.newest_listed(conn, limit)

    async def _games_by_ids(self, ids: Sequence[UUID]) -> list[Game]:
        async with self._database.pool.acquire() as conn:
            return await repository.games_by_ids(conn, ids)

    async def _load_game(self, game_id: UUID) -> Game | None:
        async with self._database.pool.acquire() as conn:
            return await repository.get_game(conn, game_id)

    async def game(self, game_id: UUID) -> Game:
        """The game with its players, from the cache or else the database."""
        game = await self.cache.games.get_or_load(game_id, lambda: self._load_game(game_id))
        if game is None:
            raise NotFound("no such game", code="game_not_found")
        return game

    # --- reading ------------------------------------------------------------------------------

    async def is_public(self, game_id: UUID) -> bool:
        """Whether anyone may see the game's page (the runtime's gameplay refusals say so)."""
        try:
            return (await self.game(game_id)).visibility == "public"
        except NotFound:
            return False

    @staticmethod
    def role_of(game: Game, user_id: UUID, *, applicant: bool = False) -> Role | None:
        if game.owner_id == user_id:
            return "owner"
        if game.is_player(user_id):
            return "player"
        return "applicant" if applicant else None

    async def game_for(self, user_id: UUID, game_id: UUID) -> tuple[Game, Role | None]:
        """The game as this player may see it: a private game is not found by outsiders."""
        game = await self.game(game_id)
        role = self.role_of(game, user_id)
        if role is None:
            async with self._database.pool.acquire() as conn:
                live = await repository.live_application_of(conn, game_id, user_id)
            if live is not None:
                role = "applicant"
        if role is None and game.visibility == "private":
            raise NotFound("no such game", code="game_not_found")
        return game, role

    async def game_by_invite(self, user_id: UUID, invite_code: str) -> tuple[Game, Role | None]:
        async with self._database.pool.acquire() as conn:
            game = await repository.game_by_invite(conn, invite_code)
        if game is None:
            raise NotFound("no game has this invite code", code="invite_not_found")
        return game, self.role_of(game, user_id)

    async def games_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[tuple[Game, Role | None]], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            games = await repository.games_of_user(conn, user_id, after=after, limit=limit + 1)
        page, following = page_of(games, limit)
        return [(g, self.role_of(g, user_id, applicant=True)) for g in page], following

    async def list_public(self, query: ListingQuery) -> ListingResult:
        """The public listing, from the in-memory index; pages past its floor from the table."""
        after = decode_cursor(query.cursor) if query.cursor else None
        wanted = ListingFilter(
            statuses=frozenset(query.statuses) if query.statuses else None,
            free_seats=query.free_seats,
            engine_version=query.engine_version,
            query=query.query.lower() if query.query else None,
        )
        key = sort_key(*after) if after else None
        listing = self.cache.listing
        items: list[bytes] = []
        last: tuple[datetime, UUID] | None = None
        rest_after = after
        if listing.covers(key):
            page = await listing.page(wanted, key, query.limit)
            items = [entry.item for entry in page.items]
            if page.items:
                last = (page.items[-1].created_at, page.items[-1].game_id)
            if page.more:
                assert last is not None
                return ListingResult(items, encode_cursor(*last))
            if page.rest_after is None:
                return ListingResult(items, None)
            rest_after = page.rest_after
        wanted_more = query.limit - len(items)
        async with self._database.pool.acquire() as conn:
            games = await repository.list_public(
                conn,
                statuses=query.statuses,
                free_seats=query.free_seats,
                engine_version=query.engine_version,
                query=query.query,
                after=rest_after,
                limit=wanted_more + 1,
            )
        more = len(games) > wanted_more
        for game in games[:wanted_more]:
            items.append(listing.render(game))
            last = (game.created_at, game.id)
        return ListingResult(items, encode_cursor(*last) if more and last else None)

    def engines(self) -> list[dict[str, Any]]:
        """The engine versions games may use, with the settings each takes."""
        default = self._engines.default_version()
        return [
            {
                "version": version,
                "default": version == default,
                "settings_schema": self._engines.settings_schema(version),
                "max_players_default_map": self._engines.max_players(version, {}),
            }
            for version in self._engines.known_versions()
        ]

    async def applications(
        self, user_id: UUID, game_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[Application], str | None]:
        """Every application to the game for its owner; a player's own for anyone else."""
        _, role = await self.game_for(user_id, game_id)
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            found = await repository.applications_of_game(
                conn,
                game_id,
                user_id=None if role == "owner" else user_id,
                after=after,
                limit=limit + 1,
            )
        return page_of(found, limit)

    # --- race names ---------------------------------------------------------------------------

    def forms(self, raw: str, *, field: str = "race_name") -> RaceNameForms:
        try:
            return race_name_forms(raw)
        except RaceNameError as exc:
            raise _invalid_race_name(exc, field) from None

    async def race_name_holder(self, raw: str) -> tuple[RaceNameForms, RaceName | None]:
        """The name's forms and the live entry that holds either of them, if any."""
        forms = self.forms(raw)
        holder = await self._slot(forms.canonical, canonical=True)
        if holder is None:
            holder = await self._slot(forms.skeleton, canonical=False)
        return forms, holder

    async def _slot(self, form: str, *, canonical: bool) -> RaceName | None:
        async def load() -> NameSlot:
            async with self._database.pool.acquire() as conn:
                entry = await (
                    repository.live_race_name(conn, canonical=form)
                    if canonical
                    else repository.live_race_name(conn, skeleton=form)
                )
            return NameSlot(entry)

        slot = await self.cache.names.get_or_load(name_key(form, canonical=canonical), load)
        return slot.entry if slot is not None else None

    async def race_names_of(self, user_id: UUID) -> list[RaceName]:
        async with self._database.pool.acquire() as conn:
            return await repository.race_names_of_user(conn, user_id)

    # --- games --------------------------------------------------------------------------------

    def _checked_fields(
        self,
        values: Mapping[str, Any],
        *,
        now: datetime,
        check_deadline: bool = True,
        check_interval: bool = True,
    ) -> dict[str, Any]:
        """Validate a game's settable fields together; the normalised values to store."""
        checked = dict(values)
        version = checked.get("engine_version") or self._engines.default_version()
        checked["engine_version"] = version
        settings = self._engines.validate_settings(version, checked.get("settings") or {})
        checked["settings"] = settings
        try:
            time_zone = parse_time_zone(checked["turn_time_zone"])
        except ValueError as exc:
            raise InvalidInput(str(exc), field="turn_time_zone", code="invalid_time_zone") from None
        try:
            schedule = parse_schedule(checked["turn_schedule"], time_zone)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="turn_schedule", code="invalid_schedule") from None
        if check_interval:
            self._check_interval(schedule, now)
        checked["turn_schedule"] = schedule.text
        if checked["min_players"] > checked["max_players"]:
            raise InvalidInput(
                "min_players is above max_players", field="min_players", code="invalid_players"
            )
        capacity = self._engines.max_players(version, settings)
        if checked["max_players"] > capacity:
            raise InvalidInput(
                f"the engine's map holds at most {capacity} races with these settings",
                field="max_players",
                code="too_many_players",
                details={"engine_capacity": capacity},
            )
        if check_deadline and checked["enrollment_deadline"] <= now:
            raise InvalidInput(
                "the enrollment deadline is in the past",
                field="enrollment_deadline",
                code="deadline_passed",
            )
        return checked

    def _check_interval(self, schedule: Schedule, now: datetime) -> None:
        """Turns no closer than BACKEND_LOBBY_MIN_TURN_INTERVAL: each one mails every player
        and keeps a report on disk."""
        gap = schedule.shortest_gap(now)
        if gap < self._min_turn_interval:
            minimum = format_duration(self._min_turn_interval)
            raise InvalidInput(
                f"turns may come no closer than {minimum}; this schedule has"
                f" {format_duration(gap)} between two of them",
                field="turn_schedule",
                code="schedule_too_frequent",
                details={
                    "min_interval_seconds": int(self._min_turn_interval.total_seconds()),
                    "shortest_gap_seconds": int(gap.total_seconds()),
                },
            )

    async def create_game(self, owner_id: UUID, draft: GameDraft) -> Game:
        now = self._clock()
        fields = self._checked_fields(
            {
                "name": draft.name,
                "description": draft.description,
                "visibility": draft.visibility,
                "min_players": draft.min_players,
                "max_players": draft.max_players,
                "enrollment_deadline": draft.enrollment_deadline,
                "turn_schedule": draft.turn_schedule,
                "turn_time_zone": draft.turn_time_zone,
                "run_when_all_orders_in": draft.run_when_all_orders_in,
                "engine_version": draft.engine_version,
                "settings": draft.settings,
            },
            now=now,
        )
        fields["invite_code"] = _invite_code() if draft.visibility == "private" else None
        forms = (
            self.forms(draft.owner_race_name, field="owner_race_name")
            if draft.owner_race_name is not None
            else None
        )
        owner = await self._users.get(owner_id)
        entitlements = self._users.entitlements(owner)
        limit = entitlements.max_owned_games
        game_id = uuid.uuid4()
        async with self._effects.unit() as tx:
            await repository.lock_user(tx.conn, owner_id)
            owned = await repository.count_owned_live(tx.conn, owner_id)
            if owned >= limit:
                raise Conflict(
                    f"you already own {owned} live games, your limit",
                    code="owned_games_limit",
                    details={"limit": limit},
                )
            game = await repository.insert_game(tx, game_id, owner_id, fields)
            if forms is not None:
                await self._seat_owner(tx, game, forms, entitlements.max_active_games)
        _log.info("game created", game_id=str(game_id), owner_id=str(owner_id))
        return _final(tx, game_id)

    async def _seat_owner(
        self, tx: Tx, game: Game, forms: RaceNameForms, active_limit: int
    ) -> None:
        """The owner plays under `forms`: applied and approved at once, the name reserved,
        and nobody told (the owner knows)."""
        playing = await repository.count_playing(tx.conn, game.owner_id)
        if playing >= active_limit:
            raise Conflict(
                f"you already play {playing} games, your limit",
                code="active_games_limit",
                details={"limit": active_limit},
            )
        application_id = uuid.uuid4()
        application = await repository.insert_application(
            tx, application_id, game.id, game.owner_id, forms.display
        )
        assert application is not None, "a new game has no applications"
        await self._claim_name(tx, forms, game.owner_id, game.id, application_id)
        await repository.add_approved(tx, game.id)
        await repository.set_application_status(tx, application_id, "approved")
        await repository.reserve_race_name(tx, application_id)

    async def _claim_name(
        self, tx: Tx, forms: RaceNameForms, user_id: UUID, game_id: UUID, application_id: UUID
    ) -> RaceName:
        """The name's directory entry for this application, or 409 `race_name_taken` (whose
        details say whether the holder is the player themself, and then where)."""
        entry = await repository.claim_race_name(
            tx,
            entry_id=uuid.uuid4(),
            name=forms.display,
            canonical=forms.canonical,
            skeleton=forms.skeleton,
            user_id=user_id,
            game_id=game_id,
            application_id=application_id,
        )
        if entry is not None:
            return entry
        holder = await repository.live_race_name(
            tx.conn, canonical=forms.canonical, skeleton=forms.skeleton
        )
        mine = holder is not None and holder.user_id == user_id
        details: dict[str, Any] = {"held_by_you": mine}
        if holder is not None and mine:
            details.update(game_id=str(holder.game_id), race_name=holder.name, status=holder.status)
        raise Conflict(
            "you hold this race name already, in another game; a race name is one race"
            if mine
            else "this race name, or one that looks the same, is taken",
            code="race_name_taken",
            details=details,
        )

    async def update_game(self, user_id: UUID, game_id: UUID, changes: Mapping[str, Any]) -> Game:
        """Edit before the start (while enrollment is open); only the owner may."""
        now = self._clock()
        async with self._effects.unit() as tx:
            game = await self._owned(tx, user_id, game_id)
            if game.status != "enrollment_open":
                raise wrong_status(game.status, "edit the game")
            current = {
                "name": game.name,
                "description": game.description,
                "visibility": game.visibility,
                "min_players": game.min_players,
                "max_players": game.max_players,
                "enrollment_deadline": game.enrollment_deadline,
                "turn_schedule": game.turn_schedule,
                "turn_time_zone": game.turn_time_zone,
                "run_when_all_orders_in": game.run_when_all_orders_in,
                "engine_version": game.engine_version,
                "settings": game.settings,
            }
            merged = {**current, **changes}
            checked = self._checked_fields(
                merged,
                now=now,
                check_deadline="enrollment_deadline" in changes,
                # A schedule accepted before the minimum was raised stays as long as kept.
                check_interval=bool({"turn_schedule", "turn_time_zone"} & set(changes)),
            )
            if checked["max_players"] < game.approved_count:
                raise Conflict(
                    f"{game.approved_count} players are approved already",
                    code="max_below_approved",
                    details={"approved_count": game.approved_count},
                )
            if checked["visibility"] != game.visibility:
                checked["invite_code"] = (
                    _invite_code() if checked["visibility"] == "private" else None
                )
            delta = {k: v for k, v in checked.items() if k not in current or current[k] != v}
            if not delta:
                return game
            await repository.update_game(tx, game_id, delta)
        return _final(tx, game_id)

    async def rotate_invite_code(self, user_id: UUID, game_id: UUID) -> Game:
        async with self._effects.unit() as tx:
            game = await self._owned(tx, user_id, game_id)
            if game.visibility != "private":
                raise Conflict("only a private game has an invite code", code="not_private")
            if game.status not in LIVE:
                raise wrong_status(game.status, "change the invite code")
            await repository.update_game(tx, game_id, {"invite_code": _invite_code()})
        return _final(tx, game_id)

    async def cancel_game(self, user_id: UUID, game_id: UUID) -> Game:
        """The owner cancels before the game runs."""
        async with self._effects.unit() as tx:
            game = await self._owned(tx, user_id, game_id)
            if game.status not in {"enrollment_open", "enrollment_closed", "start_failed"}:
                raise wrong_status(game.status, "cancel the game")
            await self._cancel(tx, game, reason="cancelled by the owner")
        return _final(tx, game_id)

    async def admin_cancel_game(self, game_id: UUID, *, reason: str, actor: Actor) -> Game:
        async with self._effects.unit() as tx:
            game = await self._locked_game(tx, game_id)
            check_transition(game.status, "cancelled", "cancel the game")
            await record(
                tx.conn,
                actor,
                "game.cancel",
                target_type="game",
                target_id=str(game_id),
                details={"reason": reason, "status": game.status},
            )
            await self._cancel(tx, game, reason=reason)
        return _final(tx, game_id)

    async def _cancel(self, tx: Tx, game: Game, *, reason: str) -> None:
        check_transition(game.status, "cancelled", "cancel the game")
        if game.status in {"starting", "running", "paused"}:
            await self._runtime.stop_game(tx, game.id, reason="cancelled")
        await self._close_pending(tx, game, reason="game_cancelled")
        await self._release(tx, [p.application_id for p in game.players], "game_cancelled")
        await repository.set_status(tx, game.id, "cancelled", cancel_reason=reason)
        changed = await self._locked_game(tx, game.id)
        await self._tell_status(tx, changed, previous=game.status, reason=reason)

    async def admin_search(
        self,
        *,
        query: str | None,
        statuses: Sequence[str] | None,
        owner_id: UUID | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Game], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            games = await repository.search_games(
                conn,
                query=query,
                statuses=statuses,
                owner_id=owner_id,
                after=after,
                limit=limit + 1,
            )
        return page_of(games, limit)

    # --- applications -------------------------------------------------------------------------

    async def apply(
        self, user_id: UUID, game_id: UUID, race_name: str, *, invite_code: str | None = None
    ) -> Application:
        """Apply with a race name: the name goes to `pending_registration` at once."""
        forms = self.forms(race_name)
        player = await self._users.get(user_id)
        active_limit = self._users.entitlements(player).max_active_games
        application_id = uuid.uuid4()
        async with self._effects.unit() as tx:
            game = await repository.share_game(tx.conn, game_id)
            if game is None:
                raise NotFound("no such game", code="game_not_found")
            if (
                game.visibility == "private"
                and game.owner_id != user_id
                and (
                    invite_code is None
                    or not secrets.compare_digest(
                        invite_code.encode(), (game.invite_code or "").encode()
                    )
                )
            ):
                # Whoever lacks the code may not learn that the game exists.
                raise NotFound("no such game", code="game_not_found")
            if game.status != "enrollment_open":
                raise wrong_status(game.status, "apply")
            if game.approved_count >= game.max_players:
                raise Conflict("the game is full", code="game_full")
            playing = await repository.count_playing(tx.conn, user_id)
            if playing >= active_limit:
                raise Conflict(
                    f"you already play {playing} games, your limit",
                    code="active_games_limit",
                    details={"limit": active_limit},
                )
            application = await repository.insert_application(
                tx, application_id, game_id, user_id, forms.display
            )
            if application is None:
                raise Conflict("you have applied to this game already", code="already_applied")
            await self._claim_name(tx, forms, user_id, game_id, application_id)
            if user_id != game.owner_id:
                # The owner applying to their own game knows of it already.
                await self._tell_application(
                    tx,
                    "lobby.application.received",
                    game,
                    application,
                    to=[game.owner_id],
                    title=f"New application to {game.name}",
                    body=f"{forms.display} applied to join {game.name}.",
                    applicant_id=str(user_id),
                )
        _log.info("application received", game_id=str(game_id), application_id=str(application_id))
        return application

    async def withdraw(self, user_id: UUID, game_id: UUID, application_id: UUID) -> Application:
        """The applicant takes back a pending application; the name is released at once."""
        async with self._effects.unit() as tx:
            game = await self._locked_game(tx, game_id)
            application = await self._application(tx, game, application_id)
            if application.user_id != user_id:
                raise NotFound("no such application", code="application_not_found")
            if application.status != "pending":
                raise _application_status(application, "withdraw it")
            done = await repository.set_application_status(tx, application_id, "withdrawn")
            await self._release(tx, [application_id], "withdrawn")
        return done

    async def approve(self, owner_id: UUID, game_id: UUID, application_id: UUID) -> Application:
        """The owner approves; `approved_count` never passes `max_players`, however many race."""
        async with self._database.pool.acquire() as conn:
            peek = await repository.get_application(conn, application_id)
        if peek is None or peek.game_id != game_id:
            # The owner check first, so that a stranger gets 404 or 403, not a hint.
            _check_owner(await self.game(game_id), owner_id)
            raise NotFound("no such application", code="application_not_found")
        applicant = await self._users.get(peek.user_id)
        active_limit = self._users.entitlements(applicant).max_active_games
        async with self._effects.unit() as tx:
            # Player limit first, then the game row: every path takes them in this order.
            await repository.lock_user(tx.conn, peek.user_id)
            game = await self._owned(tx, owner_id, game_id)
            if game.status != "enrollment_open":
                raise wrong_status(game.status, "approve applications")
            application = await self._application(tx, game, application_id)
            if application.status != "pending":
                raise _application_status(application, "approve it")
            playing = await repository.count_playing(tx.conn, application.user_id)
            if playing >= active_limit:
                raise Conflict(
                    f"the applicant already plays {playing} games, their limit",
                    code="active_games_limit",
                    details={"limit": active_limit},
                )
            if not await repository.add_approved(tx, game_id):
                raise Conflict("the game is full", code="game_full")
            done = await repository.set_application_status(tx, application_id, "approved")
            await repository.reserve_race_name(tx, application_id)
            await self._tell_application(
                tx,
                "lobby.application.approved",
                game,
                application,
                to=[application.user_id],
                title=f"You are in {game.name}",
                body=f"Your application as {application.race_name} to {game.name} was approved.",
            )
        return done

    async def reject(self, owner_id: UUID, game_id: UUID, application_id: UUID) -> Application:
        async with self._effects.unit() as tx:
            game = await self._owned(tx, owner_id, game_id)
            application = await self._application(tx, game, application_id)
            if application.status != "pending":
                raise _application_status(application, "reject it")
            done = await repository.set_application_status(tx, application_id, "rejected")
            await self._release(tx, [application_id], "rejected")
            await self._tell_application(
                tx,
                "lobby.application.rejected",
                game,
                application,
                to=[application.user_id],
                title=f"Your application to {game.name}",
                body=f"Your application as {application.race_name} to {game.name} "
                "was not accepted.",
            )
        return done

    async def remove_player(self, owner_id: UUID, game_id: UUID, player_id: UUID) -> Application:
        """The owner removes an approved player before the start."""
        async with self._effects.unit() as tx:
            game = await self._owned(tx, owner_id, game_id)
            if game.status not in BEFORE_START:
                raise wrong_status(game.status, "remove players")
            application = await repository.live_application_of(
                tx.conn, game_id, player_id, lock=True
            )
            if application is None or application.status != "approved":
                raise NotFound("no such player in this game", code="player_not_found")
            done = await self._drop_player(tx, game, application, "removed")
            await self._tell_application(
                tx,
                "lobby.player.removed",
                game,
                application,
                to=[player_id],
                title=f"You were removed from {game.name}",
                body=f"The owner of {game.name} removed {application.race_name} from the game.",
            )
        return done

    async def leave(self, user_id: UUID, game_id: UUID) -> Application:
        """An approved player leaves before the start."""
        async with self._effects.unit() as tx:
            game = await self._locked_game(tx, game_id)
            application = await repository.live_application_of(tx.conn, game_id, user_id, lock=True)
            if application is None or application.status != "approved":
                raise NotFound("you do not play in this game", code="player_not_found")
            if game.status not in BEFORE_START:
                raise wrong_status(game.status, "leave")
            done = await self._drop_player(tx, game, application, "left")
            await self._tell_application(
                tx,
                "lobby.player.left",
                game,
                application,
                to=[game.owner_id],
                title=f"A player left {game.name}",
                body=f"{application.race_name} left {game.name}.",
                player_id=str(user_id),
            )
        return done

    async def _drop_player(
        self, tx: Tx, game: Game, application: Application, status: str
    ) -> Application:
        done = await repository.set_application_status(tx, application.id, status)
        await repository.drop_approved(tx, game.id)
        await self._release(tx, [application.id], status)
        return done

    # --- start and the runtime ----------------------------------------------------------------

    async def start(self, owner_id: UUID, game_id: UUID) -> Game:
        """Close enrollment and ask the runtime to start the game (the owner)."""
        async with self._effects.unit() as tx:
            game = await self._owned(tx, owner_id, game_id)
            await self._start(tx, game, reason="started by the owner", by="owner")
        return _final(tx, game_id)

    async def _start(self, tx: Tx, game: Game, *, reason: str, by: str) -> None:
        path: tuple[GameStatus, ...] = (
            ("enrollment_closed", "starting") if game.status == "enrollment_open" else ("starting",)
        )
        check_path(game.status, path, "start the game")
        if game.approved_count < game.min_players:
            raise Conflict(
                f"{game.approved_count} of at least {game.min_players} players are approved",
                code="not_enough_players",
                details={"approved_count": game.approved_count, "min_players": game.min_players},
            )
        await self._close_pending(tx, game, reason="enrollment_closed")
        await repository.set_status(tx, game.id, "starting", steps=len(path))
        changed = await self._locked_game(tx, game.id)
        await self._runtime.start_game(
            tx,
            GameStart(
                game_id=changed.id,
                game_name=changed.name,
                owner_id=changed.owner_id,
                engine_version=changed.engine_version,
                settings=changed.settings,
                turn_schedule=changed.turn_schedule,
                turn_time_zone=changed.turn_time_zone,
                run_when_all_orders_in=changed.run_when_all_orders_in,
                players=changed.players,
            ),
        )
        await self._tell_status(tx, changed, previous=game.status, reason=reason)
        _log.info("game start queued", game_id=str(game.id), by=by)

    async def on_runtime_job_result(
        self,
        game_id: UUID,
        outcome: RuntimeOutcome,
        *,
        message: str | None = None,
        turn: int | None = None,
        ranking: Sequence[Mapping[str, Any]] | None = None,
        detail: str | None = None,
    ) -> Game:
        """The seed's OnRuntimeJobResult: the runtime reports what became of a job.

        `started`/`resumed` -> running, `start_failed` -> start_failed, `start_withdrawn` ->
        enrollment_closed (the owner may start again), `paused` and `stopped` (an operator
        stopped the engine) -> paused, `finished` -> finished with the engine's final
        `ranking`. A repeated report changes nothing and tells nobody twice, nor does one
        about a game that is over; a report the game's status does not allow is 409
        wrong_status. `message` is shown to players (and sent in the status notice);
        `detail`, what failed and where, only to operators.
        """
        target = _OUTCOME_STATUS[outcome]
        async with self._effects.unit() as tx:
            game = await self._locked_game(tx, game_id)
            await repository.record_runtime(
                tx,
                game_id,
                runtime_status=outcome,
                message=message,
                turn=turn,
                ranking=ranking if outcome == "finished" else None,
                detail=detail,
            )
            if game.status != target and game.status not in TERMINAL:
                # Else over already (an engine stopped after a cancellation): recorded, no move.
                check_transition(game.status, target, f"record a runtime result ({outcome})")
                if target == "finished":
                    await self._release(
                        tx, [p.application_id for p in game.players], "game_finished"
                    )
                await repository.set_status(tx, game_id, target)
                changed = await self._locked_game(tx, game_id)
                await self._tell_status(tx, changed, previous=game.status, reason=message)
        return _final(tx, game_id)

    # --- sweeper --------------------------------------------------------------------------------

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """The lobby sweeper's round; safe with any number of sweepers at once."""
        now = now or self._clock()
        expired = await self._expire_registrations(now)
        started, told = await self._close_expired_enrollments(now)
        report = SweepReport(expired_registrations=expired, started=started, owners_told=told)
        if expired or started or told:
            _log.info(
                "lobby sweep",
                expired_registrations=expired,
                started=started,
                owners_told=told,
            )
        return report

    async def _expire_registrations(self, now: datetime) -> int:
        count = 0
        while True:
            async with self._database.pool.acquire() as conn:
                candidates = await repository.expired_registrations(
                    conn, self._pending_ttl, now, _SWEEP_BATCH
                )
            if not candidates:
                return count
            done = 0
            for entry in candidates:
                if await self._expire_one(entry):
                    done += 1
            count += done
            if done == 0 or len(candidates) < _SWEEP_BATCH:
                return count

    async def _expire_one(self, entry: RaceName) -> bool:
        async with self._effects.unit() as tx:
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
            await repository.set_application_status(tx, application.id, "expired")
            await self._release(tx, [application.id], "expired")
            game = await self._locked_game(tx, application.game_id)
            await self._tell_application(
                tx,
                "lobby.application.expired",
                game,
                application,
                to=[application.user_id],
                title=f"Your application to {game.name} expired",
                body=f"Your application as {application.race_name} to {game.name} was "
                "not decided in time; the race name is free again.",
            )
        return True

    async def _close_expired_enrollments(self, now: datetime) -> tuple[int, int]:
        started = told = 0
        async with self._database.pool.acquire() as conn:
            ids = await repository.expired_enrollments(conn, now, _SWEEP_BATCH)
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
        async with self._effects.unit() as tx:
            # Another sweeper holding the game deals with it; this one moves on.
            if not await repository.try_lock_game(tx.conn, game_id):
                return None
            game = await repository.get_game(tx.conn, game_id)
            if game is None or game.status != "enrollment_open" or game.enrollment_deadline > now:
                return None
            if game.approved_count >= game.min_players:
                await self._start(tx, game, reason="the enrollment deadline passed", by="sweeper")
                return "started"
            if await repository.mark_below_min_notified(tx.conn, game_id):
                await self._tell(
                    tx,
                    "lobby.game.below_min_players",
                    game,
                    to=[game.owner_id],
                    title=f"{game.name} needs more players",
                    body=f"The enrollment deadline of {game.name} has passed with "
                    f"{game.approved_count} of at least {game.min_players} players "
                    "approved. Enrollment stays open: approve more players and start "
                    "the game, move the deadline, or cancel it.",
                    key=game_id,
                    approved_count=game.approved_count,
                    min_players=game.min_players,
                    enrollment_deadline=game.enrollment_deadline.isoformat(),
                )
                return "told"
        return None

    # --- admin ----------------------------------------------------------------------------------

    async def admin_release_race_name(
        self, entry_id: UUID, *, reason: str, actor: Actor
    ) -> RaceName:
        """Free a name now; an application that held it is closed, an approved player keeps
        their place under the name (the directory no longer protects it)."""
        async with self._effects.unit() as tx:
            entry = await repository.get_race_name(tx.conn, entry_id)
            if entry is None:
                raise NotFound("no such race name", code="race_name_not_found")
            if entry.status == "released":
                raise Conflict("the race name is released already", code="race_name_released")
            game = await repository.get_game(tx.conn, entry.game_id, lock=True)
            application = await repository.get_application(tx.conn, entry.application_id, lock=True)
            if application is not None and application.status == "pending" and game is not None:
                await repository.set_application_status(tx, application.id, "closed")
                await self._tell_closed(tx, game, application, reason="race_name_released")
            released = await repository.release_race_names(
                tx, [entry.application_id], "released_by_admin"
            )
            if not released:
                # Released meanwhile (a withdrawal, a rejection): nothing left to do.
                raise Conflict("the race name is released already", code="race_name_released")
            await record(
                tx.conn,
                actor,
                "race_name.release",
                target_type="race_name",
                target_id=str(entry_id),
                details={"name": entry.name, "reason": reason, "game_id": str(entry.game_id)},
            )
            if game is not None:
                tx.changed(GAMES, game.id)
        return released[0]

    async def admin_find_race_names(self, raw: str) -> list[RaceName]:
        _, holder = await self.race_name_holder(raw)
        return [holder] if holder is not None else []

    # --- helpers --------------------------------------------------------------------------------

    async def _owned(self, tx: Tx, user_id: UUID, game_id: UUID) -> Game:
        """The game, locked, if `user_id` owns it."""
        game = await self._locked_game(tx, game_id)
        _check_owner(game, user_id)
        return game

    async def _locked_game(self, tx: Tx, game_id: UUID) -> Game:
        game = await repository.get_game(tx.conn, game_id, lock=True)
        if game is None:
            raise NotFound("no such game", code="game_not_found")
        return game

    async def _application(self, tx: Tx, game: Game, application_id: UUID) -> Application:
        application = await repository.get_application(tx.conn, application_id, lock=True)
        if application is None or application.game_id != game.id:
            raise NotFound("no such application", code="application_not_found")
        return application

    async def _close_pending(self, tx: Tx, game: Game, *, reason: str) -> None:
        closed = await repository.close_applications(tx, game.id, "pending", "closed")
        if not closed:
            return
        await self._release(tx, [a.id for a in closed], reason)
        for application in closed:
            await self._tell_closed(tx, game, application, reason=reason)

    async def _tell_closed(
        self, tx: Tx, game: Game, application: Application, *, reason: str
    ) -> None:
        why = {
            "enrollment_closed": f"{game.name} closed its enrollment",
            "game_cancelled": f"{game.name} was cancelled",
            "race_name_released": "an operator released the race name",
        }.get(reason, "it was closed")
        await self._tell_application(
            tx,
            "lobby.application.closed",
            game,
            application,
            to=[application.user_id],
            title=f"Your application to {game.name} was closed",
            body=f"Your application as {application.race_name} to {game.name} was closed "
            f"before it was decided: {why}.",
            reason=reason,
        )

    async def _release(self, tx: Tx, application_ids: Sequence[UUID], reason: str) -> None:
        if not application_ids:
            return
        await repository.release_race_names(tx, application_ids, reason)

    async def _tell_status(
        self, tx: Tx, game: Game, *, previous: GameStatus, reason: str | None
    ) -> None:
        recipients = list(dict.fromkeys([game.owner_id, *game.player_ids]))
        body = f"{game.name} is now {_pretty(game.status)} (was {_pretty(previous)})."
        if reason:
            body += f" {reason[:300]}"
        await self._tell(
            tx,
            "lobby.game.status_changed",
            game,
            to=recipients,
            title=f"{game.name}: {_pretty(game.status)}",
            body=body,
            key=f"{game.id}:{game.status_seq}",
            status=game.status,
            previous_status=previous,
            reason=reason,
            current_turn=game.current_turn,
            final_ranking=list(game.final_ranking) if game.final_ranking is not None else None,
        )

    async def _tell(
        self,
        tx: Tx,
        kind: str,
        game: Game,
        *,
        to: Sequence[UUID],
        title: str,
        body: str,
        key: object,
        **details: Any,
    ) -> None:
        """Notify `to` about `game` in this transaction, once per `key` of this kind."""
        await self._notifier.publish(
            tx,
            Notice(
                kind=kind,
                user_ids=list(to),
                title=title,
                body=body,
                payload={"game_id": str(game.id), "game_name": game.name, **details},
                key=f"{kind}:{key}",
            ),
        )

    async def _tell_application(
        self,
        tx: Tx,
        kind: str,
        game: Game,
        application: Application,
        *,
        to: Sequence[UUID],
        title: str,
        body: str,
        **details: Any,
    ) -> None:
        """A notice about one application: its id and race name in the payload, keyed by it."""
        await self._tell(
            tx,
            kind,
            game,
            to=to,
            title=title,
            body=body,
            key=application.id,
            application_id=str(application.id),
            race_name=application.race_name,
            **details,
        )


def _final(tx: Tx, game_id: UUID) -> Game:
    """The game as the unit of work's flush left it (its change counted)."""
    game = tx.result(GAMES, game_id)
    assert isinstance(game, Game)
    return game


def _invite_code() -> str:
    return secrets.token_urlsafe(_INVITE_BYTES)


def _check_owner(game: Game, user_id: UUID) -> None:
    """403 for a non-owner who may see the game; 404 for one who may not (a private game)."""
    if game.owner_id != user_id:
        if game.visibility == "private" and not game.is_player(user_id):
            raise NotFound("no such game", code="game_not_found")
        raise Forbidden("only the game's owner may do this", code="not_owner")


def _application_status(application: Application, action: str) -> Conflict:
    return Conflict(
        f"the application is {application.status}; cannot {action}",
        code="wrong_application_status",
        details={"status": application.status},
    )
