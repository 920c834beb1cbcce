"""Placeholders: values that fill a required field but identify nobody.

"n/a" as a name, test@test.com or noreply@shop.hu as an e-mail, 06 00 000 0000 or 12345678 as
a phone, 00000000 as a tax id: left in, every record carrying one would look like the same
customer. `is_placeholder(field, value)` recognises them on the raw value; the Standardise
stage blanks them and lists the field in `placeholder_fields`.

Fields are the frame's column names (given, family, full_name, org, email, phone, tax_id,
birth_date, street, house_number, postal_code, city); the record's names are accepted too
(given_name, family_name, organization_name).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from identity.contact import normalise_date
from identity.folding import fold_words, text_or_none

__all__ = ["PLACEHOLDER_FIELDS", "is_placeholder", "is_placeholder_email", "placeholder_text"]

_FIELD_ALIASES = {
    "given_name": "given",
    "family_name": "family",
    "organization_name": "org",
}
PLACEHOLDER_FIELDS = (
    "given",
    "family",
    "full_name",
    "org",
    "email",
    "phone",
    "birth_date",
    "tax_id",
    "street",
    "house_number",
    "postal_code",
    "city",
)

# Folded values that stand for "nothing" in any field (en, hu, pl, he transliterated).
_NOTHING = frozenset(
    {
        "na", "nd", "none", "null", "nil", "nan", "undefined", "unknown", "unk", "ismeretlen",
        "nincs", "nincsen", "nieznany", "nieznana", "brak", "x", "xx", "xxx", "xxxx", "test",
        "teszt", "testing", "tesztelek", "asdf", "asd", "qwerty", "dummy", "sample", "minta",
        "tbd", "todo", "tba", "default", "empty", "ures", "nothing", "n a", "n d", "no name",
        "not available", "not applicable", "nem ismert", "nem tudom",
    }
)  # fmt: skip

_NAME_WORDS = frozenset(
    {
        "test", "teszt", "user", "customer", "client", "ugyfel", "klient", "guest", "vendeg",
        "noname", "anonymous", "anonim", "fnu", "lnu", "nn", "mr", "mrs", "ms", "test user",
        "test test", "teszt elek", "gipsz jakab", "john doe", "jane doe", "no name",
    }
)  # fmt: skip
_FILLER_WORDS = _NOTHING | _NAME_WORDS
_ORG_WORDS = frozenset(
    {"private", "private person", "individual", "maganszemely", "magan szemely", "osoba prywatna",
     "osoba fizyczna", "self", "self employed", "none", "company", "ceg", "firma"}
)  # fmt: skip

_EMAIL_LOCALS = frozenset(
    {
        "test", "teszt", "noreply", "no-reply", "donotreply", "do-not-reply", "no_reply", "nomail",
        "noemail", "nobody", "none", "null", "na", "n/a", "unknown", "invalid", "example", "sample",
        "dummy", "asdf", "qwerty", "x", "xx", "xxx", "email", "mail", "nincs", "brak"
    }
)  # fmt: skip
# Domains nobody receives mail at. The RFC 2606 example.* domains are not among them: sample
# data and test fixtures use them for realistic people, so only their local part can tell
# (example@example.com, test@example.hu).
_EMAIL_DOMAINS = frozenset(
    {
        "test.com", "test.hu", "test.pl", "teszt.hu", "domain.com", "noemail.com", "nomail.com",
        "none.com", "invalid.com", "invalid", "localhost", "mailinator.com", "nincs.hu",
        "brak.pl", "xx.com", "xxx.com",
    }
)  # fmt: skip
_RUN_UP, _RUN_DOWN = "012345678901234567890", "9876543210987654321"
_PLACEHOLDER_DATES = frozenset(
    {"1900-01-01", "1901-01-01", "1899-12-30", "1899-12-31", "0001-01-01", "1111-11-11",
     "9999-12-31", "2099-12-31"}
)  # fmt: skip
_NOT_DIGIT = re.compile(r"\D")
_DIGIT = re.compile(r"\d")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def _same_char(text: str) -> bool:
    return len(text) > 1 and text == text[0] * len(text)


def _sequential(digits: str) -> bool:
    return len(digits) >= 5 and (digits in _RUN_UP or digits in _RUN_DOWN)


def _phone(text: str) -> bool:
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) < 6:
        return True  # too short to be dialled
    # 06 30 000 0000, +36 1 111 1111 - or all of it a run: 12345678, 0123456789
    return _same_char(digits[-7:]) or _sequential(digits)


def _email(text: str) -> bool:
    local, _, domain = text.lower().strip().partition("@")
    return is_placeholder_email(local.split("+", 1)[0], domain)


def is_placeholder_email(local: str, domain: str) -> bool:
    """The lower-case e-mail local part (+tag removed) and domain identify nobody."""
    label = domain.split(".", 1)[0]
    return (
        local in _EMAIL_LOCALS
        or domain in _EMAIL_DOMAINS
        or (local == label and len(local) <= 3)  # a@a.com, abc@abc.pl
        or (len(local) == 1 and len(label) == 1)  # a@b.com
        or _same_char(local.replace(".", ""))  # aaa@gmail.com
    )


def _name(folded: str) -> bool:
    compact = folded.replace(" ", "")
    return (
        folded in _NAME_WORDS
        or _FILLER_WORDS.issuperset(folded.split())  # "test test", "mr x"
        or (len(compact) > 2 and _same_char(compact))  # xxx, aaaa
        or compact.isdigit()
    )


def _tax_id(text: str) -> bool:
    compact = _NOT_ALNUM.sub("", text)
    return compact == "0" or _same_char(compact) or _sequential(compact)


def _postal_code(text: str) -> bool:
    compact = _NOT_ALNUM.sub("", text)  # 1111 is a Budapest code: only zeros are empty
    return compact != "" and set(compact) == {"0"}


def _nothing(text: str) -> bool:
    """Text that means nothing in any field: "-", "?", "n/a", "unknown", "nincs", "brak"."""
    if len(text) > 24 or _DIGIT.search(text):  # fillers are short words: skip the fold
        return False
    folded = fold_words(text)
    return not folded or folded in _NOTHING


@lru_cache(maxsize=1 << 16)
def _wordy(field: str, text: str) -> bool:
    """Placeholder check for names, organisations, streets and cities (values that repeat)."""
    folded = fold_words(text)
    if not folded or folded in _NOTHING:
        return True
    if field == "org":
        return folded in _ORG_WORDS or _name(folded)
    if field in ("given", "family", "full_name"):
        return _name(folded)
    return False


def _birth_date(text: str) -> bool:
    date = normalise_date(text)
    return date in _PLACEHOLDER_DATES if date else _nothing(text)


_CHECKS: dict[str, Callable[[str], bool]] = {
    "email": lambda text: _email(text) if "@" in text else _nothing(text),
    "phone": _phone,
    "birth_date": _birth_date,
    "tax_id": lambda text: _nothing(text) or _tax_id(text),
    "postal_code": lambda text: _nothing(text) or _postal_code(text),
    "house_number": _nothing,
}


def placeholder_text(field: str, text: str) -> bool:
    """is_placeholder for stripped, non-empty text and a frame column name (the fast path)."""
    check = _CHECKS.get(field)
    return check(text) if check is not None else _wordy(field, text)


def is_placeholder(field: str, value: object) -> bool:
    """The value fills the field but identifies nobody (n/a, test@test.com, 000000)."""
    field = _FIELD_ALIASES.get(field, field)
    if field == "birth_date" and not isinstance(value, str):
        return normalise_date(value) in _PLACEHOLDER_DATES
    text = text_or_none(value)
    return text is not None and placeholder_text(field, text)
