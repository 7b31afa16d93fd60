"""The one table of runtime record status transitions, written out here as the runtime's
jobs, scheduler, reconciler and controls use it: every move it allows passes, every other
one is refused with the current status."""

import itertools

import pytest

from galaxy_backend.runtime.errors import WrongRuntimeStatus
from galaxy_backend.runtime.status import RECORD_STATUSES, TRANSITIONS, check_record_transition

_LIVE_ENDS = {"stopped", "failed", "removed"}
# Every move that is allowed, and why; a status may be written again (a job run twice).
ALLOWED: set[tuple[str, str]] = {
    *((s, s) for s in RECORD_STATUSES),
    # The start job; a record made again of an engine it had lost (the reconciler).
    ("starting", "running"),
    ("starting", "paused"),
    *(("starting", end) for end in _LIVE_ENDS),
    # The owner's pause and resume; the game's last turn.
    ("running", "paused"),
    ("paused", "running"),
    ("running", "finished"),
    ("paused", "finished"),
    # An operator's stop, a failure for good, an engine gone.
    *((live, end) for live in ("running", "paused") for end in _LIVE_ENDS),
    # A start again, or a restart back to running or paused, from a record without engine.
    *((end, back) for end in _LIVE_ENDS for back in ("starting", "running", "paused")),
    ("stopped", "failed"),
    ("stopped", "removed"),
    ("failed", "removed"),
    ("removed", "failed"),
}


def test_every_status_has_its_row_and_a_finished_game_stays_finished() -> None:
    assert set(TRANSITIONS) == set(RECORD_STATUSES)
    assert TRANSITIONS["finished"] == {"finished"}
    # Nothing writes `stopping` (the database's CHECK still allows it): it is no status here.
    assert "stopping" not in RECORD_STATUSES


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed(current: str, target: str) -> None:
    check_record_transition(current, target)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(RECORD_STATUSES, repeat=2)) - ALLOWED),
)
def test_refused_with_the_current_status(current: str, target: str) -> None:
    with pytest.raises(WrongRuntimeStatus) as refused:
        check_record_transition(current, target)  # type: ignore[arg-type]
    assert refused.value.code == "wrong_status"
    assert refused.value.details == {"status": current}
    assert f"it cannot become {target}" in str(refused.value)
