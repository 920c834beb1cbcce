"""The Standardise stage: CustomerRecord dicts in, the standardised frame (`identity.frame`) out.

`standardise(records)` folds and normalises every value the later stages compare: names split
and put in order (Hungarian family-name-first resolved), nicknames resolved, e-mails, phones,
dates, tax ids, addresses and postal codes normalised, placeholders blanked and listed.

It is built for millions of records. Values repeat heavily (the same person in several
sources, common names, cities, streets), so each column is standardised once per distinct
value in the batch, and the per-word functions underneath (folding, nickname and name-table
look-ups, street names, postal codes) are memoised across batches. The DataFrame is assembled
column-wise at the end; nothing is done per record in pandas.

The per-value functions are re-exported here so that callers need one import.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from identity.addresses import (
    normalise_country,
    normalise_house_number,
    normalise_postal_code,
    normalise_street,
    split_house_number,
)
from identity.contact import (
    country_of_email,
    email_local,
    normalise_date,
    normalise_email,
    normalise_tax_id,
)
from identity.folding import fold, fold_or_none, text_or_none
from identity.frame import COLUMNS
from identity.names import PersonName, parse_clean_name, parse_person_name
from identity.nicknames import canonical_given, nickname_canons
from identity.organisations import has_legal_form, strip_legal_form
from identity.phones import normalise_phone, parse_phone, unverified_phone
from identity.placeholders import (
    PLACEHOLDER_FIELDS,
    is_placeholder,
    is_placeholder_email,
    placeholder_text,
)

__all__ = [
    "PersonName",
    "canonical_given",
    "email_local",
    "fold",
    "is_placeholder",
    "nickname_canons",
    "normalise_country",
    "normalise_date",
    "normalise_email",
    "normalise_house_number",
    "normalise_phone",
    "normalise_postal_code",
    "normalise_street",
    "normalise_tax_id",
    "parse_person_name",
    "split_house_number",
    "standardise",
    "strip_legal_form",
]

PERSON, ORGANIZATION = "person", "organization"
_KINDS = {
    "person": PERSON,
    "individual": PERSON,
    "natural person": PERSON,
    "organization": ORGANIZATION,
    "organisation": ORGANIZATION,
    "company": ORGANIZATION,
    "business": ORGANIZATION,
    "org": ORGANIZATION,
}

_NameCell = tuple[
    str,  # kind
    str | None,  # given
    str | None,  # given_canon
    str | None,  # given_initial
    str | None,  # middle
    str | None,  # family
    str | None,  # full_name
    str | None,  # org
]
_Cell = tuple[str | None, bool]  # (value or None, the raw value was a placeholder)


def _as_is(text: str) -> str:
    return text


def _screened(field: str, normalise: Callable[[str], str | None] = _as_is) -> Callable[..., _Cell]:
    """value -> (normalised text or None, was a placeholder) for one field."""

    def cell(raw: object) -> _Cell:
        text = raw.isoformat() if isinstance(raw, dt.date) else text_or_none(raw)
        if text is None:
            return None, False
        if placeholder_text(field, text):
            return None, True
        return normalise(text), False

    return cell


# role mailboxes (RFC 2142 and their everyday kin): an address of the organisation, not of a
# person. A record written as a person whose name is its role mailbox's domain ("Ayers"
# <accounts@ayers.com>, a help-desk requester) is that organisation.
_ROLE_LOCALS = frozenset(
    {
        "info", "office", "billing", "accounts", "accounting", "sales", "contact", "admin",
        "support", "hello", "mail", "team", "orders", "service", "enquiries", "inquiries",
        "help", "finance", "invoices", "invoice", "reception", "post", "kontakt", "biuro",
        "iroda", "buero", "bureau", "contacto", "hr", "marketing", "purchasing",
    }
)  # fmt: skip


def _role_domain(email: str | None) -> str | None:
    """The letters of a role mailbox's domain name (accounts@ayers.com -> ayers), else None."""
    if email is None:
        return None
    local, _, domain = email.partition("@")
    if local not in _ROLE_LOCALS:
        return None
    label = "".join(c for c in domain.split(".", 1)[0] if "a" <= c <= "z")
    return label if len(label) >= 3 else None


