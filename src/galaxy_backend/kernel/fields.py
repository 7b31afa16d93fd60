"""Input types shared by every domain: what a client sends must be safe for PostgreSQL.

PostgreSQL refuses NUL in text and lone surrogates do not encode, so an unchecked string
becomes a 500; a naive datetime or an integer past int64 does the same. Every string,
moment and integer of the API is one of these types, so bad input is a 422 naming the field.
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from annotated_types import GroupedMetadata, MaxLen, MinLen
from pydantic import AfterValidator, AwareDatetime, Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Control characters, surrogates, private use, unassigned code points, line separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_MULTILINE_ALLOWED = frozenset("\n\t")


def refused_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character that may not be stored, if any."""
    if value.isascii() and value.isprintable():
        return None  # the common case, decided without a per-character loop
    for ch in value:
        if multiline and ch in _MULTILINE_ALLOWED:
            continue
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return ch
    return None


@dataclass(frozen=True, slots=True)
class Text(GroupedMetadata):
    """`Annotated[str, Text(64)]`: at most that many characters, nothing PostgreSQL or a log
    would choke on; single-line unless `multiline` (then newlines and tabs are kept)."""

    max_length: int
    min_length: int = 1
    multiline: bool = False
    strip: bool = True

    def __iter__(self) -> Iterator[object]:
        yield MinLen(self.min_length)
        yield MaxLen(self.max_length)
        yield AfterValidator(self._check)

    def _check(self, value: str) -> str:
        if self.strip:
            value = value.strip()
            if len(value) < self.min_length:
                raise ValueError("must not be blank")
        if self.multiline:
            value = value.replace("\r\n", "\n")
        bad = refused_character(value, multiline=self.multiline)
        if bad is not None:
            raise ValueError(
                f"must not contain control or unassigned characters (U+{ord(bad):04X})"
            )
        return value


@dataclass(frozen=True, slots=True)
class Secret(GroupedMetadata):
    """`Annotated[str, Secret(1024)]`: a password; any characters but NUL, which no hash
    library takes safely."""

    max_length: int

    def __iter__(self) -> Iterator[object]:
        yield MinLen(1)
        yield MaxLen(self.max_length)
        yield AfterValidator(self._check)

    @staticmethod
    def _check(value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL")
        return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


# A moment with its time zone, normalised to UTC (the offset could push it out of range).
Moment = Annotated[AwareDatetime, AfterValidator(_utc)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


def clean_header_text(value: bytes | None, max_length: int = 256) -> str | None:
    """A header value fit to store (a user agent): refused characters dropped, length bounded."""
    if not value:
        return None
    text = value.decode("latin-1")
    if refused_character(text) is not None:
        text = "".join(ch for ch in text if refused_character(ch) is None)
    return text[:max_length] or None


# An opaque list position as this API hands it out (decoded by the domain that made it).
Cursor = Annotated[str, Text(200)]
