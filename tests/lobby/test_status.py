"""The one table of game status transitions."""

import pytest

from galaxy_backend.kernel.errors import Conflict
from galaxy_backend.lobby.status import (
    GAME_STATUSES,
    TERMINAL,
    TRANSITIONS,
    check_path,
    check_transition,
)


def test_every_status_has_its_row_and_terminal_ones_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(GAME_STATUSES)
    for status in TERMINAL:
        assert not TRANSITIONS[status]


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("enrollment_open", "enrollment_closed"),
        ("enrollment_closed", "starting"),
        ("starting", "running"),
        ("starting", "start_failed"),
        ("starting", "enrollment_closed"),
        ("start_failed", "starting"),
        ("running", "paused"),
        ("paused", "running"),
        ("running", "finished"),
        ("paused", "cancelled"),
    ],
)
def test_allowed(current: str, target: str) -> None:
    check_transition(current, target, "do it")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("enrollment_open", "running"),
        ("enrollment_open", "starting"),
        ("running", "enrollment_open"),
        ("finished", "running"),
        ("cancelled", "enrollment_open"),
        ("start_failed", "running"),
    ],
)
def test_refused_with_the_current_status(current: str, target: str) -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(current, target, "do it")  # type: ignore[arg-type]
    assert refused.value.code == "wrong_status"
    assert refused.value.details == {"status": current}


def test_a_path_is_checked_step_by_step() -> None:
    check_path("enrollment_open", ("enrollment_closed", "starting"), "start")
    with pytest.raises(Conflict):
        check_path("running", ("enrollment_closed", "starting"), "start")
