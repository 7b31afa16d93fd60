"""The order parser and every order: what it does, and each refusal with its message."""

import pytest

from galaxy_engine.model import CAP, COL, MAT, SHIP
from galaxy_engine.orders import order_lines, parse_orders, tokenize
from galaxy_engine.turnlog import TurnLog

from .helpers import add_group, orders, tiny_game

TYPES = "d Hauler 2 0 0 0 1\nd Gun 2 1 2 1 0\nd Fort 0 2 2 3 0\n"


def game_with_types(**settings: object):  # type: ignore[no-untyped-def]
    game = tiny_game(**settings)
    assert orders(game, 0, TYPES) == ([], [])
    assert orders(game, 1, TYPES) == ([], [])
    return game


# --- the parser ---------------------------------------------------------------------------


def test_tokenize_blanks_commas_quotes_braces_and_comments() -> None:
    assert tokenize("s 1,  #3 ; go there") == ["s", "1", "#3"]
    assert tokenize('n 1 "New Home"') == ["n", "1", "New_Home"]
    assert tokenize("@ {Race One} x") == ["@", "Race One", "x"]
    assert tokenize("; all comment") == []
    assert tokenize("d a<b 1 0 0 0 0") == ["d", "ab", "1", "0", "0", "0", "0"]


def test_galaxy_wrapper_is_optional_and_end_stops_reading() -> None:
    text = "From: someone\n#GALAXY game race password 3\np 1 CAP\n#END\np 1 MAT\n"
    assert order_lines(text) == [(3, "p 1 CAP")]
    assert order_lines("p 1 CAP\n\np 2 MAT") == [(1, "p 1 CAP"), (2, ""), (3, "p 2 MAT")]


def test_only_the_first_letter_counts_and_case_does_not_matter() -> None:
    parsed = parse_orders("PRODUCE 1 cap\nSend 1 2\nproduction #2 Drive")
    assert [o.letter for o in parsed.lines] == ["p", "s", "p"]
    game = tiny_game()
    assert orders(game, 0, "PRODUCE 1 cap\nproduction #2 Drive") == ([], [])
    assert game.planet(1).product == CAP and game.planet(2).product == "DRIVE"


def test_unknown_orders_and_malformed_lines_are_refused_with_their_line() -> None:
    parsed = parse_orders("k 1\np 1\ni 1 2 many\nd X 1 a 0 0 0\n; fine\n")
    assert [(e.line, e.message) for e in parsed.errors] == [
        (1, "Order not recognized."),
        (2, "Give a planet and a product."),
        (3, 'Ship count "many" is not a whole number.'),
        (4, '"a" is not a number.'),
    ]
    assert parse_orders("i 1 2 0").errors[0].message == "Ship count must be at least 1."
    # s, x, j and g read their count as atoi does (over HTTP in test_galaxyng_rules).
    assert parse_orders("s 1 2 0\nx 1 -2\nj 1 F many\ng 1 2.5").errors == ()
    assert parse_orders("d X 1 1.5 1 0 0").errors[0].message == (
        "The number of guns must be a whole number."
    )
    assert parse_orders("d X -1 0 0 0 0").errors[0].message == "Ship parts cannot be negative."
    assert parse_orders("l 1 COL 2 5").errors[0].message == "Expected the keyword AMOUNT."
    assert parse_orders("u 1 AMOUNT").errors[0].message == (
        "Keyword AMOUNT should be followed by a number."
    )
    assert parse_orders("m 1 2").errors[0].message == "Give x, y and size."
    assert parse_orders("n 1 a b").errors[0].message == "Too many parameters."


def test_planets_by_name_or_number_and_groups_by_number_or_max() -> None:
    game = game_with_types()
    # A rename is a phase-2 order: the new name counts from the next turn's orders.
    assert orders(game, 0, "n #1 Home\np Home Hauler")[0] == ["Planet not recognized."]
    assert orders(game, 0, "p Home Hauler\np #2 CAP\np home hauler") == ([], [])
    assert game.planet(1).name == "Home" and game.planet(1).product == SHIP
    add_group(game, 0, "Gun", 3, 1)
    add_group(game, 0, "Gun", 4, 2)
    assert orders(game, 0, "s MAX 3\ns 1 #5") == ([], [])
    assert game.races[0].groups[1].where == 3
    assert game.races[0].groups[0].where == 5
    for word in ("#0", "#6", "#²", "#\u0661", "#" + "9" * 5000, "#", "#-1"):
        assert orders(game, 0, f"s 1 {word}")[0] == ["Planet not recognized."]


