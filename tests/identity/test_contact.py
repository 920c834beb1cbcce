"""E-mails, phones, dates, tax ids and addresses: tables of labelled cases and invariants."""

from __future__ import annotations

import datetime as dt

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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
    normalise_phone,
    normalise_tax_id,
)
from identity.phones import parse_phone, parse_phone_slow, phone_key


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        pytest.param("(212) 555-0123", "US", "+12125550123", id="valid-is-e164"),
        pytest.param("(644) 843-9419", "US", "+16448439419", id="unassigned-area-code"),
        pytest.param("+1 644 843 9419", None, "+16448439419", id="unassigned-international"),
        pytest.param("1-644-843-9419", None, "+16448439419", id="unassigned-nanp-trunk"),
        pytest.param("644.843.9419", None, "6448439419", id="national-without-country"),
        pytest.param("06 30 123 4567", None, "6301234567", id="trunk-zero-dropped"),
        pytest.param("0049 30 1234", None, "+49301234", id="idd-without-country"),
        pytest.param("011 44 7999 123456", "US", "+447999123456", id="us-idd"),
        pytest.param("06 99 123 4567", "HU", "+36991234567", id="hu-trunk-unverified"),
        pytest.param("555-1234", "US", None, id="seven-digits-too-short"),
        pytest.param("0000 1234", None, None, id="zeros"),
        pytest.param("+1 234 567 890 123 456", None, None, id="sixteen-digits"),
        pytest.param("call me", None, None, id="words"),
        pytest.param("06 30 123 4567 ext. 12", "HU", "+36301234567", id="extension-valid"),
    ],
)
def test_phone_key(phone: str, country: str | None, expected: str | None) -> None:
    assert phone_key(phone, country) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        pytest.param("anna@example.hu", "anna@example.hu", id="plain"),
        pytest.param("  Anna.Kovacs@Freemail.HU ", "anna.kovacs@freemail.hu", id="lower-trim"),
        pytest.param("anna+shop@freemail.hu", "anna@freemail.hu", id="plus-tag"),
        pytest.param("a.n.n.a@gmail.com", "anna@gmail.com", id="gmail-dots"),
        pytest.param("Anna.K+news@googlemail.com", "annak@gmail.com", id="googlemail"),
        pytest.param("anna.k@yahoo.com", "anna.k@yahoo.com", id="dots-kept-elsewhere"),
        pytest.param("Anna Kovács <anna@example.hu>", "anna@example.hu", id="display-name"),
        pytest.param("mailto:anna@example.hu", "anna@example.hu", id="mailto"),
        pytest.param("anna@example.hu.", "anna@example.hu", id="trailing-dot"),
        pytest.param("kovács.anna@freemail.hu", "kovacs.anna@freemail.hu", id="accented-local"),
        pytest.param("x@müller.de", "x@xn--mller-kva.de", id="idn-domain"),
        pytest.param("anna", None, id="no-at"),
        pytest.param("anna@", None, id="no-domain"),
        pytest.param("anna@localhost", None, id="no-tld"),
        pytest.param("anna kovacs@example.hu", None, id="space"),
        pytest.param("a@b@example.hu", None, id="two-ats"),
        pytest.param("a..b@example.hu", None, id="double-dot"),
        pytest.param("+tag@example.hu", None, id="tag-only"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_normalise_email(email: str | None, expected: str | None) -> None:
    assert normalise_email(email) == expected


def test_email_local() -> None:
    assert email_local("anna@example.hu") == "anna"
    assert email_local(None) is None


@given(st.emails() | st.text(max_size=40))
def test_normalise_email_is_idempotent(email: str) -> None:
    once = normalise_email(email)
    if once is not None:
        assert normalise_email(once) == once


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        pytest.param("06 30 123 4567", "HU", "+36301234567", id="hu-trunk-06"),
        pytest.param("06-30-123-4567", "HU", "+36301234567", id="hu-dashes"),
        pytest.param("0036 30 123 4567", "HU", "+36301234567", id="hu-idd-00"),
        pytest.param("+36301234567", None, "+36301234567", id="e164"),
        pytest.param("+36 30 123 4567", "PL", "+36301234567", id="plus-beats-country"),
        pytest.param("+36 (0)30 123 4567", None, "+36301234567", id="hu-bracket-zero"),
        pytest.param("(0)30 123 4567", "HU", "+36301234567", id="hu-bracket-zero-national"),
        pytest.param("30/123-4567", "HU", "+36301234567", id="hu-no-trunk"),
        pytest.param("06 1 234 5678", "HU", "+3612345678", id="hu-budapest"),
        pytest.param("36301234567", "HU", "+36301234567", id="hu-country-code-no-plus"),
        pytest.param("tel:+36-30-123-4567", None, "+36301234567", id="tel-uri"),
        pytest.param("601 234 567", "PL", "+48601234567", id="pl-mobile"),
        pytest.param("+48 601 234 567", None, "+48601234567", id="pl-e164"),
        pytest.param("0048 601 234 567", "PL", "+48601234567", id="pl-idd"),
        pytest.param("020 7946 0018", "GB", "+442079460018", id="gb-trunk-0"),
        pytest.param("+44 (0)20 7946 0018", None, "+442079460018", id="gb-bracket-zero"),
        pytest.param("(212) 555-0123", "US", "+12125550123", id="us"),
        pytest.param("1 212 555 0123", "US", "+12125550123", id="us-trunk-1"),
        pytest.param("054-234-5678", "IL", "+972542345678", id="il-mobile"),
        pytest.param("06 30 123 4567 ext. 12", "HU", "+36301234567", id="extension"),
        pytest.param("06 30 123 4567", None, None, id="national-without-country"),
        pytest.param("0036 1 801 4152", None, "+3618014152", id="idd-00-without-country"),
        pytest.param("00972 52 417 9324", None, "+972524179324", id="il-idd-without-country"),
        pytest.param("1-212-555-0123", None, "+12125550123", id="nanp-without-country"),
        pytest.param("0000 123 456", None, None, id="zeros-are-no-idd"),
        pytest.param("06 30 123", "HU", None, id="too-short"),
        pytest.param("+36 30 123 456789", None, None, id="too-long"),
        pytest.param("call me", "HU", None, id="words"),
        pytest.param("+999 123 456", None, None, id="no-such-country-code"),
        pytest.param("", "HU", None, id="empty"),
    ],
)
def test_normalise_phone(phone: str, country: str | None, expected: str | None) -> None:
    assert normalise_phone(phone, country) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        pytest.param("anna@t-online.hu", "HU", id="hu"),
        pytest.param("kasia@o2.pl", "PL", id="pl"),
        pytest.param("noa@walla.co.il", "IL", id="second-level-il"),
        pytest.param("jo@btinternet.co.uk", "GB", id="uk-is-gb"),
        pytest.param("jo@gmail.com", None, id="generic"),
        pytest.param("ceo@startup.io", None, id="cctld-used-as-generic"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_country_of_email(email: str | None, expected: str | None) -> None:
    assert country_of_email(email) == expected


def test_parse_phone_gives_the_region() -> None:
    assert parse_phone("+48 601 234 567") == ("+48601234567", "PL")
    assert parse_phone("212 555 0123", "us") == ("+12125550123", "US")


_HOME_REGIONS = ["HU", "PL", "GB", "US", "IL", "DE", "AT"]
_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
_TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


@st.composite
def _written_numbers(draw: st.DrawFn) -> tuple[str, str | None]:
    """Example numbers of a region, digits perturbed, written the ways people write them."""
    region = draw(st.sampled_from(_HOME_REGIONS) | st.sampled_from(_REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(_TYPES)))
    assume(example is not None)
    assert example is not None
    digits = list(phonenumbers.national_significant_number(example))
    for _ in range(draw(st.integers(0, 3))):
        digits[draw(st.integers(0, len(digits) - 1))] = draw(st.sampled_from("0123456789"))
    national = "".join(digits[: len(digits) + draw(st.integers(-1, 1))] or digits)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    code = example.country_code
    trunk = metadata.national_prefix or ""
    form = draw(st.integers(0, 5))
    if form == 0:
        return f"+{code} {national}", draw(st.sampled_from([None, region, "HU"]))
    if form == 1:
        return f"00{code}{national}", region
    if form == 2:
        return f"{trunk}{national}", region
    if form == 3:
        return f"{national[:2]} {national[2:5]}-{national[5:]}", region
    if form == 4:
        return f"(+{code}) {national[:3]} {national[3:]}", draw(st.sampled_from([None, region]))
    return f"+{code} (0){national}", None


@settings(max_examples=400, deadline=None)
@given(_written_numbers())
def test_fast_phone_path_agrees_with_phonenumbers(written: tuple[str, str | None]) -> None:
    text, country = written
    assert parse_phone(text, country) == parse_phone_slow(text, country)


@settings(max_examples=200, deadline=None)
@given(_written_numbers())
def test_phone_key_of_a_valid_number_is_its_e164(written: tuple[str, str | None]) -> None:
    """Keys change nothing for the numbers the number plan knows."""
    text, country = written
    parsed = parse_phone(text, country)
    if parsed is not None:
        assert phone_key(text, country) == parsed[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1980-02-29", "1980-02-29", id="iso"),
        pytest.param("1980-02-29T10:30:00Z", "1980-02-29", id="iso-timestamp"),
        pytest.param("1980.02.29", "1980-02-29", id="hu-dots"),
        pytest.param("1980.02.29.", "1980-02-29", id="hu-trailing-dot"),
        pytest.param("1980. 02. 29.", "1980-02-29", id="hu-spaced"),
        pytest.param("1980/2/9", "1980-02-09", id="year-first-slashes"),
        pytest.param("29/02/1980", "1980-02-29", id="day-first-slashes"),
        pytest.param("29.02.1980", "1980-02-29", id="day-first-dots"),
        pytest.param("29-02-1980", "1980-02-29", id="day-first-dashes"),
        pytest.param("12/31/1980", "1980-12-31", id="month-first-when-unambiguous"),
        pytest.param("19800229", "1980-02-29", id="compact"),
        pytest.param(dt.date(1980, 2, 29), "1980-02-29", id="date"),
        pytest.param(dt.datetime(1980, 2, 29, 23, 59), "1980-02-29", id="datetime"),
        pytest.param("1981-02-29", None, id="not-a-leap-year"),
        pytest.param("1980-13-01", None, id="month-13"),
        pytest.param("31/04/1980", None, id="april-31"),
        pytest.param("80-02-29", None, id="two-digit-year"),
        pytest.param("last tuesday", None, id="words"),
        pytest.param(None, None, id="none"),
    ],
)
def test_normalise_date(value: object, expected: str | None) -> None:
    assert normalise_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("12345678-1-42", "12345678142", id="hu-adoszam"),
        pytest.param("pl 123-456-32-18", "PL1234563218", id="pl-nip"),
        pytest.param("8001011234", "8001011234", id="digits"),
        pytest.param(8001011234, "8001011234", id="int"),
        pytest.param("---", None, id="punctuation-only"),
        pytest.param(None, None, id="none"),
    ],
)
def test_normalise_tax_id(value: object, expected: str | None) -> None:
    assert normalise_tax_id(value) == expected


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        pytest.param("31-001", "PL", "31001", id="pl-dash"),
        pytest.param("sw1a 1aa", "GB", "SW1A1AA", id="gb-space-upper"),
        pytest.param("1051", "HU", "1051", id="hu"),
        pytest.param("H-1051", "HU", "1051", id="hu-letter-prefix"),
        pytest.param("D-10115", "DE", "10115", id="de-letter-prefix"),
        pytest.param("H-1051", None, "H1051", id="prefix-kept-without-country"),
        pytest.param("12345-6789", "US", "123456789", id="us-zip4"),
        pytest.param(1051, "HU", "1051", id="int"),
        pytest.param(" - ", "HU", None, id="nothing-left"),
    ],
)
def test_normalise_postal_code(code: object, country: str | None, expected: str | None) -> None:
    assert normalise_postal_code(code, country) == expected


