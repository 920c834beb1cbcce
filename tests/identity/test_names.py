"""Person names, nicknames and organisation names: tables of labelled cases."""

from __future__ import annotations

import pytest

from identity.names import PersonName, parse_person_name
from identity.nicknames import LOCALES, canonical_given, name_tables, nickname_canons, read_table
from identity.organisations import has_legal_form, strip_legal_form


def _name(given: str | None, middle: str | None, family: str | None) -> PersonName:
    return PersonName(given, middle, family)


@pytest.mark.parametrize(
    ("given", "family", "full", "country", "expected"),
    [
        pytest.param(None, None, "Anna Kovács", None, _name("anna", None, "kovacs"), id="western"),
        pytest.param(None, None, "Kovács Anna", None, _name("anna", None, "kovacs"), id="hu-order"),
        pytest.param(
            None, None, "Kovács Anna", "HU", _name("anna", None, "kovacs"), id="hu-order-hu"
        ),
        pytest.param(
            None, None, "Anna Kovács", "HU", _name("anna", None, "kovacs"), id="western-in-hu"
        ),
        pytest.param(
            None, None, "Kovács Anna Mária", None, _name("anna", "maria", "kovacs"), id="hu-middle"
        ),
        pytest.param(
            None, None, "Nagy-Kovács Éva", "HU", _name("eva", None, "nagy kovacs"), id="hu-hyphen"
        ),
        pytest.param(
            None, None, "Kovácsné Nagy Anna", None, _name("anna", None, "kovacsne nagy"), id="hu-ne"
        ),
        pytest.param(None, None, "Xyz Abc", "HU", _name("abc", None, "xyz"), id="hu-no-evidence"),
        pytest.param(None, None, "Xyz Abc", "GB", _name("xyz", None, "abc"), id="gb-no-evidence"),
        pytest.param(
            None, None, "Wójcik Łukasz", None, _name("lukasz", None, "wojcik"), id="pl-swap"
        ),
        pytest.param(None, None, "Łukasz Wójcik", "PL", _name("lukasz", None, "wojcik"), id="pl"),
        pytest.param(None, None, "A. Kovács", None, _name("a", None, "kovacs"), id="initial-first"),
        pytest.param(None, None, "Kovács A.", None, _name("a", None, "kovacs"), id="initial-last"),
        pytest.param(
            None, None, "J.R.R. Tolkien", None, _name("j", "r r", "tolkien"), id="initials"
        ),
        pytest.param(
            None, None, "Dr. Kovács Anna", None, _name("anna", None, "kovacs"), id="title-dr"
        ),
        pytest.param(
            None, None, "ifj. Nagy László", "HU", _name("laszlo", None, "nagy"), id="title-ifj"
        ),
        pytest.param(
            None, None, "id. Nagy László", "HU", _name("laszlo", None, "nagy"), id="title-id"
        ),
        pytest.param(
            None, None, "Mr. John Smith Jr.", None, _name("john", None, "smith"), id="title-mr-jr"
        ),
        pytest.param(None, None, "Kovács, Anna", None, _name("anna", None, "kovacs"), id="comma"),
        # a bank's account holder: family name first, then the given name and an initial
        pytest.param(
            None, None, "CHADRIDGE ROBERT A", None, _name("robert", "a", "chadridge"), id="bank"
        ),
        pytest.param(
            None, None, "John Michael S.", None, _name("john", "michael", None), id="display-3"
        ),
        pytest.param(
            None,
            None,
            "THAIAWOOD BRIANA E",
            None,
            _name("briana", "e", "thaiawood"),
            id="bank-caps",
        ),
        pytest.param(
            None, None, "JOHN MICHAEL S", None, _name("john", "michael", None), id="display-caps"
        ),
        # a help-desk display name of initials, not a family name "RC"
        pytest.param(None, None, "RC", None, _name("r", None, "c"), id="initials-caps"),
        pytest.param(None, None, "JMK", None, _name("j", "m", "k"), id="initials-three"),
        pytest.param(None, None, "NG", None, _name(None, None, "ng"), id="vowelless-name"),
        pytest.param(None, None, "Rc", None, _name(None, None, "rc"), id="not-capitals"),
        pytest.param(None, None, "Smith, Jr.", None, _name(None, None, "smith"), id="comma-suffix"),
        pytest.param(
            None, None, "Ludwig van der Berg", None, _name("ludwig", None, "van der berg"), id="van"
        ),
        pytest.param(
            None,
            None,
            "David Ben-Gurion",
            None,
            _name("david", None, "ben gurion"),
            id="ben-hyphen",
        ),
        pytest.param(
            None, None, "David Ben Gurion", None, _name("david", None, "ben gurion"), id="ben"
        ),
        pytest.param(
            None, None, "Seán O'Brien", None, _name("sean", None, "obrien"), id="apostrophe"
        ),
        pytest.param(
            None,
            None,
            "Anna-Mária Kovács",
            None,
            _name("anna", "maria", "kovacs"),
            id="given-hyphen",
        ),
        pytest.param(None, None, "Anna", None, _name("anna", None, None), id="given-only"),
        pytest.param(None, None, "Kovács", None, _name(None, None, "kovacs"), id="family-only"),
        pytest.param("Anna", "Kovács", None, None, _name("anna", None, "kovacs"), id="fields"),
        pytest.param(
            "Kovács", "Anna", None, None, _name("anna", None, "kovacs"), id="fields-swapped"
        ),
        pytest.param(
            "Wójcik", "Łukasz", None, "PL", _name("lukasz", None, "wojcik"), id="pl-swapped"
        ),
        pytest.param(
            "Michael", "Jordan", None, None, _name("michael", None, "jordan"), id="no-swap"
        ),
        # Terry is also a given name, but nothing says Mercedes is not one: the fields stand
        pytest.param(
            "Mercedes", "Terry", None, None, _name("mercedes", None, "terry"), id="fields-stand"
        ),
        pytest.param("Xyz", "Abc", None, "HU", _name("xyz", None, "abc"), id="fields-unknown"),
        pytest.param(
            "Anna Mária", "Kovács", None, None, _name("anna", "maria", "kovacs"), id="fields-middle"
        ),
        pytest.param(
            "Anna Kovács", None, None, None, _name("anna", None, "kovacs"), id="all-in-given"
        ),
        pytest.param(
            None, "Kovács Anna", None, None, _name("anna", None, "kovacs"), id="all-in-family"
        ),
        pytest.param(
            "Anna",
            None,
            "Kovács Anna",
            None,
            _name("anna", None, "kovacs"),
            id="full-over-one-field",
        ),
        pytest.param("  ", None, None, None, _name(None, None, None), id="blank"),
    ],
)
def test_parse_person_name(
    given: str | None,
    family: str | None,
    full: str | None,
    country: str | None,
    expected: PersonName,
) -> None:
    assert parse_person_name(given, family, full, country) == expected