def test_messages_run_to_the_next_at_line() -> None:
    game = tiny_game()
    log = TurnLog(turn=1)
    text = "@ Beta\nhello Beta\np 1 CAP\n@\n@\nto everyone\n@\np 2 MAT\n"
    assert orders(game, 0, text, log) == ([], [])
    assert game.planet(1).product == "DRIVE"
    assert game.planet(2).product == MAT
    assert log.messages[1] == [
        {"kind": "message", "text": "hello Beta\np 1 CAP", "sender": "Alpha", "to": ["Beta"]}
    ]
    assert log.global_messages == [{"kind": "message", "text": "to everyone", "sender": "Alpha"}]
    _, warnings = orders(game, 0, "@ Nobody\nhi\n@\n", log)
    assert warnings == ['Race "Nobody" not recognized.']


# --- design, production, eliminate, rename ----------------------------------------------


def test_design_ship_types_with_warnings() -> None:
    game = tiny_game()
    assert orders(game, 0, "d Scout 1 0 0 0 0") == ([], [])
    t = game.races[0].types[0]
    assert (t.name, t.drive, t.mass) == ("Scout", 1.0, 1.0)
    assert orders(game, 0, "d Odd 0.5 2 0.5 0.5 1") == (
        [],
        [
            "drive size should be zero, or greater or equal to 1.",
            "gun size should be greater or equal to 1.",
            "shield size should be zero, or greater or equal to 1.",
            "unusual to have cargo ship with no drive.",
        ],
    )
    odd = game.races[0].types[1]
    assert (odd.drive, odd.attacks, odd.weapons, odd.shields, odd.cargo) == (0, 0, 0, 0, 1)
    assert orders(game, 0, "d Odder 0.5 2 0.5 0.5 0.5")[0] == [
        "At least one component must be non-zero."
    ]
    _, warnings = orders(game, 0, "d Short 1")
    assert warnings == ["A ship design requires 5 parameters."]
    _, warnings = orders(game, 0, "d Barge 0 0 0 0 5")
    assert warnings == ["unusual to have cargo ship with no drive."]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("d Nothing 0 0 0 0 0", "At least one component must be non-zero."),
        ("d Scout 1 0 0 0 0", "Name already in use for ship type."),
        ("d Cargo 1 0 0 0 0", "Ship name can not be the same as a product name."),
        ("d Averyveryverylongname12 1 0 0 0 0", "Name is too long (at most 21 characters)."),
        ("d Huge 20000 0 0 0 0", "Parts are at most 10000, guns at most 1000."),
        ("d FLEET 1st", "Fleet names cannot have an initial digit."),
        ("d FLEET Scout", "Name already in use for ship type."),
        ("d FLEET max", '"max" is reserved.'),
    ],
)
def test_design_refusals(text: str, message: str) -> None:
    game = tiny_game()
    orders(game, 0, "d Scout 1 0 0 0 0")
    assert orders(game, 0, text)[0] == [message]


def test_fleet_names_are_unique() -> None:
    game = tiny_game()
    assert orders(game, 0, "d FLEET Armada") == ([], [])
    assert orders(game, 0, "d FLEET Armada")[0] == ["Name already in use for fleet."]
    assert orders(game, 0, "d Armada 1 0 0 0 0")[0] == ["Name already in use for fleet."]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p 9 CAP", "Planet not recognized."),
        ("p #4 CAP", "Planet not owned by you."),
        ("p 1 Nonsense", 'Production type "Nonsense" not recognized.'),
    ],
)
def test_production_refusals(text: str, message: str) -> None:
    assert orders(game_with_types(), 0, text)[0] == [message]