@pytest.mark.parametrize(
    ("street", "country", "expected"),
    [
        pytest.param("Kossuth Lajos u.", "HU", "kossuth lajos utca", id="hu-u-dot"),
        pytest.param("Kossuth Lajos u", "HU", "kossuth lajos utca", id="hu-u"),
        pytest.param("Szent István krt.", "HU", "szent istvan korut", id="hu-krt"),
        pytest.param("Hősök tere", "HU", "hosok tere", id="hu-ter-stays"),
        pytest.param("Andrássy út", "HU", "andrassy ut", id="hu-ut"),
        pytest.param("ul. Floriańska", "PL", "ulica florianska", id="pl-ul"),
        pytest.param("al. Jerozolimskie", "PL", "aleje jerozolimskie", id="pl-al"),
        pytest.param("pl. Grunwaldzki", "PL", "plac grunwaldzki", id="pl-pl"),
        pytest.param("pl. Grunwaldzki", None, "plac grunwaldzki", id="pl-pl-no-country"),
        pytest.param("Berkeley Pl", "GB", "berkeley place", id="en-pl"),
        pytest.param("Baker St", "GB", "baker street", id="en-st"),
        pytest.param("St. John St.", "GB", "saint john street", id="en-saint-street"),
        pytest.param("Station Rd", "GB", "station road", id="en-rd"),
        pytest.param("Fifth Ave", "US", "fifth avenue", id="en-ave"),
        pytest.param("Sunset Blvd", "US", "sunset boulevard", id="en-blvd"),
        pytest.param("Herzl St", "IL", "herzl street", id="il-en"),
        pytest.param(" ", "HU", None, id="blank"),
    ],
)
def test_normalise_street(street: str, country: str | None, expected: str | None) -> None:
    assert normalise_street(street, country) == expected