def _names_the_domain(domain: str, *names: str | None) -> bool:
    """The name, in letters, is the role mailbox's domain name."""
    written = "".join(n for n in names if n)
    return "".join(c for c in fold(written) if "a" <= c <= "z") == domain


def _kind(raw: object) -> str | None:
    return None if raw is None else _KINDS.get(fold(str(raw)))


def _name_cell(
    given: str | None,
    family: str | None,
    full: str | None,
    org: str | None,
    kind: str | None,
    country: str | None,
    role_domain: str | None = None,
) -> _NameCell:
    """The name columns from screened text (placeholders already blanked); `role_domain`,
    the domain name of the record's role mailbox (see `_role_domain`)."""
    if (
        role_domain is not None
        and kind != ORGANIZATION
        and not org
        and _names_the_domain(role_domain, *((full,) if full else (given, family)))
    ):
        kind = ORGANIZATION
    if kind is None:
        if org and not (given or family or full):
            kind = ORGANIZATION
        elif not (org or given or family) and full and has_legal_form(full):
            kind, org, full = ORGANIZATION, full, None  # "Acme Kft." in the name field
        else:
            kind = PERSON
    if kind == ORGANIZATION:
        name = org or full or " ".join(p for p in (given, family) if p)
        org_folded = (strip_legal_form(name) or None) if name else None
        return kind, None, None, None, None, None, None, org_folded
    person = parse_clean_name(given, family, full, country)
    return (
        kind,
        person.given,
        person.given_canon,
        person.given_initial,
        person.middle,
        person.family,
        person.full_name,
        (strip_legal_form(org) or None) if org else None,
    )


def _email_cell(raw: object) -> _Cell:
    text = text_or_none(raw)
    if text is None:
        return None, False
    email = normalise_email(text)
    if email is None:  # not an e-mail: "n/a" and the like are placeholders, the rest invalid
        return None, "@" not in text and placeholder_text("email", text)
    local, _, domain = email.partition("@")
    return (None, True) if is_placeholder_email(local, domain) else (email, False)


def _phone_cell(raw: object, country: str | None) -> tuple[str | None, str | None, bool]:
    text = text_or_none(raw)
    if text is None:
        return None, None, False
    if placeholder_text("phone", text):
        return None, None, True
    parsed = parse_phone(text, country)
    if parsed:
        return parsed[0], parsed[1] or None, False
    return unverified_phone(text, country), None, False  # not valid: compared as written


def _street_cell(
    street: str | None, number: str | None, country: str | None
) -> tuple[str | None, str | None]:
    """Street and house number from screened text; a number written into the street split."""
    if street is not None and number is None:
        street, number = split_house_number(street)
    return normalise_street(street, country), normalise_house_number(number)


def _postal_cell(code: str | None, country: str | None) -> str | None:
    return None if code is None else normalise_postal_code(code, country)


def _timestamp(value: object) -> str | None:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return text_or_none(value)