def test_production_of_every_product() -> None:
    game = game_with_types()
    for product in ("CAP", "MAT", "DRIVE", "WEAPONS", "SHIELDS", "CARGO"):
        assert orders(game, 0, f"p 1 {product.lower()}") == ([], [])
        assert game.planet(1).product == product
    assert orders(game, 0, "p 1 Gun") == ([], [])
    assert game.planet(1).product == SHIP
    game.planet(1).progress = 10.0
    assert orders(game, 0, "p 1 Gun") == ([], [])
    assert game.planet(1).progress == 10.0


def test_eliminate_types_and_fleets() -> None:
    game = game_with_types()
    assert orders(game, 0, "e Nope")[0] == ["Ship or fleet type not recognized."]
    add_group(game, 0, "Gun", 1, 1)
    assert orders(game, 0, "e Gun")[0] == ["Some of these ships still exist."]
    orders(game, 0, "p 2 Fort")
    assert orders(game, 0, "e Fort")[0] == ["Some of these ships are still being produced."]
    assert orders(game, 0, "e Hauler") == ([], [])
    assert [t.name for t in game.races[0].types] == ["Gun", "Fort"]
    orders(game, 0, "d FLEET Armada\nj 1 Armada")
    assert orders(game, 0, "e Armada") == ([], [])
    assert game.races[0].fleets == [] and game.races[0].groups[0].fleet is None


def test_rename_types_fleets_planets_and_race() -> None:
    game = game_with_types()
    orders(game, 0, "d FLEET Armada")
    assert orders(game, 0, "t Gun Cannon\nt Armada Navy\nn 2 Outpost\nc New_Alpha!") == ([], [])
    assert [t.name for t in game.races[0].types] == ["Hauler", "Cannon", "Fort"]
    assert game.races[0].fleets[0].name == "Navy"
    assert game.planet(2).name == "Outpost"
    assert game.races[0].name == "New_Alpha"
    assert orders(game, 0, "t Zip Zap")[0] == ["Ship or fleet type not recognized."]
    assert orders(game, 0, "t Cannon Fort")[0] == ["Name already in use for ship type."]
    assert orders(game, 0, "t Cannon CAP")[0] == [
        "Ship name can not be the same as a product name."
    ]
    assert orders(game, 0, "n #4 Mine")[0] == ["Planet not owned by you."]
    assert orders(game, 0, "n 1 Outpost")[0] == ["Name already in use."]
    assert orders(game, 0, "n 1 #7")[0] == [
        "Planet names cannot start with # or contain control characters."
    ]
    assert orders(game, 0, "c Beta")[0] == ["Race name already in use."]
    assert orders(game, 0, "c GM")[0] == ["GM is a reserved name."]
    assert orders(game, 0, "c !!!")[0] == ["No new race name given."]


# --- moving -------------------------------------------------------------------------------


def test_send_split_and_refusals() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 5, 1)
    add_group(game, 0, "Fort", 2, 1)
    assert orders(game, 0, "s 1 3 2") == ([], [])
    groups = game.races[0].groups
    assert (groups[0].ships, groups[0].dist) == (3, 0.0)
    assert (groups[2].number, groups[2].ships, groups[2].where, groups[2].dist) == (3, 2, 3, 30.0)
    assert orders(game, 0, "s 3 1")[0] == ["Group is in hyperspace."]
    assert orders(game, 0, "s 2 3")[0] == ["Ships in this group can't move."]
    assert orders(game, 0, "s 9 3")[0] == ["Group or fleet not recognized."]
    assert orders(game, 0, "s 1 99")[0] == ["Planet not recognized."]
    assert orders(game, 0, "s 1 3 10") == ([], ["Not enough ships, all available used."])


