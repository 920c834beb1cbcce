"""Person names: split into given, middle and family name, whatever order they were written in.

`parse_person_name(given, family, full, country)` takes a record's name fields and returns a
folded `PersonName`. Titles and generational markers (Dr., Mr., ifj., id., Jr.) are dropped,
initials are kept as one-letter given names, and the order is decided from evidence:

* a known given name (nickname tables and `given_names.csv`) or an initial is given-name
  evidence; a known family name (`family_names.csv`) is family-name evidence;
* "Kovács Anna" has a family name first and a given name last, so it is family-name-first
  (Hungarian order); "Anna Kovács" is not; with no evidence either way a Hungarian record
  (country HU, or ő/ű in the name) is read family-name-first, any other Western order;
* given/family fields filled the wrong way round (given_name="Kovács", family_name="Anna")
  are swapped only when the evidence comes from both fields: a known family name in the
  given field and a known given name in the family field (given_name="Mercedes",
  family_name="Terry" stays: Terry is also a given name, and the fields say otherwise).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from identity.folding import fold, text_or_none
from identity.nicknames import canonical_given, is_given_name, read_table

__all__ = [
    "PersonName",
    "family_first_evidence",
    "is_family_name",
    "name_tokens",
    "parse_clean_name",
    "parse_person_name",
]

TITLES = frozenset(
    {
        "dr", "drs", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame", "rev",
        "fr", "ing", "mgr", "inz", "hab", "phd", "md", "dds", "esq", "jr", "sr", "ii", "iii", "iv",
        "ifj", "ifjabb", "id", "idosebb", "ozv", "rabbi", "rav", "hr", "herr", "frau", "dipl",
        "mag", "dott", "med", "univ", "lic"
    }
)  # fmt: skip
"""Folded titles and generational markers, dropped from person names."""

PARTICLES = frozenset(
    {
        "van", "von", "der", "den", "de", "del", "della", "dalla", "di", "da", "dos", "das", "du",
        "la", "le", "ten", "ter", "bin", "ben", "ibn", "al", "el"
    }
)  # fmt: skip
"""Folded particles that start a Western family name (van der Berg, de la Cruz, Ben Gurion)."""

_SEPARATORS = re.compile(r"[\s.,;]+")
_HUNGARIAN_LETTERS = frozenset("őŐűŰ")


class PersonName(NamedTuple):
    """A person's name, folded: first given name, further given names, family name."""

    given: str | None
    middle: str | None
    family: str | None

    @property
    def full_name(self) -> str | None:
        """'given middle family' in that order."""
        parts = [p for p in (self.given, self.middle, self.family) if p]
        return " ".join(parts) or None

    @property
    def given_initial(self) -> str | None:
        """The first letter of the given name."""
        return self.given[0] if self.given else None

    @property
    def given_canon(self) -> str | None:
        """The given name through the nickname tables."""
        return canonical_given(self.given) if self.given else None


EMPTY = PersonName(None, None, None)


@lru_cache(maxsize=1)
def _family_names() -> frozenset[str]:
    return frozenset(
        fold(name) for _, names in read_table("family_names.csv", 2) for name in names.split()
    )


@lru_cache(maxsize=1)
def _hungarian_family_names() -> frozenset[str]:
    return frozenset(
        fold(name)
        for locale, names in read_table("family_names.csv", 2)
        if locale == "hu"
        for name in names.split()
    )


@lru_cache(maxsize=1 << 16)
def is_family_name(token: str) -> bool:
    """The folded token is, or (hyphenated) contains, a known family name."""
    families = _family_names()
    return token in families or (" " in token and any(p in families for p in token.split()))


@lru_cache(maxsize=1 << 16)
def _is_given(token: str) -> bool:
    """An initial, a known given name, or a compound of known given names (anna-maria)."""
    if len(token) == 1 or is_given_name(token):
        return True
    return " " in token and all(is_given_name(part) for part in token.split())


def family_first_evidence(first: str, last: str) -> int:
    """How strongly two folded name tokens read family-name-first (> 0) or given-first (< 0)."""
    return _is_given(last) - _is_given(first) + is_family_name(first) - is_family_name(last)


@lru_cache(maxsize=1 << 17)
def name_tokens(text: str) -> tuple[str, ...]:
    """The folded words of a name with titles dropped; hyphenated names stay one word."""
    tokens = [t for t in (fold(p) for p in _SEPARATORS.split(text)) if t]
    kept = [t for t in tokens if t not in TITLES]
    return tuple(kept if kept else tokens)


