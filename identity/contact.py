"""Identifiers a person or company is reached or registered by: e-mails, phones, tax ids, dates.

Each function takes one raw value and returns its normalised form, or None when the value is
not a usable one of its kind (an e-mail without '@', an impossible date). Telling placeholders
(test@test.com, 000000) from real values is `identity.placeholders`' job, not this module's.
Phone numbers live in `identity.phones`; `normalise_phone` is re-exported here.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import phonenumbers
from anyascii import anyascii

from identity.folding import text_or_none
from identity.phones import normalise_phone

__all__ = [
    "country_of_email",
    "email_local",
    "normalise_date",
    "normalise_email",
    "normalise_phone",
    "normalise_tax_id",
]

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_LOCAL = re.compile(r"[a-z0-9!#$%&'*/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9])?")
_ANGLE = re.compile(r"<([^<>]*)>")


def _normalise_email(text: str) -> str | None:
    text = text.lower()
    if "<" in text and (angle := _ANGLE.search(text)) is not None:
        text = angle.group(1)  # "Anna Kovács <anna@example.hu>"
    text = text.strip().removeprefix("mailto:").strip("\"' ")
    local, at, domain = text.partition("@")
    if not at or "@" in domain:  # whitespace anywhere fails the patterns below
        return None
    domain = domain.rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not local.isascii():  # kovács.anna@... cannot be delivered; kovacs.anna is meant
        local = anyascii(local).lower()
    local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    if _LOCAL.fullmatch(local) is None or _DOMAIN.fullmatch(domain) is None:
        return None
    return f"{local}@{domain}"


def normalise_email(email: str | None) -> str | None:
    """The e-mail lower-cased and trimmed, +tag and gmail dots removed; None if not an e-mail."""
    text = text_or_none(email)
    return None if text is None else _normalise_email(text)


# Country-code domains used as generic ones (startup.io, brand.co, about.me): no country.
_GENERIC_CCTLDS = frozenset(
    {"ac", "ai", "cc", "co", "fm", "gg", "io", "la", "ly", "me", "nu", "sh", "tk", "to", "tv", "ws"}
)


@lru_cache(maxsize=1 << 14)
def _country_of_domain(domain: str) -> str | None:
    tld = domain.rpartition(".")[2]
    if len(tld) != 2 or tld in _GENERIC_CCTLDS:
        return None
    code = "GB" if tld == "uk" else tld.upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def country_of_email(email: str | None) -> str | None:
    """The country of a normalised e-mail's country-code domain: t-online.hu -> HU,
    walla.co.il -> IL, btinternet.co.uk -> GB; None for .com and the like."""
    return _country_of_domain(email.partition("@")[2]) if email else None


def email_local(email: str | None) -> str | None:
    """The part of a normalised e-mail before the '@'."""
    return email.partition("@")[0] if email else None


_YEAR_FIRST = re.compile(r"(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})\.?(?:[T ].*)?")
_DAY_FIRST = re.compile(r"(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{4})\.?(?:[T ].*)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


@lru_cache(maxsize=1 << 16)
def _normalise_date_text(text: str) -> str | None:
    if (match := _YEAR_FIRST.fullmatch(text)) is not None:
        year, month, day = match.groups()
    elif (match := _DAY_FIRST.fullmatch(text)) is not None:
        day, month, year = match.groups()
        if int(month) > 12 >= int(day):  # 12/31/1980 can only be month-first
            day, month = month, day
    elif (match := _COMPACT.fullmatch(text)) is not None:
        year, month, day = match.groups()
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def normalise_date(value: object) -> str | None:
    """The date as YYYY-MM-DD (from 1980.02.29. or day-first 29/02/1980 too), None if impossible."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = text_or_none(value)
    return None if text is None else _normalise_date_text(text)


_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def normalise_tax_id(value: object) -> str | None:
    """The tax or social-security id in upper-case letters and digits only."""
    text = text_or_none(value)
    return None if text is None else _NOT_ALNUM.sub("", text.upper()) or None