def test_fleets_join_move_together_and_break_up() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 5, 1)
    add_group(game, 0, "Hauler", 2, 1)
    add_group(game, 0, "Gun", 1, 2)
    assert orders(game, 0, "d FLEET Armada\nj 1 Armada\nj 2 Armada 1") == ([], [])
    groups = game.races[0].groups
    assert [g.fleet for g in groups] == [1, None, None, 1]
    assert orders(game, 0, "j 3 Armada")[0] == ["Group is at the wrong planet."]
    assert orders(game, 0, "j 1 Nope")[0] == ["Fleet not recognized."]
    assert orders(game, 0, "s Armada 3") == ([], [])
    assert all(g.where == 3 for g in groups if g.fleet == 1)
    assert orders(game, 0, "j 3 Armada")[0] == ["Fleet is in hyperspace."]
    assert orders(game, 0, "b 1 FLEET")[0] == ["Fleet is in hyperspace."]
    assert orders(game, 0, "b 9 2")[0] == ["Group not recognized."]
    assert orders(game, 0, "b 3 5")[0] == ["Not enough ships in group."]
    assert orders(game, 0, "b 3 FLEET")[0] == ["Group is not in a fleet."]


def test_fleet_to_fleet_join() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 5, 1)
    add_group(game, 0, "Gun", 1, 2)
    orders(game, 0, "d FLEET A\nd FLEET B\nj 1 A\nj 2 B")
    assert orders(game, 0, "j A B")[0] == ["Fleets are not at the same planet."]
    assert orders(game, 0, "j A Nope")[0] == ["Destination fleet not recognized."]
    assert orders(game, 0, "j Nope B")[0] == ["Source Group or fleet not recognized."]
    orders(game, 0, "b 2 FLEET\nd FLEET C\nj 1 C")
    assert orders(game, 0, "j A C") == ([], [])


def test_reverse_only_far_from_landing() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 1, 1)
    assert orders(game, 0, "h 1")[0] == ["Group is not in hyperspace."]
    orders(game, 0, "s 1 4")
    g = game.races[0].groups[0]
    total = g.dist
    g.dist -= 10.0
    assert orders(game, 0, "h 1") == ([], [])
    assert (g.where, g.origin, g.dist) == (1, 4, 10.0)
    assert orders(game, 0, "h 1")[0] == ["Group is too near from landing."]
    assert total > 40
    assert orders(game, 0, "h Nope")[0] == ["Group or fleet not recognized."]


def test_intercept_sets_course_and_flag() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 2, 1)
    assert orders(game, 0, "i 1 4 1") == ([], [])
    g = game.races[0].groups[1]
    assert (g.where, g.intercept, g.ships) == (4, True, 1)
    assert orders(game, 0, "i 1 99")[0] == ["Planet not recognized."]


# --- cargo --------------------------------------------------------------------------------


def test_load_and_unload_cargo() -> None:
    game = game_with_types()
    add_group(game, 0, "Hauler", 4, 1)
    game.planet(1).col = 2.0
    game.planet(1).cap = 100.0
    assert orders(game, 0, "l 1 COL 2") == ([], [])
    loaded = game.races[0].groups[1]
    assert (loaded.ships, loaded.load_type, loaded.load) == (2, COL, 1.0)
    assert game.planet(1).col == 0.0
    assert orders(game, 0, "l 1 CAP AMOUNT 0.5") == ([], [])
    assert game.races[0].groups[0].load == 0.5
    assert game.planet(1).cap == 99.0
    assert orders(game, 0, "u 1 AMOUNT 0.25") == ([], [])
    assert game.races[0].groups[0].load == 0.25
    assert orders(game, 0, "u 1 AMOUNT 5") == (
        [],
        ["Group does not carry that much cargo, using amount=0.25"],
    )
    assert game.races[0].groups[0].load_type is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("l 9 COL", "Group not recognized."),
        ("l 2 COL", "Group cannot carry cargo."),
        ("l 1 FOO", "Cargo type not recognized."),
        ("l 1 MAT", 'No cargo of this type available on "1".'),
        ("l 1 COL AMOUNT 5", "Not enough cargo space available to carry this amount."),
        ("u 1", "No cargo on board."),
        ("u 9", "Group not recognized."),
    ],
)
def test_cargo_refusals(text: str, message: str) -> None:
    game = game_with_types()
    add_group(game, 0, "Hauler", 1, 1)
    add_group(game, 0, "Gun", 1, 1)
    game.planet(1).col = 5.0
    assert orders(game, 0, text)[0] == [message]


