"""Postal addresses: street with abbreviations expanded, house number, postal code, country.

Street-type abbreviations per locale come from `identity/data/street_abbreviations.csv`
(hu: u. -> utca, krt. -> korut; pl: ul. -> ulica, al. -> aleje, pl. -> plac; en: st -> street,
rd -> road). The record's country picks the locale; without one every table applies.
"""

from __future__ import annotations

import re
from functools import lru_cache

from identity.folding import fold, fold_words, text_or_none
from identity.nicknames import read_table

__all__ = [
    "normalise_country",
    "normalise_house_number",
    "normalise_postal_code",
    "normalise_street",
    "split_house_number",
    "street_name",
]

_LOCALE_OF_COUNTRY = {
    "HU": ("hu",),
    "PL": ("pl",),
    **{c: ("en",) for c in ("GB", "US", "IE", "CA", "AU", "NZ", "ZA", "IL")},
}
_ALL_LOCALES = ("hu", "pl", "en")

_Expansions = dict[str, str]


@lru_cache(maxsize=8)
def _expansions(locales: tuple[str, ...]) -> tuple[_Expansions, _Expansions]:
    """(anywhere, last word only) abbreviation -> expansion, for the locales in order."""
    anywhere: _Expansions = {}
    last: _Expansions = {}
    rows = list(read_table("street_abbreviations.csv", 4))
    for locale in locales:
        for row_locale, abbreviation, expansion, where in rows:
            if row_locale != locale:
                continue
            if where not in ("any", "last"):
                raise ValueError(
                    f"identity/data/street_abbreviations.csv: where must be any or last, "
                    f"got {where!r} for {abbreviation!r}"
                )
            table = anywhere if where == "any" else last
            table.setdefault(fold(abbreviation), fold(expansion))
    return anywhere, last


@lru_cache(maxsize=1 << 17)
def _normalise_street(text: str, country: str | None) -> str | None:
    anywhere, last = _expansions(_LOCALE_OF_COUNTRY.get(country or "", _ALL_LOCALES))
    words = fold_words(text).split()
    if not words:
        return None
    end = len(words) - 1
    expanded = [
        last.get(w) or anywhere.get(w, w) if i == end else anywhere.get(w, w)
        for i, w in enumerate(words)
    ]
    return " ".join(expanded)


@lru_cache(maxsize=1)
def _street_types() -> frozenset[str]:
    """Every expansion in the table (utca, ulica, street, drive...): the street's type."""
    anywhere, last = _expansions(_ALL_LOCALES)
    return frozenset(w for table in (anywhere, last) for v in table.values() for w in v.split())


def street_name(street: str) -> str | None:
    """A normalised street without its type words: "kossuth lajos utca" -> "kossuth lajos".

    Similar spelling is judged on the name: "walker drive" and "clarke drive", or "ulica
    szarych szeregow" and "ulica boleslawa chrobrego", share only what every street has.
    """
    types = _street_types()
    words = [w for w in street.split() if w not in types]
    return " ".join(words) or street


def normalise_street(street: str | None, country: str | None = None) -> str | None:
    """The street folded, abbreviations expanded (u. -> utca, ul. -> ulica, st -> street)."""
    text = text_or_none(street)
    return None if text is None else _normalise_street(text, country.upper() if country else None)


_TRAILING_NUMBER = re.compile(
    r"(?P<street>.*?\D)[\s,]+(?P<number>\d+\s*[a-zA-Z]?(?:\s*[/-]\s*\d*\s*[a-zA-Z]?)*)\.?"
)
_LEADING_NUMBER = re.compile(r"(?P<number>\d+[a-zA-Z]?(?:-\d+[a-zA-Z]?)?)[\s,]+(?P<street>\D.*)")


def split_house_number(street: str) -> tuple[str, str | None]:
    """The street and the house number written into it ("Kossuth u. 12/A", "10 Downing St")."""
    text = street.strip()
    match = _TRAILING_NUMBER.fullmatch(text) or _LEADING_NUMBER.fullmatch(text)
    if match is None:
        return text, None
    return match.group("street").strip(" ,"), match.group("number")


_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


@lru_cache(maxsize=1 << 14)
def _normalise_house_number(text: str) -> str | None:
    return _DIGIT_LETTER.sub(" ", fold(text)) or None


def normalise_house_number(value: object) -> str | None:
    """The house number folded, digits and letters apart ("12/A", "12a" -> "12 a")."""
    text = text_or_none(value)
    return None if text is None else _normalise_house_number(text)


_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_LETTER_PREFIXED = re.compile(r"[A-Z]{1,2}(?=\d{3,}$)")
_NUMERIC_POSTCODES = frozenset(
    {
        "HU", "PL", "DE", "AT", "CH", "IL", "IT", "FR", "ES", "SK", "CZ", "RO", "BG", "HR", "SI",
        "RS", "UA", "DK", "NO", "SE", "FI", "BE", "LU", "LT", "LV", "EE", "GR"
    }
)  # fmt: skip


@lru_cache(maxsize=1 << 16)
def _normalise_postal_code(text: str, country: str | None) -> str | None:
    code = _NOT_ALNUM.sub("", text.upper())
    if country in _NUMERIC_POSTCODES:  # "H-1051" is 1051 in Hungary, "D-10115" in Germany
        code = _LETTER_PREFIXED.sub("", code)
    return code or None


def normalise_postal_code(code: object, country: str | None = None) -> str | None:
    """The postal code in upper case without spaces or dashes ("31-001" -> "31001")."""
    text = text_or_none(code)
    if text is None:
        return None
    return _normalise_postal_code(text, country.upper() if country else None)


_COUNTRY_NAMES = {
    fold(name): code
    for code, names in {
        "HU": "Hungary|Magyarország|Magyarorszag|Ungarn|Węgry|HUN",
        "PL": "Poland|Polska|Polen|Lengyelország|POL",
        "IL": "Israel|Izrael|ISR",
        "GB": "United Kingdom|Great Britain|England|Scotland|Wales|UK|GBR",
        "US": "United States|United States of America|USA",
        "DE": "Germany|Deutschland|Németország|Niemcy|DEU",
        "AT": "Austria|Österreich|Ausztria|AUT",
        "SK": "Slovakia|Slovensko|Szlovákia|SVK",
        "RO": "Romania|România|Románia|ROU",
        "CZ": "Czech Republic|Czechia|Česko|Csehország|CZE",
        "UA": "Ukraine|Україна|Ukrajna|UKR",
    }.items()
    for name in names.split("|")
}


@lru_cache(maxsize=1024)
def normalise_country(value: object) -> str | None:
    """The country as an upper-case ISO-2 code ("hu", "Hungary", "HUN" -> "HU")."""
    text = text_or_none(value)
    if text is None:
        return None
    code = text.upper()
    if len(code) == 2 and code.isalpha():
        return "GB" if code == "UK" else code
    return _COUNTRY_NAMES.get(fold(text))
