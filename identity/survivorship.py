"""Survivorship: build one cluster's golden record from its members' original values.

Every field is decided by a chain of named rules (`RULES`, so hub.yaml can name them). A
rule is a tiny pure function that keeps the best of the candidate values; its one-line
docstring is what a data steward sees as the reason. A chain such as
`"valid_format,most_recent"` applies its rules in order until one value is left; ties that
survive the chain go to `source_priority`, then `most_recent`, then `stable_order`, so the
result never depends on the order of the members. The address is a unit: street, house
number, postal code, city and country all come from the same member record. Blank values
never win over present ones, and a steward's manual override always wins (rule `manual`).
Names honour the configured source priority before "most complete" (only a name's own
initials lose to its written-out form), and a value that is no name never survives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from identity.folding import fold_words
from schemas.customer import CUSTOMER_FIELDS

__all__ = [
    "ADDRESS_FIELDS",
    "DEFAULT_RULES",
    "GOLDEN_FIELDS",
    "RULES",
    "Candidate",
    "GoldenRecord",
    "Override",
    "Provenance",
    "Rule",
    "explain",
    "is_name",
    "is_valid",
    "most_complete",
    "most_frequent",
    "most_recent",
    "resolve_rules",
    "source_priority",
    "stable_order",
    "survive",
    "valid_format",
    "written_out",
]

Key = tuple[str, str]
Override = tuple[Any, str, "dt.datetime | str"]
"""A steward's override of one field: (value, who, when)."""

ADDRESS_FIELDS: tuple[str, ...] = ("street", "house_number", "postal_code", "city", "country")
ADDRESS = "address"
GOLDEN_FIELDS: tuple[str, ...] = tuple(
    f for f in CUSTOMER_FIELDS if f not in ("source", "source_id")
)
_NAMES = ("given_name", "family_name", "full_name", "organization_name")

DEFAULT_RULES: Mapping[str, str] = {
    **dict.fromkeys(_NAMES, "written_out,source_priority,most_complete"),
    **dict.fromkeys(("email", "phone"), "valid_format,most_recent"),
    **dict.fromkeys(("birth_date", "tax_id"), "most_frequent,source_priority"),
    "kind": "most_frequent",
    ADDRESS: "most_recent,source_priority",
    "updated_at": "most_recent",
}
"""Rule chain per golden field; the five address fields survive together as `address`."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One member's present value for a field, with what the rules rank it by."""

    key: Key
    value: Any
    rank: int
    """Position of the member's source in the trust order; unlisted sources rank last."""
    updated: float | None
    """The member's `updated_at` as POSIX seconds, or None when it has none."""


Rule = Callable[[str, Sequence[Candidate]], list[Candidate]]