def test_cargo_refusals_that_need_state() -> None:
    game = game_with_types()
    add_group(game, 0, "Hauler", 1, 1)
    game.planet(1).col = 5.0
    game.planet(1).cap = 5.0
    orders(game, 0, "l 1 COL")
    assert orders(game, 0, "l 1 COL")[0] == ["Group is fully loaded."]
    orders(game, 0, "u 1 AMOUNT 0.5")
    assert orders(game, 0, "l 1 CAP")[0] == ["Group is already carrying a different load."]
    game.planet(1).col = 0.001
    game.races[0].groups[0].load_type = None
    game.races[0].groups[0].load = 0.0
    assert orders(game, 0, "l 1 COL")[0] == [
        'Not enough cargo available on "1" to load at least 0.01 per ship.'
    ]
    orders(game, 0, "s 1 3")
    assert orders(game, 0, "l 1 CAP")[0] == ["Group is in hyperspace."]


def test_no_colonists_onto_alien_planets() -> None:
    game = game_with_types()
    add_group(game, 0, "Hauler", 1, 4, load_type=COL, load=1.0)
    assert orders(game, 0, "u 1")[0] == ["Can't unload colonists onto an alien planet."]
    assert orders(game, 0, "x 1")[0] == ["Can't unload colonists onto an alien planet."]


def test_unloading_col_on_a_free_planet_colonises_it() -> None:
    game = game_with_types()
    add_group(game, 0, "Hauler", 2, 3, load_type=COL, load=1.0)
    assert orders(game, 0, "u 1") == ([], [])
    assert (game.planet(3).owner, game.planet(3).pop) == (0, 16.0)


def test_routes() -> None:
    game = game_with_types()
    assert orders(game, 0, "r 1 COL 3\nr 1 emp #2") == ([], [])
    assert game.planet(1).routes == {"COL": 3, "EMP": 2}
    assert orders(game, 0, "r 1 COL") == ([], [])
    assert game.planet(1).routes == {"EMP": 2}
    assert orders(game, 0, "r 9 COL 3")[0] == ['Source planet "9" not recognized.']
    assert orders(game, 0, "r 4 COL 3")[0] == ['You do not own planet "4".']
    assert orders(game, 0, "r 1 GOLD 3")[0] == ['Cargo type "GOLD" not recognized.']
    assert orders(game, 0, "r 1 CAP 99")[0] == ['Destination planet "99" not recognized.']


def test_scrap_turns_ships_into_mat() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 3, 1)
    assert orders(game, 0, "x 1 2") == ([], [])
    assert game.planet(1).mat == 2 * 5.0
    assert [g.ships for g in game.races[0].groups] == [1, 0]
    assert orders(game, 0, "x 9")[0] == ["Group not recognized."]


# --- upgrades -----------------------------------------------------------------------------


def test_upgrade_full_and_partial() -> None:
    game = game_with_types()
    race = game.races[0]
    race.drive = race.weapons = 2.0
    add_group(game, 0, "Gun", 2, 1)
    # Per ship 10 * (0.5 * 2 + 0.5 * 2) = 20; planet 1 has 1000 to spend.
    assert orders(game, 0, "g 1") == ([], [])
    g = race.groups[0]
    assert (g.drive, g.weapons, g.shields) == (2.0, 2.0, 1.0)
    assert game.planet(1).spent == 40.0
    race.drive = 4.0
    game.planet(1).spent = 995.0
    errors, warnings = orders(game, 0, "g 1")
    # Now 10 * (1 - 2/4) * 2 = 10 per ship, with 5 left for 2 ships: a quarter of the way.
    assert errors == [] and warnings == ["Partial upgrade: 25% of the way."]
    assert g.drive == 2.5
    assert game.planet(1).spent == pytest.approx(1000.0)
    assert orders(game, 0, "g 1")[0] == ["Planet has no remaining industry."]


def test_upgrade_refusals() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 1, 1)
    add_group(game, 0, "Gun", 1, 4)
    assert orders(game, 0, "g 1") == ([], ["Group is already at current tech levels."])
    assert orders(game, 0, "g 2")[0] == ["Planet is not owned by you."]
    assert orders(game, 0, "g 9")[0] == ["Group not recognized."]