def _split_given(given: str, middle: list[str], family: list[str]) -> PersonName:
    first, _, rest = given.partition(" ")  # anna-maria: given anna, middle maria
    middle_parts = [rest, *middle] if rest else middle
    return PersonName(first, " ".join(middle_parts) or None, " ".join(family) or None)


def _family_first(tokens: tuple[str, ...], initials: tuple[str, ...] = ()) -> PersonName:
    at = next((i for i in range(1, len(tokens)) if _is_given(tokens[i])), 1)
    return _split_given(tokens[at], [*tokens[at + 1 :], *initials], list(tokens[:at]))


def _given_first(tokens: tuple[str, ...]) -> PersonName:
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1] in PARTICLES:
        start -= 1
    return _split_given(tokens[0], list(tokens[1:start]), list(tokens[start:]))


def _one_token(token: str) -> PersonName:
    return _split_given(token, [], []) if _is_given(token) else PersonName(None, None, token)


def _hungarian(text: str, first: str, country: str | None) -> bool:
    if country is not None:
        return country == "HU"
    return not _HUNGARIAN_LETTERS.isdisjoint(text) or first in _hungarian_family_names()


# two or three capitals with no vowel: initials ("RC", "JMK"), not a name — but for the few
# family names written without a vowel
_INITIALS = re.compile(r"[B-DF-HJ-NP-TV-XZ]{2,3}")
_VOWELLESS_NAMES = frozenset({"ng"})


def _parse_full(full: str, country: str | None) -> PersonName:
    if "," in full:  # "Kovács, Anna" - unless what follows the comma is only a title
        before, after = full.split(",", 1)
        family, given = name_tokens(before), name_tokens(after)
        if family and given and not all(t in TITLES for t in given):
            return _split_given(given[0], list(given[1:]), list(family))
    tokens = name_tokens(full)
    if not tokens:
        return EMPTY
    if len(tokens) == 1:
        if _INITIALS.fullmatch(full) and tokens[0] not in _VOWELLESS_NAMES:
            tokens = tuple(tokens[0])  # "RC", a display name of initials: as "R. C."
        else:
            return _one_token(tokens[0])
    first, last = tokens[0], tokens[-1]
    if len(last) == 1 and len(first) > 1 and not is_family_name(first):
        if len(tokens) > 2 and (
            family_first_evidence(first, tokens[-2]) > 0
            or (full.isupper() and not _is_given(first))
        ):
            # "CHADRIDGE ROBERT A", as a bank writes the account holder: family name first,
            # then the given name and a middle initial (in capitals, a display name is not)
            return _family_first(tokens[:-1], tokens[-1:])
        # "John S." (a display name: the family name's initial), not "Kovács A."
        return _split_given(tokens[0], list(tokens[1:-1]), [])
    evidence = family_first_evidence(tokens[0], tokens[-1])
    if evidence > 0 or (evidence == 0 and _hungarian(full, tokens[0], country)):
        return _family_first(tokens)
    return _given_first(tokens)


def _parse_fields(given: str | None, family: str | None, country: str | None) -> PersonName:
    g = name_tokens(given) if given else ()
    f = name_tokens(family) if family else ()
    if g and f:
        # the fields' own labels are evidence too: swapped only when both sides say so
        # (a known family name in the given field, a known given name in the family
        # field), not because Terry is also a given name
        if family_first_evidence(g[0], f[-1]) >= 2:
            g, f = f, g
        return _split_given(g[0], list(g[1:]), list(f))
    if given and len(g) > 1 and any(is_family_name(t) for t in g):  # all in the given field
        return _parse_full(given, country)
    if family and len(f) > 1 and any(_is_given(t) for t in f):  # all in the family field
        return _parse_full(family, country)
    if g:
        return _split_given(g[0], list(g[1:]), [])
    if f:
        return PersonName(None, None, " ".join(f))
    return EMPTY


def parse_person_name(
    given: str | None, family: str | None, full: str | None, country: str | None = None
) -> PersonName:
    """The person's given, middle and family name, folded, in the right order."""
    return parse_clean_name(
        text_or_none(given),
        text_or_none(family),
        text_or_none(full),
        country.upper() if country else None,
    )


def parse_clean_name(
    given: str | None, family: str | None, full: str | None, country: str | None
) -> PersonName:
    """parse_person_name for stripped non-empty text (or None) and an upper-case country."""
    if given and family:
        return _parse_fields(given, family, country)
    if full:
        return _parse_full(full, country)
    return _parse_fields(given, family, country)
