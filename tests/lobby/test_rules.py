"""The lobby's rules alone: plain values and a hand-written engine catalogue, no database."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from galaxy_backend.kernel.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from galaxy_backend.lobby import rules
from galaxy_backend.lobby.models import Game, Player
from galaxy_backend.lobby.status import (
    APPLICATION_TRANSITIONS,
    check_application_transition,
)
from tests.lobby.fakes import a_game

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
OWNER = uuid.uuid4()
PLAYER = uuid.uuid4()
STRANGER = uuid.uuid4()


class FakeEngines:
    """One version whose map holds `capacity` races and takes one setting, `size`."""

    def __init__(self, capacity: int = 10) -> None:
        self.capacity = capacity

    def default_version(self) -> str:
        return "9.9"

    def known_versions(self) -> Sequence[str]:
        return ("9.9",)

    def validate_settings(self, version: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        if set(raw) - {"size"}:
            raise InvalidInput("unknown setting", field="settings", code="invalid_settings")
        return dict(raw)

    def max_players(self, version: str, settings: Mapping[str, Any]) -> int:
        return self.capacity

    def settings_schema(self, version: str) -> dict[str, Any]:
        return {}


def game(**changes: Any) -> Game:
    return a_game(
        **{
            "owner_id": OWNER,
            "approved_count": 1,
            "enrollment_deadline": NOW + timedelta(days=1),
            "turn_schedule": "0 18 * * *",
            "engine_version": "9.9",
            "version": 1,
            "created_at": NOW,
            "updated_at": NOW,
            "players": (Player(PLAYER, uuid.uuid4(), "Players", NOW),),
            **changes,
        }
    )


def fields(**changes: Any) -> dict[str, Any]:
    return {**rules.settable_of(game()), **changes}


def check(values: dict[str, Any], engines: FakeEngines | None = None) -> dict[str, Any]:
    return rules.checked_fields(
        values, engines=engines or FakeEngines(), now=NOW, min_interval=timedelta(minutes=1)
    )


def code_of(error: pytest.ExceptionInfo[DomainError]) -> tuple[str, object]:
    return error.value.code, error.value.details.get("field")


def test_roles() -> None:
    g = game()
    assert rules.role_of(g, OWNER) == "owner"
    assert rules.role_of(g, PLAYER) == "player"
    assert rules.role_of(g, STRANGER) is None
    assert rules.role_of(g, STRANGER, applicant=True) == "applicant"


def test_a_stranger_is_forbidden_a_public_game_and_not_told_of_a_private_one() -> None:
    rules.check_owner(game(), OWNER)
    with pytest.raises(Forbidden):
        rules.check_owner(game(), STRANGER)
    with pytest.raises(Forbidden):
        rules.check_owner(game(visibility="private"), PLAYER)
    with pytest.raises(NotFound):
        rules.check_owner(game(visibility="private"), STRANGER)
    with pytest.raises(NotFound):
        rules.check_visible(game(visibility="private"), None)
    rules.check_visible(game(visibility="private"), "applicant")


def test_invite_codes() -> None:
    private = game(visibility="private", invite_code="secret")
    assert rules.invite_admits(game(), STRANGER, None)
    assert rules.invite_admits(private, OWNER, None)
    assert rules.invite_admits(private, STRANGER, "secret")
    assert not rules.invite_admits(private, STRANGER, "guess")
    assert not rules.invite_admits(private, STRANGER, None)
    assert len(rules.invite_code()) == 12


def test_limits_and_seats() -> None:
    rules.check_active_limit(2, 3)
    with pytest.raises(Conflict, match="you already play 3 games, your limit"):
        rules.check_active_limit(3, 3)
    with pytest.raises(Conflict, match="the applicant already plays 3 games, their limit"):
        rules.check_active_limit(3, 3, whose="the applicant")
    with pytest.raises(Conflict) as owned:
        rules.check_owned_limit(5, 5)
    assert owned.value.code == "owned_games_limit"
    with pytest.raises(Conflict) as full:
        rules.check_seat(game(approved_count=4))
    assert full.value.code == "game_full"


def test_the_start_path_and_its_players() -> None:
    assert rules.start_path(game(approved_count=2)) == ("enrollment_closed", "starting")
    assert rules.start_path(game(status="start_failed", approved_count=2)) == ("starting",)
    with pytest.raises(Conflict) as few:
        rules.start_path(game(approved_count=1))
    assert few.value.code == "not_enough_players"
    with pytest.raises(Conflict) as running:
        rules.start_path(game(status="running", approved_count=2))
    assert running.value.code == "wrong_status"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"turn_time_zone": "Mars/Olympus"}, "invalid_time_zone", "turn_time_zone"),
        ({"turn_schedule": "every tuesday"}, "invalid_schedule", "turn_schedule"),
        ({"min_players": 5}, "invalid_players", "min_players"),
        ({"max_players": 11}, "too_many_players", "max_players"),
        ({"enrollment_deadline": NOW}, "deadline_passed", "enrollment_deadline"),
        ({"settings": {"colour": 1}}, "invalid_settings", "settings"),
    ],
)
def test_field_checks_name_the_field(changes: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check(fields(**changes))
    assert code_of(error) == (code, field)


def test_a_schedule_closer_than_the_minimum_is_refused_with_both_figures() -> None:
    with pytest.raises(InvalidInput) as error:
        rules.checked_fields(
            fields(turn_schedule="*/5 * * * *"),
            engines=FakeEngines(),
            now=NOW,
            min_interval=timedelta(hours=1),
        )
    assert error.value.code == "schedule_too_frequent"
    assert error.value.details["min_interval_seconds"] == 3600
    assert error.value.details["shortest_gap_seconds"] == 300


def test_checked_fields_fill_the_default_engine() -> None:
    checked = check(fields(engine_version=None))
    assert checked["engine_version"] == "9.9"


def test_an_edit_returns_only_what_changes() -> None:
    g = game()
    engines = FakeEngines()
    minute = timedelta(minutes=1)
    assert rules.edit_delta(g, {}, engines=engines, now=NOW, min_interval=minute) == {}
    assert rules.edit_delta(g, {"name": "Cup"}, engines=engines, now=NOW, min_interval=minute) == {}
    delta = rules.edit_delta(
        g, {"visibility": "private"}, engines=engines, now=NOW, min_interval=minute
    )
    assert delta["visibility"] == "private"
    assert len(delta["invite_code"]) == 12
    with pytest.raises(Conflict) as below:
        rules.edit_delta(
            game(approved_count=3),
            {"max_players": 2},
            engines=engines,
            now=NOW,
            min_interval=minute,
        )
    assert below.value.code == "max_below_approved"
    # A deadline kept as it was is not checked again, even once it has passed.
    late = game(enrollment_deadline=NOW - timedelta(days=1))
    assert rules.edit_delta(
        late, {"name": "Late"}, engines=engines, now=NOW, min_interval=minute
    ) == {"name": "Late"}


def test_the_application_table() -> None:
    check_application_transition("pending", "approved", "approve it")
    check_application_transition("approved", "left", "leave")
    for final, allowed in APPLICATION_TRANSITIONS.items():
        if final not in ("pending", "approved"):
            assert allowed == frozenset()
    with pytest.raises(Conflict) as wrong:
        check_application_transition("rejected", "approved", "approve it")
    assert wrong.value.code == "wrong_application_status"
    assert wrong.value.details == {"status": "rejected"}


def test_race_name_forms_name_their_field() -> None:
    with pytest.raises(InvalidInput) as error:
        rules.forms("", field="owner_race_name")
    assert code_of(error) == ("invalid_race_name", "owner_race_name")