def _hashable(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return str(value)
    return value


def _apply(function: Callable[..., Any], *columns: list[Any]) -> list[Any]:
    """function over the rows of the columns, called once per distinct row.

    Values repeat within a batch (the same person in several sources, common names, cities):
    the distinct rows are found with one dict, so repeats cost a lookup however far apart
    they are. Unhashable values (a list in a field) are read as text.
    """
    keys: list[Any] = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
    try:
        results = dict.fromkeys(keys)
    except TypeError:  # rare: pay for a second pass only then
        columns = tuple(list(map(_hashable, c)) for c in columns)
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        results = dict.fromkeys(keys)
    if len(columns) == 1:
        for key in results:
            results[key] = function(key)
    else:
        for key in results:
            results[key] = function(*key)
    return list(map(results.__getitem__, keys))


def _unzip(cells: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(map(itemgetter(k), cells)) for k in range(width)]


def standardise(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The standardised frame of the records: `identity.frame.COLUMNS`, one row per record."""
    rows: Sequence[Mapping[str, Any]] = records if isinstance(records, list) else list(records)
    # Millions of small tuples and no cycles among them: the cyclic collector would only
    # re-scan them again and again (a third of the stage's time), so it pauses meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _standardise(rows)
    finally:
        if collecting:
            gc.enable()


def _standardise(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    n = len(rows)

    def column(key: str) -> list[Any]:
        try:  # dict.get mapped in C: a third of the time of a comprehension
            return list(map(dict.get, rows, repeat(key)))  # type: ignore[arg-type]
        except TypeError:  # a Mapping that is not a dict
            return [r.get(key) for r in rows]

    # Screening (placeholders out) and single-value fields: one pass per column over its
    # distinct values. Fields that need another one (the country, the house number) follow.
    screened: dict[str, list[str | None]] = {}
    placeholder: dict[str, list[bool]] = {}
    for field, key, normalise in (
        ("given", "given_name", _as_is),
        ("family", "family_name", _as_is),
        ("full_name", "full_name", _as_is),
        ("org", "organization_name", _as_is),
        ("birth_date", "birth_date", normalise_date),
        ("tax_id", "tax_id", normalise_tax_id),
        ("street", "street", _as_is),
        ("house_number", "house_number", _as_is),
        ("postal_code", "postal_code", _as_is),
        ("city", "city", fold_or_none),
    ):
        screened[field], placeholder[field] = _unzip(
            _apply(_screened(field, normalise), column(key)), 2
        )
    emails, placeholder["email"] = _unzip(_apply(_email_cell, column("email")), 2)
    given_countries = _apply(normalise_country, column("country"))
    # no country given: the e-mail's country-code domain reads national phone numbers and
    # name order (kovacs.anna@t-online.hu writes "Kovács Anna" and "06 30 123 4567")
    countries = [
        c or e for c, e in zip(given_countries, _apply(country_of_email, emails), strict=True)
    ]
    phones, phone_regions, placeholder["phone"] = _unzip(
        _apply(_phone_cell, column("phone"), countries), 3
    )
    kinds, given, canon, initial, middle, family, full, org = _unzip(
        _apply(
            _name_cell,
            screened["given"],
            screened["family"],
            screened["full_name"],
            screened["org"],
            _apply(_kind, column("kind")),
            countries,
            _apply(_role_domain, emails),
        ),
        8,
    )
    streets, numbers = _unzip(
        _apply(_street_cell, screened["street"], screened["house_number"], countries), 2
    )
    postals = _apply(_postal_cell, screened["postal_code"], countries)

    flags: list[str | None] = [None] * n
    for field in PLACEHOLDER_FIELDS:
        for i in compress(range(n), placeholder[field]):
            current = flags[i]
            flags[i] = field if current is None else f"{current},{field}"

    data: dict[str, list[Any]] = {
        "source": column("source"),
        "source_id": column("source_id"),
        "kind": kinds,
        "given": given,
        "given_canon": canon,
        "given_initial": initial,
        "middle": middle,
        "family": family,
        "full_name": full,
        "org": org,
        "email": emails,
        "email_local": [e.partition("@")[0] if e else None for e in emails],
        "phone": phones,
        "birth_date": screened["birth_date"],
        "tax_id": screened["tax_id"],
        "street": streets,
        "house_number": numbers,
        "postal_code": postals,
        "city": screened["city"],
        "country": [
            c or r or e for c, r, e in zip(given_countries, phone_regions, countries, strict=True)
        ],
        "updated_at": [
            (v or None) if type(v) is str else _timestamp(v) for v in column("updated_at")
        ],
        "placeholder_fields": flags,
    }
    passed_through = ("source", "source_id")  # may hold anything: no array inference on them
    return pd.DataFrame(
        {
            name: pd.Series(data[name], dtype=object)
            if name in passed_through
            else np.array(data[name], dtype=object)
            for name in COLUMNS
        },
        copy=False,
    )
