"""The order parser: GalaxyNG order syntax (docs/rules.md section 10) into order lines.

One order per line; only the first letter of the first word counts; case-insensitive;
`;` starts a comment; words are separated by blanks or commas, and `"a name"` is one
word with its blanks turned into underscores. An optional `#GALAXY ...` line starts the
orders (lines before it are ignored, like a mail's headers) and `#END` ends them.
`@` starts a message that runs to the next line starting with `@`.

This module checks the form of each line (known order, arguments present, numbers
that are numbers, keywords and names that can be valid): a line refused here can never
be carried out. Whether a well-formed line can be carried out on the state of the game
is `commands`' business.
"""

import math
import re
from dataclasses import dataclass

from galaxy_engine.model import (
    CARGO_TYPES,
    NAME_MAX,
    PRODUCTS,
    RACE_NAME_MAX,
    RACE_OPTIONS,
    ROUTE_TYPES,
)

PHASE_1 = frozenset("@=abdefhijlmopqrsuvwxyz")
PHASE_2 = frozenset("gnt")
PHASE_3 = frozenset("c")
KNOWN = PHASE_1 | PHASE_2 | PHASE_3


@dataclass(frozen=True, slots=True)
class OrderLine:
    line: int
    text: str
    letter: str
    args: tuple[str, ...]
    message: tuple[str, ...] = ()

    @property
    def phase(self) -> int:
        if self.letter in PHASE_2:
            return 2
        if self.letter in PHASE_3:
            return 3
        return 1


@dataclass(frozen=True, slots=True)
class Issue:
    """A refused line (error) or a line carried out with an adjustment (warning)."""

    line: int
    order: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "order": self.order, "message": self.message}


@dataclass(frozen=True, slots=True)
class ParsedOrders:
    lines: tuple[OrderLine, ...]
    errors: tuple[Issue, ...]
    received: tuple[str, ...]


def tokenize(text: str) -> list[str]:
    """Split a line into words the way GalaxyNG's getstr does."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace() or c == ",":
            i += 1
            continue
        if c == ";":
            break
        if c == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            word = "_".join(text[i + 1 : end].split()) if text[i + 1 : end].strip() else ""
            i = end + 1
        elif c == "{":
            end = text.find("}", i + 1)
            end = n if end < 0 else end
            word = text[i + 1 : end]
            i = end + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] not in ",;":
                end += 1
            word = text[i:end]
            i = end
        words.append(word.replace("<", ""))
    return words


def parse_number(word: str) -> float | None:
    try:
        value = float(word)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_count(word: str) -> int | None:
    """A ship count: a whole number (its range is checked where it is used)."""
    try:
        return int(word)
    except ValueError:
        return None


# C's atoi: blanks, a sign, ASCII digits; what follows is ignored (digits capped: any
# count that long means "more than the group has" all the same).
_LEADING_INTEGER = re.compile(r"\s*([+-]?[0-9]{1,18})")


def leading_integer(word: str) -> int | None:
    """The integer a word starts with, as C's atoi reads it; None if it starts with none."""
    found = _LEADING_INTEGER.match(word)
    return int(found.group(1)) if found else None


# Limits against abuse (GalaxyNG has none).
MAX_PART = 10000.0
MAX_GUNS = 1000