@pytest.mark.parametrize(
    ("street", "expected"),
    [
        pytest.param("Kossuth Lajos u. 12.", ("Kossuth Lajos u.", "12"), id="hu"),
        pytest.param("Kossuth Lajos u. 12/A", ("Kossuth Lajos u.", "12/A"), id="hu-slash"),
        pytest.param("ul. Floriańska 15/3", ("ul. Floriańska", "15/3"), id="pl-flat"),
        pytest.param("ul. 3 Maja 15", ("ul. 3 Maja", "15"), id="pl-number-in-name"),
        pytest.param("ul. 3 Maja", ("ul. 3 Maja", None), id="pl-no-number"),
        pytest.param("10 Downing St", ("Downing St", "10"), id="en-leading"),
        pytest.param("221B Baker Street", ("Baker Street", "221B"), id="en-leading-letter"),
        pytest.param("Hősök tere", ("Hősök tere", None), id="none"),
    ],
)
def test_split_house_number(street: str, expected: tuple[str, str | None]) -> None:
    assert split_house_number(street) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param("12", "12", id="digits"),
        pytest.param("12/A", "12 a", id="slash-letter"),
        pytest.param("12a", "12 a", id="letter"),
        pytest.param("12 A", "12 a", id="space-letter"),
        pytest.param("15/3", "15 3", id="flat"),
        pytest.param(None, None, id="none"),
    ],
)
def test_normalise_house_number(number: str | None, expected: str | None) -> None:
    assert normalise_house_number(number) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("HU", "HU", id="iso2"),
        pytest.param(" pl ", "PL", id="lower"),
        pytest.param("UK", "GB", id="uk"),
        pytest.param("Hungary", "HU", id="english-name"),
        pytest.param("Magyarország", "HU", id="native-name"),
        pytest.param("POL", "PL", id="iso3"),
        pytest.param("Narnia", None, id="unknown"),
        pytest.param(None, None, id="none"),
    ],
)
def test_normalise_country(value: str | None, expected: str | None) -> None:
    assert normalise_country(value) == expected
