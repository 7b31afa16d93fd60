"""Playing a game: orders, reports and the standing, for the game's own players only.

Reports and the standing are read from what the backend kept of each turn; only orders,
and who has sent them, are asked of the game's engine.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn
from uuid import UUID

from galaxy_backend.kernel.errors import DomainError
from galaxy_backend.kernel.ratelimit import TokenBuckets
from galaxy_backend.lobby.errors import GameNotFound
from galaxy_backend.postgres import Database
from galaxy_backend.runtime import repository
from galaxy_backend.runtime.archive import unpack
from galaxy_backend.runtime.engine_client import EngineClient
from galaxy_backend.runtime.errors import EngineNotRunning, GameFinished, NotAPlayer, UnknownTurn
from galaxy_backend.runtime.models import LIVE, RuntimeRecord
from galaxy_backend.runtime.ports import GameDirectory

# How long a game's standing waits for its engine to say who has sent orders.
_STATUS_WAIT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class GameStanding:
    """Where a game stands after its last turn (what GET .../status answers)."""

    turn: int
    finished: bool
    next_turn_at: datetime | None
    status: str
    players: list[dict[str, Any]]
    winner: str | None
    # The standing after the last turn (the final one once the game is over).
    ranking: list[dict[str, Any]]
    # Whether the engine answered for who has sent orders (it need not, for the rest).
    engine_answered: bool


class Playing:
    def __init__(
        self,
        *,
        database: Database,
        engine: EngineClient,
        games: GameDirectory,
        record: Callable[[UUID], Awaitable[RuntimeRecord]],
        orders_check_limit: TokenBuckets | None = None,
    ) -> None:
        self._orders_check_limit = orders_check_limit
        self._database = database
        self._engine = engine
        self._games = games
        self._record = record
        self._orders_check_limit = orders_check_limit

    async def player_record(self, game_id: UUID, user_id: UUID) -> RuntimeRecord:
        found = await self._record(game_id)
        if not found.has_player(user_id):
            await self.refuse_outsider(game_id)
        return found

    async def refuse_outsider(self, game_id: UUID) -> NoReturn:
        """Refuse someone who does not play: 403 where the game is public (its page answers
        them), else as if there were no such game."""
        if await self._games.is_public(game_id):
            raise NotAPlayer("you do not play in this game")
        raise GameNotFound("no such game")

    def _address(self, record: RuntimeRecord) -> str:
        if record.address is None or record.status not in ("running", "paused", "finished"):
            raise EngineNotRunning(
                f"the game's engine is not running (it is {record.status})",
                details={"status": record.status},
            )
        return record.address

    async def submit_orders(self, game_id: UUID, user_id: UUID, orders: str) -> dict[str, Any]:
        record = await self.player_record(game_id, user_id)
        if record.status == "finished":
            raise GameFinished()
        verdict = await self._engine.json(
            game_id,
            self._address(record),
            "PUT",
            f"/players/{user_id}/orders",
            json={"orders": orders},
        )
        if record.run_when_all_orders_in and record.status == "running":
            await self._request_turn_if_all_in(record)
        return verdict

    async def check_orders(self, game_id: UUID, user_id: UUID, orders: str) -> dict[str, Any]:
        """The engine's verdict on orders, which it does not keep (an editor's live check);
        a player's checks are bounded (BACKEND_RUNTIME_ORDERS_CHECK_RATE): 429 past it."""
        if self._orders_check_limit is not None:
            self._orders_check_limit.take(user_id)
        record = await self.player_record(game_id, user_id)
        if record.status == "finished":
            raise GameFinished()
        return await self._engine.json(
            game_id,
            self._address(record),
            "POST",
            f"/players/{user_id}/orders/check",
            json={"orders": orders},
        )

    async def sent_orders(self, game_id: UUID, user_id: UUID) -> dict[str, Any]:
        """The orders the player sent for the next turn, as the engine keeps them."""
        record = await self.player_record(game_id, user_id)
        if record.status == "finished":
            # No next turn, and the engine may be long gone: not an engine fault.
            raise GameFinished()
        return await self._engine.json(
            game_id, self._address(record), "GET", f"/players/{user_id}/orders"
        )

    async def _request_turn_if_all_in(self, record: RuntimeRecord) -> None:
        status = await self._engine.json(
            record.game_id, self._address(record), "GET", "/admin/status"
        )
        # A race that quit stays alive (its planets keep producing) but never sends orders.
        playing = [p for p in status.get("players", []) if p.get("alive") and not p.get("quit")]
        if playing and all(p.get("orders_submitted") for p in playing):
            async with self._database.pool.acquire() as conn:
                await repository.request_turn(conn, record.game_id, "all_orders_in", replace=False)

    async def report_of(self, game_id: UUID, user_id: UUID, turn: int, *, text: bool) -> bytes:
        """The player's report of a turn as the engine wrote it (JSON, or the text report),
        from what the backend kept; the engine is asked only for a turn kept before the
        backend kept reports, while it runs."""
        record = await self.player_record(game_id, user_id)
        async with self._database.pool.acquire() as conn:
            kept = await repository.kept_report(
                conn, game_id=game_id, turn=turn, player_id=user_id, text=text
            )
        if kept is not None:
            return unpack(*kept)
        if turn > record.current_turn or record.status not in LIVE or record.address is None:
            raise UnknownTurn(f"there is no report for turn {turn}")
        response = await self._engine.call(
            game_id,
            record.address,
            "GET",
            f"/players/{user_id}/reports/{turn}",
            params={"format": "text"} if text else None,
        )
        return response.content

    async def standing_for(self, game_id: UUID, user_id: UUID) -> GameStanding:
        record = await self.player_record(game_id, user_id)
        return await self.standing_of(record)

    async def standing(self, game_id: UUID) -> tuple[RuntimeRecord, GameStanding]:
        """An operator's view of a game's engine: its record, and the standing with who has
        sent orders (asked of the engine, when it runs and answers in time)."""
        record = await self._record(game_id)
        return record, await self.standing_of(record)

    async def standing_of(self, record: RuntimeRecord) -> GameStanding:
        """The game's standing from what the backend keeps; who has sent orders from the
        engine, when it runs and answers in time."""
        async with self._database.pool.acquire() as conn:
            last = await repository.last_summary(conn, record.game_id)
        summary = last[1] if last is not None else {}
        rows = {str(p.get("player_id")): p for p in _rows(summary.get("players"))}
        orders = await self._orders_in(record)
        players = []
        for player in record.players:
            row = rows.get(str(player.player_id), {})
            players.append(
                {
                    "player_id": str(player.player_id),
                    "race_name": row.get("race_name", player.race_name),
                    "alive": row.get("alive"),
                    "orders_submitted": (
                        orders.get(str(player.player_id)) if orders is not None else None
                    ),
                }
            )
        ranking = record.final_ranking if record.final_ranking else _rows(summary.get("ranking"))
        return GameStanding(
            turn=record.current_turn,
            finished=record.status == "finished",
            next_turn_at=record.next_tick_at if record.status == "running" else None,
            status=record.status,
            players=players,
            winner=record.winner,
            ranking=[dict(r) for r in ranking],
            engine_answered=orders is not None,
        )

    async def _orders_in(self, record: RuntimeRecord) -> dict[str, bool] | None:
        """Who has sent orders for the next turn, by player id; None when the engine is not
        running or does not answer in time."""
        if record.status not in LIVE or record.address is None:
            return None
        try:
            engine = await self._engine.json(
                record.game_id,
                record.address,
                "GET",
                "/admin/status",
                wait_seconds=_STATUS_WAIT_SECONDS,
            )
        except DomainError:
            return None
        return {
            str(p.get("player_id")): bool(p.get("orders_submitted"))
            for p in _rows(engine.get("players"))
        }


def _rows(value: object) -> list[Mapping[str, Any]]:
    """The objects of a list the engine sent (anything else: none)."""
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []
