"""Phone numbers to E.164 ("06 30 123 4567" in Hungary -> "+36301234567").

`phonenumbers` (Google's libphonenumber metadata) decides what a valid number is. Its full
`parse` costs ~60-80 µs a number, too slow for millions of mostly distinct numbers, so the
common shapes - digits with separators, with '+', an international dialling prefix (00) or a
national trunk prefix (06, 0) - take a fast path that applies the same metadata directly:
IDD and national-prefix stripping with the region's own patterns, then validity with the
region's number-type patterns, exactly as `phonenumbers.is_valid_number` decides it. Anything
else (letters, extensions, regions whose national prefix is rewritten, a country code without
'+') goes through `phonenumbers.parse`. A test checks the two paths agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc

from identity.folding import text_or_none

__all__ = ["normalise_phone", "parse_phone", "parse_phone_slow", "phone_key", "unverified_phone"]

_PHONE_SHAPE = re.compile(r"\+?[0-9 \t\-./()]+")
_NOT_DIGIT = re.compile(r"\D")
_UNVERIFIED_DIGITS = range(8, 16)  # a number too short to carry an area code is not compared
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _desc_matcher(desc: PhoneNumberDesc | None) -> tuple[frozenset[int], re.Pattern[str]] | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _valid_patterns(metadata: PhoneMetadata) -> dict[int, re.Pattern[str]]:
    """Per number length, one pattern for "matches the general pattern and some type's".

    phonenumbers matches a number description by its possible lengths first (none listed:
    any length; [-1]: no numbers of that type) and its pattern second; so does this. Key -1
    holds the pattern for lengths no type lists (types without lengths only).
    """
    general = metadata.general_desc
    if general is None or not general.national_number_pattern:
        return {}
    by_length: dict[int, list[str]] = {}
    any_length: list[str] = []
    for name in _TYPE_DESCS:
        desc: PhoneNumberDesc | None = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        if not desc.possible_length:
            any_length.append(desc.national_number_pattern)
        for length in desc.possible_length or ():
            if length > 0:
                by_length.setdefault(length, []).append(desc.national_number_pattern)
    if any_length:
        by_length = {length: [*p, *any_length] for length, p in by_length.items()}
        by_length[-1] = any_length
    lengths = set(general.possible_length or ())
    return {
        length: re.compile(rf"(?=(?:{general.national_number_pattern})\Z)(?:{'|'.join(p)})")
        for length, p in by_length.items()
        if not lengths or length in lengths or length == -1
    }


def _matches(matcher: tuple[frozenset[int], re.Pattern[str]] | None, number: str) -> bool:
    if matcher is None:
        return False
    lengths, pattern = matcher
    if lengths and len(number) not in lengths:
        return False
    return pattern.fullmatch(number) is not None


@dataclass(frozen=True, slots=True)
class _Region:
    """One region's parsing and validation rules, compiled once."""

    code: str
    calling_code: int
    calling_code_text: str
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    simple_prefix: bool  # the national prefix is stripped, never rewritten
    general: tuple[frozenset[int], re.Pattern[str]] | None
    valid_by_length: dict[int, re.Pattern[str]]
    leading_digits: re.Pattern[str] | None

    def valid(self, national: str) -> bool:
        """The national significant number is a valid number of this region."""
        if self.general is not None and self.general[0] and len(national) not in self.general[0]:
            return False
        pattern = self.valid_by_length.get(len(national)) or self.valid_by_length.get(-1)
        return pattern is not None and pattern.fullmatch(national) is not None

    def strip_national_prefix(self, digits: str) -> str:
        """The digits without a leading national (trunk) prefix, as phonenumbers strips it."""
        if self.national_prefix is None:
            return digits
        match = self.national_prefix.match(digits)
        if match is None:
            return digits
        rest = digits[match.end() :]
        if _matches(self.general, digits) and not _matches(self.general, rest):
            return digits
        lengths = self.general[0] if self.general else frozenset()
        if lengths and len(rest) not in lengths:  # phonenumbers keeps a too-short remainder
            return digits
        return rest


