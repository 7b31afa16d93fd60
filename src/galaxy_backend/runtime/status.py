"""Runtime record statuses and the one table of transitions every status change goes through.

`RuntimeService.transition` is the only writer of a record's status; it checks this table
and registers the report to the lobby for after the commit.
"""

from typing import get_args

from galaxy_backend.runtime.errors import WrongRuntimeStatus
from galaxy_backend.runtime.models import RecordStatus

RECORD_STATUSES: tuple[RecordStatus, ...] = get_args(RecordStatus)

# A start (again) from a record that failed, stopped or lost its engine; a restart brings
# an engine back running (or paused, as it was); a record made again of an engine it had
# lost goes from starting to running or, for a paused game, paused; an operator's stop, a
# failure for good or an engine gone may end any live record. A status may be written again
# (a job run twice).
TRANSITIONS: dict[RecordStatus, frozenset[RecordStatus]] = {
    "starting": frozenset({"starting", "running", "paused", "failed", "stopped", "removed"}),
    "running": frozenset({"running", "paused", "finished", "stopped", "failed", "removed"}),
    "paused": frozenset({"paused", "running", "finished", "stopped", "failed", "removed"}),
    "stopped": frozenset({"stopped", "starting", "running", "paused", "failed", "removed"}),
    "failed": frozenset({"failed", "starting", "running", "paused", "removed"}),
    "removed": frozenset({"removed", "starting", "running", "paused", "failed"}),
    # Over: its engine is kept for the retention period, then removed with the record kept.
    "finished": frozenset({"finished"}),
}


def wrong_record_status(current: RecordStatus, target: RecordStatus) -> WrongRuntimeStatus:
    return WrongRuntimeStatus(
        f"the game's engine is {current}; it cannot become {target}",
        details={"status": current},
    )


def check_record_transition(current: RecordStatus, target: RecordStatus) -> None:
    """Raise 409 `wrong_status` (with the current status) unless current -> target is allowed."""
    if target not in TRANSITIONS[current]:
        raise wrong_record_status(current, target)
