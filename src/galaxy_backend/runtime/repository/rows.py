"""Rows of the runtime's tables as its models, and the channel new jobs are announced on."""

from typing import Any
from uuid import UUID

from galaxy_backend.runtime.models import (
    EnginePlayer,
    Job,
    RuntimeRecord,
)

CHANNEL = "galaxy_runtime_jobs"


def to_record(row: Any) -> RuntimeRecord:
    return RuntimeRecord(
        game_id=row["game_id"],
        game_name=row["game_name"],
        owner_id=row["owner_id"],
        players=tuple(
            EnginePlayer(player_id=UUID(p["player_id"]), race_name=p["race_name"])
            for p in row["players"]
        ),
        seed=row["seed"],
        settings=row["settings"],
        engine_version=row["engine_version"],
        image=row["image"],
        driver=row["driver"],
        handle=row["handle"],
        address=row["address"],
        status=row["status"],
        turn_schedule=row["turn_schedule"],
        turn_time_zone=row["turn_time_zone"],
        run_when_all_orders_in=row["run_when_all_orders_in"],
        current_turn=row["current_turn"],
        next_tick_at=row["next_tick_at"],
        skip_next_tick=row["skip_next_tick"],
        turn_requested=row["turn_requested"],
        health_failures=row["health_failures"],
        restarts=row["restarts"],
        last_health_at=row["last_health_at"],
        last_error=row["last_error"],
        final_ranking=row["final_ranking"],
        winner=row["winner"],
        reported_status=row["reported_status"],
        waiting_since=row["waiting_since"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


def to_job(row: Any) -> Job:
    return Job(
        id=row["id"],
        game_id=row["game_id"],
        kind=row["kind"],
        status=row["status"],
        attempts=row["attempts"],
        not_before=row["not_before"],
        reason=row["reason"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )
