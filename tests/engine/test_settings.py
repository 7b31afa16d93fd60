"""Settings as data: declared, validated with every error at once, described as a schema."""

import subprocess
import sys

import pytest

from galaxy_engine.settings import SETTINGS, SettingsError, settings_schema, validate_settings

from .helpers import engine_env


def test_every_setting_is_declared_with_a_description_and_a_valid_default() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for required in (
        "galaxy_size",
        "empty_planets",
        "stuff_planets",
        "race_spacing",
        "core_sizes",
        "secondary_radius",
        "empty_radius",
        "initial_drive",
        "max_turns",
        "full_bombing",
        "keep_production",
    ):
        assert required in names
    for setting in SETTINGS:
        assert setting.description.endswith(".")
    assert validate_settings({}) == {s.name: validate_settings({})[s.name] for s in SETTINGS}


def test_defaults_are_galaxyng_built_in_defaults() -> None:
    settings = validate_settings({})
    assert settings["galaxy_size"] == 200.0
    assert settings["race_spacing"] == 25.0
    assert settings["core_sizes"] == [1000.0, 400.0]
    assert (settings["empty_planets"], settings["stuff_planets"]) == (6, 5)
    assert (settings["empty_radius"], settings["secondary_radius"]) == (30.0, 3.0)
    assert settings["max_turns"] == 0


def test_values_are_normalised() -> None:
    settings = validate_settings({"galaxy_size": 150, "empty_planets": 4.0, "core_sizes": [500]})
    assert settings["galaxy_size"] == 150.0 and isinstance(settings["galaxy_size"], float)
    assert settings["empty_planets"] == 4 and isinstance(settings["empty_planets"], int)
    assert settings["core_sizes"] == [500.0]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        validate_settings(
            {
                "colour": "red",
                "galaxy_size": "big",
                "empty_planets": 2.5,
                "max_turns": -1,
                "full_bombing": 1,
                "core_sizes": [],
                "race_spacing": True,
                "initial_drive": 0.5,
            }
        )
    assert caught.value.errors == [
        {"field": "colour", "message": "unknown setting"},
        {"field": "galaxy_size", "message": "must be a number"},
        {"field": "race_spacing", "message": "must be a number"},
        {"field": "core_sizes", "message": "must have at least 1 item(s)"},
        {"field": "empty_planets", "message": "must be an integer"},
        {"field": "initial_drive", "message": "must be at least 1"},
        {"field": "max_turns", "message": "must be at least 0"},
        {"field": "full_bombing", "message": "must be a boolean"},
    ]
    with pytest.raises(SettingsError):
        validate_settings({"galaxy_size": 10**6})
    with pytest.raises(SettingsError):
        validate_settings({"galaxy_size": float("nan")})
    with pytest.raises(SettingsError):
        validate_settings([])  # type: ignore[arg-type]


def test_schema_describes_every_setting() -> None:
    schema = settings_schema()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["properties"]) == {s.name for s in SETTINGS}
    assert schema["properties"]["galaxy_size"] == {
        "type": "number",
        "default": 200.0,
        "minimum": 20.0,
        "maximum": 2000.0,
        "description": "Side of the square galaxy in light-years.",
    }
    assert schema["properties"]["core_sizes"]["type"] == "array"
    assert schema["properties"]["full_bombing"]["type"] == "boolean"


def test_the_lobby_imports_settings_and_version_without_the_engine() -> None:
    code = (
        "import sys, galaxy_engine.settings, galaxy_engine.version;"
        "print(sorted(m for m in sys.modules if m.startswith('galaxy_engine')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=engine_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == (
        "['galaxy_engine', 'galaxy_engine.settings', 'galaxy_engine.version']"
    )