@lru_cache(maxsize=512)
def _region(code: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(code)
    if metadata is None or metadata.country_code is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    compiled_prefix = re.compile(prefix) if prefix else None
    return _Region(
        code=code,
        calling_code=metadata.country_code,
        calling_code_text=str(metadata.country_code),
        idd=re.compile(metadata.international_prefix) if metadata.international_prefix else None,
        national_prefix=compiled_prefix,
        simple_prefix=not metadata.national_prefix_transform_rule
        and (compiled_prefix is None or compiled_prefix.groups == 0),
        general=_desc_matcher(metadata.general_desc),
        valid_by_length=_valid_patterns(metadata),
        leading_digits=re.compile(metadata.leading_digits) if metadata.leading_digits else None,
    )


@lru_cache(maxsize=512)
def _regions_of(calling_code: int) -> tuple[_Region, ...]:
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(calling_code, ())
    return tuple(r for r in (_region(c) for c in codes) if r is not None)


def _split_calling_code(digits: str) -> tuple[int, str] | None:
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def _validate(calling_code: int, national: str) -> tuple[str, str] | None:
    """(E.164, region) when the number is valid, choosing the region as phonenumbers does."""
    for region in _regions_of(calling_code):
        if region.leading_digits is not None:
            if region.leading_digits.match(national):
                return (
                    (f"+{calling_code}{national}", region.code) if region.valid(national) else None
                )
        elif region.valid(national):
            return f"+{calling_code}{national}", region.code
    return None


_SLOW = ("", "")


def _parse_fast(text: str, country: str | None) -> tuple[str, str] | None:
    """(E.164, region), None when invalid, or _SLOW when the shape needs phonenumbers.parse."""
    if text.startswith("(+"):  # "(+48) 601 …": phonenumbers reads from the '+'
        text = text[1:]
    if not text.isascii() or _PHONE_SHAPE.fullmatch(text) is None:
        return _SLOW
    plus = text.startswith("+")
    digits = _NOT_DIGIT.sub("", text.replace("(0)", ""))
    if not digits:
        return None
    if not plus:
        home = _region(country) if country else None
        if home is None:
            return None  # a national number and no country to read it in
        idd = home.idd.match(digits) if home.idd else None
        if idd is not None and idd.end() < len(digits) and digits[idd.end()] != "0":
            digits = digits[idd.end() :]
        elif digits.startswith(home.calling_code_text):
            return _SLOW  # perhaps a country code written without '+'
        else:
            if not home.simple_prefix:
                return _SLOW
            return _validate(home.calling_code, home.strip_national_prefix(digits))
    split = _split_calling_code(digits)
    if split is None:
        return None
    calling_code, national = split
    regions = _regions_of(calling_code)
    if not regions or not regions[0].simple_prefix:
        return _SLOW
    return _validate(calling_code, regions[0].strip_national_prefix(national))


def parse_phone_slow(text: str, country: str | None) -> tuple[str, str] | None:
    """(E.164, region) of a valid number by phonenumbers.parse alone (the reference path)."""
    try:
        number = phonenumbers.parse(text.replace("(0)", ""), country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.region_code_for_number(number) or ""


def _international_form(text: str) -> str:
    """Without a country, the forms that need none: "0036 1 801 4152" (the 00 dialling
    prefix most of the world uses) and "1-212-555-0123" (North America's 1 and ten digits)."""
    if text.startswith(("+", "(+")) or _PHONE_SHAPE.fullmatch(text) is None:
        return text
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) > 4 and digits.startswith("00") and digits[2] != "0":
        return "+" + digits[2:]
    if len(digits) == 11 and digits[0] == "1":
        return "+" + digits
    return text


def parse_phone(phone: str, country: str | None = None) -> tuple[str, str] | None:
    """(E.164, ISO-2 region) of a valid number, national forms read in the record's country.

    Without a country, numbers in international form (+, 00, North America's leading 1)
    are still read; a national form ("06 30 123 4567") is not, there is no telling whose.
    """
    text = phone.strip().lower()
    if text.startswith("tel:"):
        text = text[4:].lstrip()
    if not text:
        return None
    if country is not None and not country.isupper():
        country = country.upper()
    elif country is None:
        text = _international_form(text)
    fast = _parse_fast(text, country)
    return parse_phone_slow(text, country) if fast is _SLOW else fast


def normalise_phone(phone: object, country: str | None = None) -> str | None:
    """The phone number in E.164 (+36301234567), or None when it is not a valid number."""
    text = text_or_none(phone)
    if text is None:
        return None
    parsed = parse_phone(text, country or None)
    return parsed[0] if parsed else None


def phone_key(phone: str, country: str | None = None) -> str | None:
    """The number records are compared by: its E.164 form when it is valid. Otherwise, for
    text shaped like a phone number with 8 to 15 digits, the same form without the validity
    check ("+1 644 843 9419" -> "+16448439419": an area code not in the metadata, as test
    data and typed-in numbers often have), and a national form with no country to read it
    in as its digits alone, without a trunk prefix's 0 ("644-843-9419" -> "6448439419",
    "06 30 123 4567" -> "6301234567"; `identity.compare` finds it at the end of the E.164
    form of the same number). Two records holding one number is evidence whether or not the
    number plan knows it; how identifying a value is, is the model's business (its
    frequency), not the parser's."""
    parsed = parse_phone(phone, country)
    return parsed[0] if parsed else unverified_phone(phone, country)


def unverified_phone(phone: str, country: str | None) -> str | None:
    """`phone_key` of a number `parse_phone` found invalid (for callers that parsed it)."""
    text = phone.strip().lower()
    if text.startswith("tel:"):
        text = text[4:].lstrip()
    if text.startswith("(+"):
        text = text[1:]
    if not text.isascii() or _PHONE_SHAPE.fullmatch(text) is None:
        return None
    digits = _NOT_DIGIT.sub("", text.replace("(0)", ""))
    if len(digits) not in _UNVERIFIED_DIGITS:
        return None
    if text.startswith("+"):
        return "+" + digits
    home = _region(country.upper()) if country else None
    if home is None:
        international = _international_form(text)
        if international[0] == "+":
            return "+" + _NOT_DIGIT.sub("", international)
        national = digits.lstrip("0")  # a trunk prefix ("06 30 …", "020 …") is not the number
        return national if len(national) in _UNVERIFIED_DIGITS else None
    idd = home.idd.match(digits) if home.idd else None
    if idd is not None and idd.end() < len(digits) and digits[idd.end()] != "0":
        return "+" + digits[idd.end() :]
    return f"+{home.calling_code}{home.strip_national_prefix(digits)}"
