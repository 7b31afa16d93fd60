"""What the console reads beyond the domains' own admin routes, one page at a time.

Each read asks the owning domain: its service where one answers, else a query in the
domain's own repository. The one change here (revoking one session) goes to `auth`.
"""

from typing import Any
from uuid import UUID

from galaxy_backend.audit.trail import Actor
from galaxy_backend.auth import repository as auth_repository
from galaxy_backend.auth.models import Session
from galaxy_backend.auth.service import AuthService
from galaxy_backend.console.errors import DeliveryNotFound
from galaxy_backend.kernel.cursors import decode_cursor, page_of
from galaxy_backend.lobby import repository as lobby_repository
from galaxy_backend.lobby.models import Application, Game, RaceName, Role
from galaxy_backend.lobby.service import LobbyService
from galaxy_backend.mail import repository as mail_repository
from galaxy_backend.mail.models import Attempt, Delivery
from galaxy_backend.notification import oversight as notification_oversight
from galaxy_backend.notification.oversight import Broadcast, SentNotification
from galaxy_backend.postgres import Database
from galaxy_backend.runtime import repository as runtime_repository
from galaxy_backend.runtime.models import RuntimeRecord
from galaxy_backend.runtime.playing import GameStanding
from galaxy_backend.runtime.service import RuntimeService
from galaxy_backend.user.service import UserService


class ConsoleReads:
    def __init__(
        self,
        *,
        database: Database,
        users: UserService,
        auth: AuthService,
        lobby: LobbyService,
        runtime: RuntimeService,
    ) -> None:
        self._database = database
        self._users = users
        self._auth = auth
        self._lobby = lobby
        self._runtime = runtime

    # --- a player -----------------------------------------------------------------------------

    async def sessions_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[Session], str | None]:
        """A player's live sessions, newest first (a bot or a script may hold thousands)."""
        await self._users.get(user_id)
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await auth_repository.live_sessions_of(
                conn, user_id, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    async def revoke_session(self, user_id: UUID, session_id: UUID, actor: Actor) -> None:
        await self._auth.revoke_session(user_id, session_id, reason="revoked_by_admin", actor=actor)

    async def games_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[tuple[Game, Role | None]], str | None]:
        await self._users.get(user_id)
        return await self._lobby.games_of(user_id, cursor=cursor, limit=limit)

    async def race_names_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[RaceName], str | None]:
        """The race names a player holds (pending or reserved), newest first."""
        await self._users.get(user_id)
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await lobby_repository.race_names_of_user(
                conn, user_id, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    async def notifications_of(
        self, user_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[SentNotification], str | None]:
        await self._users.get(user_id)
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await notification_oversight.sent_to_user(
                conn, user_id, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    # --- a game -------------------------------------------------------------------------------

    async def applications_of(
        self, game_id: UUID, *, cursor: str | None, limit: int
    ) -> tuple[list[Application], str | None]:
        """Every application to the game, the oldest first."""
        await self._lobby.game(game_id)
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await lobby_repository.applications_of_game(
                conn, game_id, after=after, limit=limit + 1
            )
        return page_of(rows, limit)

    async def engine_of(self, game_id: UUID) -> tuple[RuntimeRecord, GameStanding]:
        return await self._runtime.playing.standing(game_id)

    async def turns_of(
        self, game_id: UUID, *, before: int | None, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A game's turns, the newest first; the cursor is the last turn of the page."""
        await self._runtime.record(game_id)
        async with self._database.pool.acquire() as conn:
            rows = await runtime_repository.turns_page(
                conn, game_id, before=before, limit=limit + 1
            )
        page = rows[:limit]
        return page, int(page[-1]["turn"]) if len(rows) > limit else None

    # --- mail and broadcasts ------------------------------------------------------------------

    async def delivery(self, delivery_id: UUID) -> tuple[Delivery, list[Attempt]]:
        async with self._database.pool.acquire() as conn:
            found = await mail_repository.get_delivery(conn, delivery_id)
            if found is None:
                raise DeliveryNotFound("no such delivery")
            return found, await mail_repository.attempts_of(conn, delivery_id)

    async def broadcasts(
        self, *, cursor: str | None, limit: int
    ) -> tuple[list[Broadcast], str | None]:
        after = decode_cursor(cursor) if cursor else None
        async with self._database.pool.acquire() as conn:
            rows = await notification_oversight.broadcasts(conn, after=after, limit=limit + 1)
        return page_of(rows, limit)