# --- diplomacy, claims, options, map, quit, ignored -----------------------------------------


def test_alliances_and_war() -> None:
    game = tiny_game()
    assert orders(game, 0, "a Beta") == ([], [])
    assert game.races[0].allies == [1] and not game.at_war(0, 1) and game.at_war(1, 0)
    assert orders(game, 0, "w beta") == ([], [])
    assert game.races[0].allies == []
    assert orders(game, 0, "a Gamma")[0] == ["Race not recognized."]
    assert orders(game, 0, "w Gamma")[0] == ["Race not recognized."]


def test_peace_blocks_war() -> None:
    game = tiny_game(peace_turns=5)
    game.turn = 3
    assert orders(game, 0, "w Beta")[0] == ["Galactic Peace enforced until turn 5."]
    game.turn = 5
    assert orders(game, 0, "w Beta") == ([], [])


def test_claims_options_map_quit_and_ignored_orders() -> None:
    game = tiny_game()
    log = TurnLog(turn=1)
    assert orders(game, 0, "v 4\no no autounload\no BattleProtocol\nm 10 20 30", log) == (
        [],
        [],
    )
    assert log.claims == {0: [4]}
    race = game.races[0]
    assert race.options["AUTOUNLOAD"] is False and race.options["BATTLEPROTOCOL"] is True
    assert (race.map_x, race.map_y, race.map_size) == (10.0, 20.0, 30.0)
    assert orders(game, 0, "o Compress")[0] == ["Option not recognized or no longer supported."]
    assert orders(game, 0, "m 1 2 0.5")[0] == ["Size must be at least 1."]
    assert orders(game, 0, "v 99")[0] == ["Planet not recognized."]
    assert orders(game, 0, "q Beta")[0] == ["Race identification not given."]
    assert orders(game, 0, "y secret\nz me@example.org\nf Beta") == (
        [],
        ["Ignored: this engine has no passwords or email addresses."] * 3,
    )
    assert orders(game, 0, "= Jane Doe\nq Alpha") == ([], [])
    assert race.quit and race.real_name == "Jane Doe"


def test_a_refused_line_changes_nothing_and_later_lines_still_run() -> None:
    game = game_with_types()
    errors, _ = orders(game, 0, "p 4 CAP\np 1 MAT")
    assert errors == ["Planet not owned by you."]
    assert game.planet(4).product == "DRIVE" and game.planet(1).product == MAT


def test_phase_two_and_three_orders_run_after_phase_one() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 1, 1)
    # The rename (phase 2) runs after the send (phase 1) even though it comes first.
    assert orders(game, 0, "t Gun Cannon\ns 1 3\nc Omega\na Beta") == ([], [])
    assert game.races[0].types[1].name == "Cannon"
    assert game.races[0].name == "Omega" and game.races[0].allies == [1]
    assert game.planet(1).product == "DRIVE" and game.planet(3).owner is None
    assert CAP == "CAP"