def source_priority(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Taken from the most trusted source that has a value."""
    best = min(c.rank for c in candidates)
    return [c for c in candidates if c.rank == best]


def most_recent(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Taken from the most recently updated record that has a value."""
    stamps = [c.updated for c in candidates if c.updated is not None]
    if not stamps:
        return list(candidates)
    latest = max(stamps)
    return [c for c in candidates if c.updated == latest]


def most_frequent(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The value most of the records agree on."""
    counts = Counter(_norm(field, c.value) for c in candidates)
    top = max(counts.values())
    return [c for c in candidates if counts[_norm(field, c.value)] == top]


def most_complete(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The most complete value (e.g. a full name rather than initials)."""
    best = max(_completeness(c.value) for c in candidates)
    return [c for c in candidates if _completeness(c.value) == best]


def written_out(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """A written-out name rather than its initials ("Kovács Anna" rather than "Kovács A.")."""
    words = [_words(c.value) for c in candidates]
    full = [
        c
        for c, mine in zip(candidates, words, strict=True)
        if not any(_abbreviates(mine, other) for other in words if other != mine)
    ]
    return full or list(candidates)


def valid_format(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The value in a valid format for the field (well-formed e-mail, phone, date, country)."""
    valid = [c for c in candidates if is_valid(field, c.value)]
    return valid or list(candidates)


def stable_order(field: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Equally good values; the one from the record with the first source key was taken."""
    return [min(candidates, key=lambda c: c.key)]


RULES: dict[str, Rule] = {
    "source_priority": source_priority,
    "most_recent": most_recent,
    "most_frequent": most_frequent,
    "most_complete": most_complete,
    "valid_format": valid_format,
    "written_out": written_out,
    "stable_order": stable_order,
}
_TIE_BREAK = ("source_priority", "most_recent", "stable_order")
MANUAL = "manual"


def explain(rule: str) -> str:
    """The steward-facing sentence for a provenance rule name."""
    if rule == MANUAL:
        return "Set by a data steward; kept on every re-run."
    return (RULES[rule].__doc__ or rule).strip()


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a golden value came from and which rule chose it."""

    value: Any
    source: str | None
    source_id: str | None
    rule: str
    by: str | None = None
    at: dt.datetime | str | None = None

    @property
    def explanation(self) -> str:
        """Why this value won, in words for a data steward."""
        return explain(self.rule)


@dataclass(frozen=True, slots=True)
class GoldenRecord:
    """The surviving values of one cluster, their provenance and the members it came from."""

    values: dict[str, Any]
    provenance: dict[str, Provenance]
    members: tuple[Key, ...]


def resolve_rules(rules: Mapping[str, str] | None = None) -> dict[str, tuple[str, ...]]:
    """The rule chain per field: `DEFAULT_RULES` with `rules` (hub.yaml) laid over it.

    Raises ValueError naming the field and the fix for an unknown field or rule name.
    """
    known_fields = (*(f for f in GOLDEN_FIELDS if f not in ADDRESS_FIELDS), ADDRESS)
    chains: dict[str, tuple[str, ...]] = {}
    for field, spec in {**DEFAULT_RULES, **(rules or {})}.items():
        if field in ADDRESS_FIELDS:
            raise ValueError(
                f"survivorship.{field}: address fields survive together from one record; "
                f"set a rule for `{ADDRESS}` instead"
            )
        if field not in known_fields:
            raise ValueError(
                f"survivorship.{field}: unknown field; use one of {', '.join(known_fields)}"
            )
        chain = tuple(name.strip() for name in spec.split(",") if name.strip())
        unknown = [name for name in chain if name not in RULES]
        if not chain or unknown:
            raise ValueError(
                f"survivorship.{field}: unknown rule {', '.join(unknown) or repr(spec)}; "
                f"use a comma-separated chain of {', '.join(RULES)}"
            )
        chains[field] = chain
    return chains


@lru_cache(maxsize=64)
def _chains(rules: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    return resolve_rules(dict(rules))


def survive(
    members: Iterable[Mapping[str, Any]],
    *,
    source_priority: Sequence[str] = (),
    rules: Mapping[str, str] | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> GoldenRecord:
    """Build the golden record of one cluster from its member records (original values)."""
    records = sorted(members, key=_key)
    keys = tuple(_key(r) for r in records)
    if not keys:
        raise ValueError("survive() needs at least one member record")
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate member keys in one cluster: {keys}")
    chains = _chains(tuple(sorted((rules or {}).items())))
    trust = {s: i for i, s in reversed(list(enumerate(source_priority)))}
    stamps = [_timestamp(record.get("updated_at")) for record in records]
    ranks = [trust.get(key[0], len(trust)) for key in keys]

    def candidates(field: str) -> list[Candidate]:
        found = []
        for key, record, rank, stamp in zip(keys, records, ranks, stamps, strict=True):
            value = _value(record, field)
            if value is not None and (field not in _NAMES or is_name(field, value)):
                found.append(Candidate(key, value, rank, stamp))
        return found

    values: dict[str, Any] = dict.fromkeys(GOLDEN_FIELDS)
    provenance: dict[str, Provenance] = {}
    for field, chain in chains.items():
        decided = _decide(field, candidates(field), chain)
        if decided is None:
            continue
        winner, rule = decided
        if field == ADDRESS:
            for name, part in zip(ADDRESS_FIELDS, winner.value, strict=True):
                values[name] = part
                if part is not None:
                    provenance[name] = Provenance(part, *winner.key, rule)
        else:
            values[field] = winner.value
            provenance[field] = Provenance(winner.value, *winner.key, rule)
    for field, (value, by, at) in sorted((overrides or {}).items()):
        if field not in values:
            raise ValueError(f"override of unknown field {field!r}; fields: {', '.join(values)}")
        values[field] = value
        provenance[field] = Provenance(value, None, None, MANUAL, by, at)
    return GoldenRecord(values, provenance, keys)


def _decide(
    field: str, candidates: list[Candidate], chain: tuple[str, ...]
) -> tuple[Candidate, str] | None:
    """The winning candidate and the rule that left a single value, or None if none."""
    if not candidates:
        return None
    if len(candidates) == 1:  # one value: nothing to decide (the common, singleton case)
        return candidates[0], chain[0]
    pool, decided_by = candidates, chain[0]
    for name in (*chain, *(r for r in _TIE_BREAK if r not in chain)):
        if len({_norm(field, c.value) for c in pool}) == 1:
            break
        pool, decided_by = RULES[name](field, pool), name
    # The values left are equal once normalised: take the most trusted, newest, first record.
    winner = min(pool, key=lambda c: (c.rank, c.updated is None, -(c.updated or 0.0), c.key))
    return winner, decided_by


def _key(record: Mapping[str, Any]) -> Key:
    source, source_id = record.get("source"), record.get("source_id")
    if source is None or source_id is None:
        raise ValueError(f"a member record needs `source` and `source_id`: {dict(record)!r}")
    return str(source), str(source_id)


def _value(record: Mapping[str, Any], field: str) -> Any:
    """The record's present value for a field; for `address`, its parts as one tuple."""
    if field != ADDRESS:
        return _present(record.get(field))
    parts = tuple(_present(record.get(f)) for f in ADDRESS_FIELDS)
    return parts if any(p is not None for p in parts) else None


def _present(value: Any) -> Any:
    """The value, or None when it is missing or a blank string."""
    if isinstance(value, str):
        return value if value.strip() else None
    return value


def _timestamp(value: Any) -> float | None:
    """`updated_at` (datetime, date or ISO string) as POSIX seconds; naive means UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.timestamp()
    return None


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _norm(field: str, value: Any) -> Any:
    """Light normalisation for comparing values: case and whitespace folded."""
    if isinstance(value, tuple):
        return tuple(_norm(f, v) for f, v in zip(ADDRESS_FIELDS, value, strict=True))
    if value is None:
        return None
    text = " ".join(_text(value).split()).casefold()
    if field == "phone":
        return re.sub(r"[^\d+]", "", text)
    if field in ("postal_code", "tax_id"):
        return re.sub(r"[\s\-./]", "", text)
    return text


def _words(value: Any) -> tuple[str, ...]:
    return tuple(fold_words(_text(value)).split())


def _abbreviates(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """`short` is `full` with some words cut to their initial ("a" for "anna"), none added."""
    if not short or len(short) > len(full) or not any(len(w) == 1 for w in short):
        return False
    rest = list(full)
    for word in short:
        found = next((w for w in rest if w == word or (len(word) == 1 and w[0] == word)), None)
        if found is None:
            return False
        rest.remove(found)
    return True


def _completeness(value: Any) -> tuple[int, int, int]:
    """(present parts, letters and digits, letters with diacritics): more is more complete."""
    parts = [v for v in value if v is not None] if isinstance(value, tuple) else [value]
    text = " ".join(_text(p) for p in parts)
    return len(parts), sum(ch.isalnum() for ch in text), sum(not ch.isascii() for ch in text)


_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE = re.compile(r"\+[0-9]{8,15}|[0-9]{6,15}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_POSTAL = re.compile(r"[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*")
# ISO 3166-1 alpha-2 (officially assigned), plus XK (Kosovo), which is in wide use.
_ISO2_CODES = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
    "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ "
    "DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
    "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG "
    "KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML "
    "MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE "
    "PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL "
    "SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM "
    "US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"
)
_ISO2 = frozenset(_ISO2_CODES.split())


def _valid_date(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        return False
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


_VALIDATORS: dict[str, Callable[[Any], bool]] = {
    "email": lambda v: bool(_EMAIL.fullmatch(str(v).strip())),
    "phone": lambda v: bool(_PHONE.fullmatch(re.sub(r"[\s\-./()]", "", str(v)))),
    "birth_date": _valid_date,
    "country": lambda v: str(v).strip() in _ISO2,
    "postal_code": lambda v: bool(_POSTAL.fullmatch(str(v).strip())),
    "kind": lambda v: str(v) in ("person", "organization"),
}


# Text no name holds: markup, URLs, control characters, and (in a person's name) digits.
_NOT_A_NAME = re.compile(r"[<>{}\[\]\\|=`]|https?://|www\.|[\x00-\x1f\x7f]", re.I)
_DIGIT = re.compile(r"\d")


def is_name(field: str, value: Any) -> bool:
    """Whether a name field's value could be a name: junk such as `<script>… Kovács`,
    `http://spam.example` or `Anna2` never becomes a golden record's name, whatever its
    length or source (organisation names may hold digits: 3M, 7-Eleven)."""
    text = str(value)
    if _NOT_A_NAME.search(text):
        return False
    return field == "organization_name" or not _DIGIT.search(text)


def is_valid(field: str, value: Any) -> bool:
    """Whether a present value is well-formed for its field (fields without a check pass)."""
    if isinstance(value, tuple):
        return all(
            is_valid(f, v) for f, v in zip(ADDRESS_FIELDS, value, strict=True) if v is not None
        )
    check = _VALIDATORS.get(field)
    return check is None or check(value)
