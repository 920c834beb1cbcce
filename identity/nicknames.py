"""Nickname tables: which given names are one name (Pista = István, Bill = William, Avi = Avraham).

The tables live in `identity/data/` as CSV, spelled as people write the names and folded on
load:

* `nicknames.csv` - per locale (hu, pl, he, en) a name and its nicknames, diminutives and
  transliteration variants. Rows with the same folded name are one group, whatever the locale.
* `name_equivalents.csv` - groups that are one name in another script or language
  (Yosef = Joseph); the first name of a row is the canonical form of all of them.
* `given_names.csv` - further common given names per locale; with the nickname tables they are
  the evidence `identity.names` uses to tell a given name from a family name.

A variant that belongs to two groups that are not equivalent (Alex: Alexander or Alexandra)
has no single canonical form: `canonical_given` leaves it as it is and `nickname_canons`
returns every candidate, for comparators that test overlap.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from identity.folding import fold

__all__ = [
    "LOCALES",
    "NameTables",
    "canonical_given",
    "is_given_name",
    "name_tables",
    "nickname_canons",
    "read_table",
]

LOCALES = ("hu", "pl", "he", "en")


def read_table(filename: str, columns: int) -> Iterator[list[str]]:
    """The rows of a CSV table in identity/data/ (comments and the header skipped)."""
    text = resources.files("identity").joinpath("data", filename).read_text(encoding="utf-8")
    rows = csv.reader(line for line in text.splitlines() if line and not line.startswith("#"))
    next(rows)  # header
    for number, row in enumerate(rows, start=2):
        if len(row) != columns:
            raise ValueError(
                f"identity/data/{filename}: data row {number} has {len(row)} columns, expected "
                f"{columns} - check for a stray comma in {row!r}"
            )
        yield [cell.strip() for cell in row]


@dataclass(frozen=True, slots=True)
class NameTables:
    """The folded given-name tables: groups, their canonical forms, and known given names."""

    canon_of_head: dict[str, str]
    """Each group's head (a name with its own row) -> the canonical form of its group."""
    canons_of_name: dict[str, frozenset[str]]
    """Every head and variant -> the canonical forms of the groups it belongs to."""
    given_by_locale: dict[str, frozenset[str]]
    """Known given names (heads, variants, further common names) per locale."""
    given: frozenset[str]
    """Known given names of every locale."""


def _load() -> NameTables:
    members: dict[str, set[str]] = {}  # head -> head and variants
    given_by_locale: dict[str, set[str]] = {locale: set() for locale in LOCALES}
    for locale, name, variants in read_table("nicknames.csv", 3):
        head = fold(name)
        folded = {head, *(fold(v) for v in variants.split())} - {""}
        members.setdefault(head, set()).update(folded)
        given_by_locale.setdefault(locale, set()).update(folded)
    for locale, names in read_table("given_names.csv", 2):
        given_by_locale.setdefault(locale, set()).update(fold(n) for n in names.split())

    canon_of_head = {head: head for head in members}
    for canonical, equivalents in read_table("name_equivalents.csv", 2):
        heads = [fold(canonical), *(fold(e) for e in equivalents.split())]
        unknown = [h for h in heads if h not in members]
        if unknown:
            raise ValueError(
                f"identity/data/name_equivalents.csv: {unknown} head no row of nicknames.csv"
            )
        for head in heads:
            canon_of_head[head] = heads[0]

    canons: dict[str, set[str]] = {}
    for head, group in members.items():
        for name in group:
            canons.setdefault(name, set()).add(canon_of_head[head])
    return NameTables(
        canon_of_head=canon_of_head,
        canons_of_name={name: frozenset(c) for name, c in canons.items()},
        given_by_locale={loc: frozenset(names) for loc, names in given_by_locale.items()},
        given=frozenset().union(*given_by_locale.values()),
    )


@lru_cache(maxsize=1)
def name_tables() -> NameTables:
    """The given-name tables, loaded once from identity/data/."""
    return _load()


@lru_cache(maxsize=1 << 16)
def canonical_given(name: str) -> str:
    """The given name's canonical form through the nickname tables (pista -> istvan)."""
    folded = fold(name)
    tables = name_tables()
    head_canon = tables.canon_of_head.get(folded)
    if head_canon is not None:
        return head_canon
    canons = tables.canons_of_name.get(folded)
    if canons is not None and len(canons) == 1:
        return next(iter(canons))
    if canons is None and " " in folded:  # a compound such as anna-maria: its first name
        return canonical_given(folded.split(" ", 1)[0])
    return folded


def nickname_canons(name: str) -> frozenset[str]:
    """Every canonical form the given name may stand for (alex -> alexander, alexandra)."""
    folded = fold(name)
    tables = name_tables()
    canons = set(tables.canons_of_name.get(folded, ()))
    head_canon = tables.canon_of_head.get(folded)
    if head_canon is not None:
        canons.add(head_canon)
    return frozenset(canons) if canons else frozenset({folded})


def is_given_name(name: str, locale: str | None = None) -> bool:
    """The folded name is a known given name (of the locale, or of any locale)."""
    tables = name_tables()
    known = tables.given if locale is None else tables.given_by_locale.get(locale, frozenset())
    return name in known
