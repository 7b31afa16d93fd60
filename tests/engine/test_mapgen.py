"""Map generation: the built-in defaults of GalaxyNG, deterministic from the seed."""

import math

import pytest

from galaxy_engine.mapgen import MapGenerationError, generate_planets
from galaxy_engine.settings import defaults, validate_settings


def test_same_seed_same_map_and_another_seed_another_map() -> None:
    a = generate_planets(defaults(), 4, 11)
    assert a == generate_planets(defaults(), 4, 11)
    assert a != generate_planets(defaults(), 4, 12)


def test_default_map_per_race() -> None:
    settings = defaults()
    planets = generate_planets(settings, 5, 3)
    assert len(planets) == 5 * (2 + 6 + 5)
    assert [p.number for p in planets] == list(range(1, len(planets) + 1))
    assert all(p.name == str(p.number) for p in planets)
    assert all(0 <= p.x < 200 and 0 <= p.y < 200 for p in planets)
    assert len({(p.x, p.y) for p in planets}) == len(planets)
    for race in range(5):
        homes = [p for p in planets if p.owner == race]
        assert [h.size for h in homes] == [1000.0, 400.0]
        primary, secondary = homes
        assert 1.0 <= math.dist((primary.x, primary.y), (secondary.x, secondary.y)) <= 3.0 + 0.02
        for home in homes:
            assert (home.pop, home.ind, home.resources, home.product) == (
                home.size,
                home.size,
                10.0,
                "DRIVE",
            )
            assert (home.cap, home.mat, home.col) == (0.0, 0.0, 0.0)
    primaries = [p for p in planets if p.owner is not None and p.size == 1000.0]
    for a in primaries:
        for b in primaries:
            if a is not b:
                assert math.dist((a.x, a.y), (b.x, b.y)) > 25.0


def test_development_planets_total_600_to_700_each_near_the_primary() -> None:
    settings = defaults()
    planets = generate_planets({**settings, "stuff_planets": 0}, 1, 5)
    empty = [p for p in planets if p.owner is None]
    assert len(empty) == 6
    assert 6 * 600 <= sum(p.size for p in empty) <= 6 * 700
    assert all(20 <= p.size <= 1000 for p in empty)
    assert all(0.3 + 1 / 8 - 0.01 <= p.resources <= 8.3 for p in empty)
    primary = next(p for p in planets if p.owner == 0 and p.size == 1000.0)
    assert all(math.dist((p.x, p.y), (primary.x, primary.y)) <= 30.0 + 0.02 for p in empty)


def test_stuff_planets_are_small() -> None:
    planets = generate_planets({**defaults(), "empty_planets": 0, "stuff_planets": 30}, 2, 9)
    stuff = [p for p in planets if p.owner is None]
    assert len(stuff) == 60
    assert all(2 <= p.size <= 172 and 0.5 <= p.resources <= 2.0 for p in stuff)


def test_settings_shape_the_map() -> None:
    settings = validate_settings(
        {"galaxy_size": 80, "core_sizes": [500], "empty_planets": 2, "stuff_planets": 1}
    )
    planets = generate_planets(settings, 2, 1)
    assert len(planets) == 2 * 4
    assert all(p.x < 80 and p.y < 80 for p in planets)
    assert sorted(p.size for p in planets if p.owner is not None) == [500.0, 500.0]


def test_a_galaxy_too_small_for_the_races_is_an_error() -> None:
    settings = validate_settings({"galaxy_size": 40, "race_spacing": 30})
    with pytest.raises(MapGenerationError, match="larger galaxy_size"):
        generate_planets(settings, 6, 1)


def test_thirty_races_fit_the_default_galaxy() -> None:
    assert len(generate_planets(defaults(), 30, 1)) == 30 * 13