class _Form(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Design:
    """A ship design as `d name D A W S C` gives it, parts below 1 forced to 0."""

    drive: float
    attacks: int
    weapons: float
    shields: float
    cargo: float
    warnings: tuple[str, ...]


def ship_design(words: tuple[str, ...]) -> Design:
    """The design of the words after its name; _Form if it can never be built."""
    values = [parse_number(w) or 0.0 for w in words[:5]]
    warnings: list[str] = []
    if len(values) < 5:
        warnings.append("A ship design requires 5 parameters.")
        values += [0.0] * (5 - len(values))
    drive, attacks_f, weapons, shields, cargo = values
    attacks = int(attacks_f)
    if max(drive, weapons, shields, cargo) > MAX_PART or attacks > MAX_GUNS:
        raise _Form(f"Parts are at most {MAX_PART:g}, guns at most {MAX_GUNS}.")
    if 0 < drive < 1:
        warnings.append("drive size should be zero, or greater or equal to 1.")
        drive = 0.0
    if attacks and weapons < 1:
        warnings.append("gun size should be greater or equal to 1.")
        attacks = 0
    if not attacks:
        weapons = 0.0
    if 0 < shields < 1:
        warnings.append("shield size should be zero, or greater or equal to 1.")
        shields = 0.0
    if 0 < cargo < 1:
        warnings.append("cargo size should be zero, or greater or equal to 1.")
        cargo = 0.0
    if not (drive or attacks or shields or cargo):
        raise _Form("At least one component must be non-zero.")
    if cargo and not drive:
        warnings.append("unusual to have cargo ship with no drive.")
    return Design(drive, attacks, weapons, shields, cargo, tuple(warnings))


def name_problem(name: str, kind: str) -> str | None:
    """Why `name` can never name a ship type, a fleet or a planet (`kind`), or None."""
    if len(name) > NAME_MAX:
        return f"Name is too long (at most {NAME_MAX} characters)."
    if kind == "planet":
        if name.startswith("#") or not name.isprintable():
            return "Planet names cannot start with # or contain control characters."
        return None
    if not name.isprintable():
        return "Names cannot contain control characters."
    if kind == "type" and name.upper() in PRODUCTS:
        return "Ship name can not be the same as a product name."
    if kind == "fleet":
        if name[:1].isdigit():
            return "Fleet names cannot have an initial digit."
        if name.casefold() in ("max", "fleet"):
            return f'"{name}" is reserved.'
    return None


def race_name(word: str) -> str:
    """`c`'s new name: trailing non-alphanumerics cut, the others turned into `_`."""
    name = word
    while name and not name[-1].isalnum():
        name = name[:-1]
    return "".join(c if c.isalnum() else "_" for c in name)


def _check_name(name: str, kind: str, empty: str) -> None:
    if not name:
        raise _Form(empty)
    problem = name_problem(name, kind)
    if problem is not None:
        raise _Form(problem)


def _need(args: tuple[str, ...], count: int, what: str) -> None:
    if len(args) < count:
        raise _Form(what)


def _check_count(word: str) -> None:
    value = parse_count(word)
    if value is None:
        raise _Form(f'Ship count "{word}" is not a whole number.')
    if value < 1:
        raise _Form("Ship count must be at least 1.")


def _check_amount_tail(args: tuple[str, ...], start: int) -> None:
    """`[n] [AMOUNT x]` as accepted by l and u."""
    rest = list(args[start:])
    if rest and rest[0].casefold() != "amount":
        _check_count(rest.pop(0))
    if rest:
        if rest[0].casefold() != "amount":
            raise _Form("Expected the keyword AMOUNT.")
        if len(rest) < 2:
            raise _Form("Keyword AMOUNT should be followed by a number.")
        amount = parse_number(rest[1])
        if amount is None:
            raise _Form("Keyword AMOUNT should be followed by a number.")
        if amount < 0.01:
            raise _Form("The amount must be at least 0.01 per ship.")


def check_form(letter: str, args: tuple[str, ...]) -> str | None:
    """The reason a line is malformed, or None."""
    try:
        _check_form(letter, args)
    except _Form as problem:
        return str(problem)
    return None


def _check_race_rename(args: tuple[str, ...]) -> None:
    _need(args, 1, "No new race name given.")
    name = race_name(args[0])
    if not name:
        raise _Form("No new race name given.")
    if name.casefold() == "gm":
        raise _Form("GM is a reserved name.")
    if len(name) > RACE_NAME_MAX:
        raise _Form(f"Name is too long (at most {RACE_NAME_MAX} characters).")


def _check_design(args: tuple[str, ...]) -> None:
    """`d name D A W S C`, or `d FLEET name`."""
    _need(args, 1, "No ship type name given.")
    if args[0].casefold() == "fleet":
        _need(args, 2, "No fleet name given.")
        _check_name(args[1], "fleet", "No fleet name given.")
        return
    _check_name(args[0], "type", "No ship type name given.")
    for word in args[1:6]:
        value = parse_number(word)
        if value is None:
            raise _Form(f'"{word}" is not a number.')
        if value < 0:
            raise _Form("Ship parts cannot be negative.")
    if len(args) > 2 and parse_count(args[2]) is None:
        raise _Form("The number of guns must be a whole number.")
    ship_design(args[1:])


def _check_map_window(args: tuple[str, ...]) -> None:
    _need(args, 3, "Give x, y and size.")
    size = parse_number(args[2])
    if any(parse_number(word) is None for word in args[:3]) or size is None:
        raise _Form("x, y and size must be numbers.")
    if size < 1:
        raise _Form("Size must be at least 1.")


def _check_option(args: tuple[str, ...]) -> None:
    _need(args, 1, "No option given.")
    option = args[0]
    if option.casefold() in ("no", "off"):
        _need(args, 2, "No option given.")
        option = args[1]
    if option.upper() not in RACE_OPTIONS:
        raise _Form("Option not recognized or no longer supported.")


def _check_form(letter: str, args: tuple[str, ...]) -> None:
    """Problems of the line itself, whatever the state: the line can never be carried out."""
    if letter in "aqwf":
        _need(args, 1, "No race name given.")
    elif letter == "c":
        _check_race_rename(args)
    elif letter == "=":
        _need(args, 1, "No name provided.")
    elif letter == "b":
        _need(args, 2, "Give a group and a ship count or FLEET.")
        if args[1].casefold() != "fleet":
            _check_count(args[1])
    elif letter == "d":
        _check_design(args)
    elif letter == "e":
        _need(args, 1, "No ship type or fleet name given.")
    elif letter in "gx":
        # The count of g, j, s and x is read as GalaxyNG reads it (commands: atoi).
        _need(args, 1, "No group given.")
    elif letter == "h":
        _need(args, 1, "No group or fleet given.")
    elif letter in "is":
        _need(args, 2, "Give a group or fleet and a planet.")
        if letter == "i" and len(args) > 2:
            _check_count(args[2])
    elif letter == "j":
        _need(args, 2, "Give a group or fleet and a fleet.")
    elif letter == "l":
        _need(args, 2, "Give a group and a cargo type (COL, CAP or MAT).")
        if args[1].upper() not in CARGO_TYPES:
            raise _Form("Cargo type not recognized.")
        _check_amount_tail(args, 2)
    elif letter == "u":
        _need(args, 1, "No group given.")
        _check_amount_tail(args, 1)
    elif letter == "m":
        _check_map_window(args)
    elif letter == "n":
        _need(args, 2, "New planet name not provided.")
        if len(args) > 2:
            raise _Form("Too many parameters.")
        _check_name(args[1], "planet", "New planet name not provided.")
    elif letter == "o":
        _check_option(args)
    elif letter == "p":
        _need(args, 2, "Give a planet and a product.")
        if not args[0]:
            raise _Form("Planet not recognized.")
        if not args[1]:
            raise _Form('Production type "" not recognized.')
    elif letter == "r":
        _need(args, 2, "Give a planet and a cargo type (COL, CAP, MAT or EMP).")
        if args[1].upper() not in ROUTE_TYPES:
            raise _Form(f'Cargo type "{args[1]}" not recognized.')
    elif letter == "t":
        _need(args, 2, "New name not provided.")
        if not args[1]:
            raise _Form("New name not provided.")
    elif letter == "v":
        _need(args, 1, "No planet given.")
    elif letter in "yz":
        _need(args, 1, "No value given.")


def order_lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines that are orders: inside #GALAXY ... #END when present."""
    raw = text.splitlines()
    start = 0
    for index, line in enumerate(raw):
        if line.lstrip().upper().startswith("#GALAXY"):
            start = index + 1
            break
    numbered: list[tuple[int, str]] = []
    for index in range(start, len(raw)):
        line = raw[index]
        if line.lstrip().upper().startswith("#END"):
            break
        numbered.append((index + 1, line))
    return numbered


def parse_orders(text: str) -> ParsedOrders:
    """Every order line with its form checked; malformed lines are errors and dropped."""
    lines: list[OrderLine] = []
    errors: list[Issue] = []
    received: list[str] = []
    numbered = order_lines(text)
    i = 0
    while i < len(numbered):
        number, raw = numbered[i]
        i += 1
        stripped = raw.strip()
        words = tokenize(stripped)
        if not words or not words[0]:
            if stripped and not stripped.startswith(";"):
                received.append(stripped)
            continue
        received.append(stripped)
        letter = words[0][0].lower()
        args = tuple(words[1:])
        if words[0].startswith("@"):
            letter = "@"
            body: list[str] = []
            while i < len(numbered) and not numbered[i][1].lstrip().startswith("@"):
                body.append(numbered[i][1].rstrip())
                received.append(numbered[i][1].strip())
                i += 1
            if i < len(numbered):
                received.append(numbered[i][1].strip())
                i += 1
            recipients = tuple(w for w in (words[0][1:], *args) if w)
            lines.append(OrderLine(number, stripped, "@", recipients, tuple(body)))
            continue
        if letter not in KNOWN:
            errors.append(Issue(number, stripped, "Order not recognized."))
            continue
        problem = check_form(letter, args)
        if problem is not None:
            errors.append(Issue(number, stripped, problem))
            continue
        lines.append(OrderLine(number, stripped, letter, args))
    return ParsedOrders(tuple(lines), tuple(errors), tuple(received))