def test_person_name_derived_parts() -> None:
    name = parse_person_name(None, None, "Kovács Pista János", "HU")
    assert name.full_name == "pista janos kovacs"
    assert name.given_canon == "istvan"
    assert name.given_initial == "p"
    assert _name(None, None, None).full_name is None


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        # Hungarian
        pytest.param("Pista", "istvan", id="hu-pista"),
        pytest.param("Pisti", "istvan", id="hu-pisti"),
        pytest.param("István", "istvan", id="hu-istvan"),
        pytest.param("Kati", "katalin", id="hu-kati"),
        pytest.param("Kata", "katalin", id="hu-kata"),
        pytest.param("Erzsi", "erzsebet", id="hu-erzsi"),
        pytest.param("Böske", "erzsebet", id="hu-boske"),
        pytest.param("Laci", "laszlo", id="hu-laci"),
        pytest.param("Józsi", "jozsef", id="hu-jozsi"),
        pytest.param("Zsuzsi", "zsuzsanna", id="hu-zsuzsi"),
        pytest.param("Bandi", "andras", id="hu-bandi"),
        # Polish
        pytest.param("Kasia", "katarzyna", id="pl-kasia"),
        pytest.param("Gosia", "malgorzata", id="pl-gosia"),
        pytest.param("Małgosia", "malgorzata", id="pl-malgosia"),
        pytest.param("Olek", "aleksander", id="pl-olek"),
        pytest.param("Staszek", "stanislaw", id="pl-staszek"),
        pytest.param("Wojtek", "wojciech", id="pl-wojtek"),
        pytest.param("Kuba", "jakub", id="pl-kuba"),
        # Hebrew transliterated, with English equivalents
        pytest.param("Avi", "abraham", id="he-avi"),
        pytest.param("Avraham", "abraham", id="he-avraham"),
        pytest.param("Avrohom", "abraham", id="he-avrohom"),
        pytest.param("Yossi", "joseph", id="he-yossi"),
        pytest.param("Yosef", "joseph", id="he-yosef"),
        pytest.param("Kobi", "jacob", id="he-kobi"),
        pytest.param("Yaakov", "jacob", id="he-yaakov"),
        pytest.param("Shmulik", "samuel", id="he-shmulik"),
        pytest.param("Itzhak", "isaac", id="he-itzhak"),
        pytest.param("Yitzchak", "isaac", id="he-yitzchak"),
        pytest.param("Moishe", "moshe", id="he-moishe"),
        pytest.param("Haim", "chaim", id="he-haim"),
        pytest.param("Rivky", "rebecca", id="he-rivky"),
        pytest.param("Ze'ev", "zeev", id="he-zeev-apostrophe"),
        # English
        pytest.param("Bill", "william", id="en-bill"),
        pytest.param("Will", "william", id="en-will"),
        pytest.param("Billy", "william", id="en-billy"),
        pytest.param("Bob", "robert", id="en-bob"),
        pytest.param("Rob", "robert", id="en-rob"),
        pytest.param("Liz", "elizabeth", id="en-liz"),
        pytest.param("Beth", "elizabeth", id="en-beth"),
        pytest.param("Peggy", "margaret", id="en-peggy"),
        pytest.param("Maggie", "margaret", id="en-maggie"),
        pytest.param("Joe", "joseph", id="en-joe-joins-yosef"),
        # not in the tables, or ambiguous: left as it is
        pytest.param("Zebulon", "zebulon", id="unknown"),
        pytest.param("Alex", "alex", id="ambiguous-alex"),
        pytest.param("Anna-Mária", "anna", id="compound-first-part"),
    ],
)
def test_canonical_given(name: str, canonical: str) -> None:
    assert canonical_given(name) == canonical