def test_groups_per_race_are_bounded() -> None:
    game = game_with_types()
    add_group(game, 0, "Gun", 6000, 1)
    from galaxy_engine import commands

    for _ in range(commands.MAX_GROUPS - 1):
        add_group(game, 0, "Hauler", 1, 2)
    assert orders(game, 0, "b 1 1")[0] == ["Too many groups (at most 5000); merge or scrap some."]
    assert orders(game, 0, "s 1 3 1")[0] == ["Too many groups (at most 5000); merge or scrap some."]
    assert orders(game, 0, "s 1 3") == ([], [])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a", "No race name given."),
        ("w", "No race name given."),
        ("q", "No race name given."),
        ("f", "No race name given."),
        ("c", "No new race name given."),
        ("=", "No name provided."),
        ("b 1", "Give a group and a ship count or FLEET."),
        ("b 1 x", 'Ship count "x" is not a whole number.'),
        ("d", "No ship type name given."),
        ("d FLEET", "No fleet name given."),
        ("e", "No ship type or fleet name given."),
        ("g", "No group given."),
        ("x", "No group given."),
        ("h", "No group or fleet given."),
        ("s 1", "Give a group or fleet and a planet."),
        ("i 1", "Give a group or fleet and a planet."),
        ("j 1", "Give a group or fleet and a fleet."),
        ("l 1", "Give a group and a cargo type (COL, CAP or MAT)."),
        ("l 1 COL AMOUNT 0.001", "The amount must be at least 0.01 per ship."),
        ("u", "No group given."),
        ("m 1 2 z", "x, y and size must be numbers."),
        ("n 1", "New planet name not provided."),
        ("o", "No option given."),
        ("o no", "No option given."),
        ("p 1", "Give a planet and a product."),
        ("r 1", "Give a planet and a cargo type (COL, CAP, MAT or EMP)."),
        ("t Gun", "New name not provided."),
        ("v", "No planet given."),
        ("y", "No value given."),
        ("z", "No value given."),
        ("k", "Order not recognized."),
        ("#HELLO", "Order not recognized."),
    ],
)
def test_every_form_refusal(line: str, message: str) -> None:
    errors = parse_orders(line).errors
    assert [(e.line, e.order, e.message) for e in errors] == [(1, line, message)]


def test_fleet_refusals() -> None:
    game = game_with_types()
    orders(game, 0, "d FLEET Empty\nd FLEET Static\nd FLEET Moving")
    add_group(game, 0, "Fort", 1, 1)
    add_group(game, 0, "Gun", 1, 1)
    orders(game, 0, "j 1 Static\nj 2 Moving")
    assert orders(game, 0, "s Empty 3")[0] == ["Fleet has no groups."]
    assert orders(game, 0, "s Static 3")[0] == ["Fleet cannot move."]
    assert orders(game, 0, "i Static 3")[0] == ["Fleet cannot move."]
    assert orders(game, 0, "h Moving")[0] == ["Fleet is not in hyperspace."]
    assert orders(game, 0, "s Moving 4") == ([], [])
    assert orders(game, 0, "j Moving Static")[0] == ["First fleet is in hyperspace."]
    assert orders(game, 0, "j Static Moving")[0] == ["Second fleet is in hyperspace."]
    assert orders(game, 0, "e Moving")[0] == ["Group is in hyperspace."]
    assert orders(game, 0, "s Moving 3")[0] == ["Fleet is in hyperspace."]
    assert orders(game, 0, "h Moving") == ([], [])
    game.races[0].groups[1].dist = 1.0
    assert orders(game, 0, "h Moving")[0] == ["Fleet is too near from landing."]


def test_orders_on_groups_in_hyperspace_are_refused() -> None:
    game = game_with_types()
    add_group(game, 0, "Hauler", 1, 1, load_type=COL, load=1.0)
    orders(game, 0, "s 1 4")
    for line in ("g 1", "x 1", "u 1", "i 1 3", "j 1 F"):
        assert orders(game, 0, line)[0] == ["Group is in hyperspace."], line


def test_name_limits() -> None:
    game = game_with_types()
    assert orders(game, 0, f"n 1 {'N' * 21}") == ([], [])
    assert orders(game, 0, f"n 1 {'N' * 22}")[0] == ["Name is too long (at most 21 characters)."]
    assert orders(game, 0, f"c {'R' * 41}")[0] == ["Name is too long (at most 40 characters)."]
    assert orders(game, 0, 'd "a\tb" 1 0 0 0 0') == ([], [])
    assert orders(game, 0, "d {a\x07b} 1 0 0 0 0")[0] == [
        "Names cannot contain control characters."
    ]
    from galaxy_engine import commands

    for i in range(commands.MAX_FLEETS):
        orders(game, 0, f"d FLEET F{i}")
    assert orders(game, 0, "d FLEET Extra")[0] == ["Too many fleets (at most 100)."]
    for i in range(commands.MAX_TYPES - len(game.races[0].types)):
        orders(game, 0, f"d T{i} 1 0 0 0 0")
    assert orders(game, 0, "d Extra 1 0 0 0 0")[0] == ["Too many ship types (at most 200)."]
