"""The lobby's adapters: no-ops until wiring patches them, then pure forwarders."""

import uuid
from typing import Any
from uuid import UUID

from galaxy_backend.adapters import NotifierAdapter, RuntimeControlAdapter
from galaxy_backend.lobby.models import GameStart
from galaxy_backend.notification.models import Notice
from galaxy_backend.postgres import Tx

TX = Tx(conn=None)  # type: ignore[arg-type]
NOTICE = Notice(kind="lobby.test", user_ids=[uuid.uuid4()], title="t", body="b")
START = GameStart(
    game_id=uuid.uuid4(),
    game_name="Cup",
    owner_id=uuid.uuid4(),
    engine_version="1.0.0",
    settings={},
    turn_schedule="@daily",
    turn_time_zone="UTC",
    run_when_all_orders_in=False,
    players=(),
)


class Notifications:
    def __init__(self) -> None:
        self.calls: list[tuple[Tx, Notice]] = []

    async def post(self, tx: Tx, notice: Notice) -> list[UUID]:
        self.calls.append((tx, notice))
        return [uuid.UUID(int=1)]


class Runtime:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def start_game(self, tx: Tx, game: GameStart) -> None:
        self.calls.append(("start", tx, game))

    async def stop_game(self, tx: Tx, game_id: UUID, *, reason: str) -> None:
        self.calls.append(("stop", tx, game_id, reason))


async def test_the_notifier_adapter() -> None:
    adapter = NotifierAdapter()
    assert await adapter.post(TX, NOTICE) == []
    target = Notifications()
    adapter.patch(target)
    assert await adapter.post(TX, NOTICE) == [uuid.UUID(int=1)]
    assert target.calls == [(TX, NOTICE)]


async def test_the_runtime_adapter() -> None:
    adapter = RuntimeControlAdapter()
    await adapter.start_game(TX, START)
    await adapter.stop_game(TX, START.game_id, reason="cancelled")
    target = Runtime()
    adapter.patch(target)
    await adapter.start_game(TX, START)
    await adapter.stop_game(TX, START.game_id, reason="cancelled")
    assert target.calls == [("start", TX, START), ("stop", TX, START.game_id, "cancelled")]