@pytest.mark.parametrize(
    ("name", "canons"),
    [
        pytest.param("Alex", {"alexander", "alexandra"}, id="alex"),
        pytest.param("Chris", {"christopher", "christina"}, id="chris"),
        pytest.param("Pista", {"istvan"}, id="unambiguous"),
        pytest.param("Zebulon", {"zebulon"}, id="unknown"),
    ],
)
def test_nickname_canons(name: str, canons: set[str]) -> None:
    assert nickname_canons(name) == canons


def test_every_locale_has_forty_names_with_variants() -> None:
    heads: dict[str, set[str]] = {locale: set() for locale in LOCALES}
    for locale, name, variants in read_table("nicknames.csv", 3):
        assert variants.split(), f"{locale} {name} has no variants"
        heads[locale].add(name)
    assert {locale: len(names) >= 40 for locale, names in heads.items()} == dict.fromkeys(
        LOCALES, True
    )


def test_equivalents_name_heads_and_canonicals_are_heads() -> None:
    tables = name_tables()
    for canons in tables.canons_of_name.values():
        assert canons <= set(tables.canon_of_head.values())
    assert tables.canon_of_head["yosef"] == tables.canon_of_head["joseph"] == "joseph"


@pytest.mark.parametrize(
    ("org", "expected"),
    [
        pytest.param("Kovács és Társa Kft.", "kovacs", id="hu-kft-es-tarsa"),
        pytest.param("Gamma Zrt.", "gamma", id="hu-zrt"),
        pytest.param("Beta Sp. z o.o.", "beta", id="pl-sp-z-oo"),
        pytest.param("Alfa Sp. z o.o. Sp.k.", "alfa", id="pl-stacked"),
        pytest.param("Acme, Inc.", "acme", id="en-inc"),
        pytest.param("Smith & Co. Ltd", "smith", id="en-co-ltd"),
        pytest.param("Siemens AG", "siemens", id="de-ag"),
        pytest.param("Müller GmbH", "muller", id="de-gmbh"),
        pytest.param("OOO Romashka", "romashka", id="ru-prefix"),
        pytest.param("Ltd", "ltd", id="form-only-kept"),
        pytest.param("Apple", "apple", id="no-form"),
    ],
)
def test_strip_legal_form(org: str, expected: str) -> None:
    assert strip_legal_form(org) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Acme Kft.", True, id="kft"),
        pytest.param("Teva Pharmaceutical Industries Ltd.", True, id="ltd"),
        pytest.param("Anna Kovács", False, id="person"),
    ],
)
def test_has_legal_form(name: str, expected: bool) -> None:
    assert has_legal_form(name) is expected
