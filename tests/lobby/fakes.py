"""Plain lobby values for the tests that need no database: a game with every field set."""

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from galaxy_backend.lobby.models import Game, RuntimeState

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def a_game(**changes: Any) -> Game:
    """An open public game of 2-4 players; `changes` sets any field."""
    base = Game(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        name="Cup",
        description="",
        status="enrollment_open",
        visibility="public",
        invite_code=None,
        min_players=2,
        max_players=4,
        approved_count=0,
        enrollment_deadline=EPOCH + timedelta(days=30),
        turn_schedule="@daily",
        turn_time_zone="UTC",
        run_when_all_orders_in=False,
        engine_version="1.0.0",
        settings={},
        current_turn=0,
        runtime=RuntimeState(),
        final_ranking=None,
        status_seq=0,
        version=0,
        created_at=EPOCH,
        updated_at=EPOCH,
        started_at=None,
        finished_at=None,
    )
    return dataclasses.replace(base, **changes)
