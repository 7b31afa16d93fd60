"""SQL of the reports kept for every turn (`runtime_report_turns`, `runtime_reports`)."""

from typing import Any
from uuid import UUID

from galaxy_backend.postgres import Connection
from galaxy_backend.runtime.archive import KeptTurn


async def keep_reports(conn: Connection, game_id: UUID, kept: KeptTurn) -> None:
    """A turn's summary and reports; written again, the new ones replace the old."""
    packed = kept.packed
    await conn.execute(
        "DELETE FROM runtime_report_turns WHERE game_id = $1 AND turn = $2", game_id, kept.turn
    )
    await conn.execute(
        """
        INSERT INTO runtime_report_turns
            (game_id, turn, summary, dictionary, raw_bytes, stored_bytes)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        game_id,
        kept.turn,
        kept.summary,
        packed.dictionary,
        packed.raw_bytes,
        packed.stored_bytes,
    )
    if packed.reports:
        await conn.executemany(
            "INSERT INTO runtime_reports (game_id, turn, player_id, report, text_report)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(game_id, kept.turn, r.player_id, r.json, r.text) for r in packed.reports],
        )


async def kept_report(
    conn: Connection, *, game_id: UUID, turn: int, player_id: UUID, text: bool
) -> tuple[bytes, bytes] | None:
    """The turn's dictionary and the player's compressed report, if kept."""
    row = await conn.fetchrow(
        f"""
        SELECT t.dictionary, r.{"text_report" if text else "report"} AS blob
        FROM runtime_reports r
        JOIN runtime_report_turns t USING (game_id, turn)
        WHERE r.game_id = $1 AND r.turn = $2 AND r.player_id = $3
        """,
        game_id,
        turn,
        player_id,
    )
    return (row["dictionary"], row["blob"]) if row else None


async def last_summary(conn: Connection, game_id: UUID) -> tuple[int, dict[str, Any]] | None:
    """The newest kept turn and its summary."""
    row = await conn.fetchrow(
        "SELECT turn, summary FROM runtime_report_turns WHERE game_id = $1"
        " ORDER BY turn DESC LIMIT 1",
        game_id,
    )
    return (row["turn"], row["summary"]) if row else None
