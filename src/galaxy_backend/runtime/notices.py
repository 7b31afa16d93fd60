"""What the players are told of a turn: the inbox entry and the mail of `runtime.turn.ready`."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from galaxy_backend.notification.models import Notice
from galaxy_backend.runtime.models import RuntimeRecord


def report_path(game_id: UUID, turn: int) -> str:
    """Where a player reads their report of a turn (JSON; `?format=text` for the text)."""
    return f"/api/v1/user/games/{game_id}/reports/{turn}"


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def turn_summary(record: RuntimeRecord, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's summary of a turn as every player may read it: races by name."""
    names = {str(p.player_id): p.race_name for p in record.players}

    def name(player_id: object) -> str | None:
        return names.get(str(player_id)) if player_id is not None else None

    ranking = summary.get("ranking")
    eliminated = summary.get("eliminated")
    return {
        "battles": _count(summary.get("battles")),
        "bombings": _count(summary.get("bombings")),
        "eliminated": [
            n for n in (name(p) for p in (eliminated if isinstance(eliminated, list) else [])) if n
        ],
        "winner": name(summary.get("winner")),
        "ranking": [
            {
                "rank": row.get("rank"),
                "race_name": row.get("race_name"),
                "alive": row.get("alive"),
                "production": row.get("production"),
            }
            for row in (ranking if isinstance(ranking, list) else [])
            if isinstance(row, Mapping)
        ],
    }


def still_playing(record: RuntimeRecord, before: Mapping[str, Any]) -> list[UUID]:
    """Who is told of a turn: not a race that had quit or was out before it (GalaxyNG mails
    a race that quit no more reports), so the turn it quits or falls in is its last notice.
    `before` is the previous turn's summary; a race it does not list is told."""
    rows = before.get("players")
    gone = {
        str(row.get("player_id"))
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, Mapping) and (row.get("quit") is True or row.get("alive") is False)
    }
    return [p for p in record.player_ids() if str(p) not in gone]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def turn_notice(
    record: RuntimeRecord,
    turn: int,
    summary: Mapping[str, Any],
    *,
    finished: bool,
    reports: Mapping[UUID, str],
    recipients: Sequence[UUID],
) -> Notice:
    """`runtime.turn.ready` for the players still in the game (`still_playing`): the turn's
    summary in the payload, the way to the report, and each one's text report in their
    own mail."""
    shown = turn_summary(record, summary)
    game = record.game_name
    lines = [
        f"Turn {turn} of {game} has run: {_plural(shown['battles'], 'battle')}, "
        f"{_plural(shown['bombings'], 'bombing')}."
    ]
    if shown["eliminated"]:
        lines.append(f"Eliminated: {', '.join(shown['eliminated'])}.")
    if finished:
        winner = shown["winner"]
        lines.append(f"The game is over; {winner} won." if winner else "The game is over.")
    else:
        lines.append(f"Your orders for turn {turn + 1} are due.")
    lines.append(
        f"Your report of turn {turn} is on the game's page, and in the email of this notice."
    )
    return Notice(
        kind="runtime.turn.ready",
        user_ids=list(recipients),
        title=f"{game}: turn {turn} has run",
        body=" ".join(lines),
        payload={
            "game_id": str(record.game_id),
            "game_name": game,
            "turn": turn,
            "finished": finished,
            "summary": shown,
            "report": report_path(record.game_id, turn),
        },
        key=f"turn:{record.game_id}:{turn}",
        mail_text=reports,
    )
