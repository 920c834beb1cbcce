"""The Standardise stage: the frame contract, record-level decisions, and folding."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import identity.standardise as standardise_module
from identity.folding import fold
from identity.frame import COLUMNS
from identity.standardise import standardise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Kovács", "kovacs", id="hu-acute"),
        pytest.param("Łukasz", "lukasz", id="pl-l-stroke"),
        pytest.param("Wójcik", "wojcik", id="pl-o-acute"),
        pytest.param("Őrség Űrhajó", "orseg urhajo", id="hu-double-acute"),
        pytest.param("Straße", "strasse", id="de-eszett"),
        pytest.param("Ørsted", "orsted", id="da-o-stroke"),
        pytest.param("Ærø", "aero", id="da-ae"),
        pytest.param("Đorđe", "dorde", id="sr-d-stroke"),
        pytest.param("Иван Петров", "ivan petrov", id="cyrillic"),
        pytest.param("O'Brien", "obrien", id="apostrophe-dropped"),
        pytest.param("O\u2019Brien", "obrien", id="typographic-apostrophe"),
        pytest.param("Kovács-Nagy, Éva", "kovacs nagy eva", id="punctuation-to-space"),
        pytest.param("  Anna \t Maria\n", "anna maria", id="whitespace-collapsed"),
        pytest.param("ACME Kft.", "acme kft", id="lower"),
        pytest.param("", "", id="empty"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


@given(st.text(max_size=30))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(max_size=30))
def test_fold_gives_lower_ascii_words(text: str) -> None:
    folded = fold(text)
    assert folded.isascii()
    assert folded == folded.lower().strip()
    assert "  " not in folded


def _record(**fields: Any) -> dict[str, Any]:
    return {"source": "crm", "source_id": "1", **fields}


def test_frame_has_exactly_the_contract_columns_in_order() -> None:
    frame = standardise([_record(full_name="Kovács Anna"), _record(source_id="2")])
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame.index) == [0, 1]


def test_empty_input_gives_an_empty_frame_with_the_columns() -> None:
    frame = standardise([])
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 0


def test_accepts_any_iterable() -> None:
    frame = standardise(_record(source_id=str(i)) for i in range(3))
    assert list(frame["source_id"]) == ["0", "1", "2"]


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(6)))
def test_rows_follow_input_order(order: list[int]) -> None:
    people = ["Kovács Anna", "Nagy Pista", "Bill Smith", "Kasia Nowak", "Avi Cohen", "Acme Kft."]
    records = [_record(source_id=str(i), full_name=people[i]) for i in order]
    frame = standardise(records)
    alone = {i: standardise([_record(source_id=str(i), full_name=people[i])]) for i in order}
    assert list(frame["source_id"]) == [str(i) for i in order]
    for row, i in enumerate(order):
        assert frame.iloc[row].to_dict() == alone[i].iloc[0].to_dict()


def test_a_person_record() -> None:
    record = _record(
        kind="person",
        full_name="Kovács Pisti",
        email=" Pisti.Kovacs+shop@GoogleMail.com ",
        phone="06 30 123 4567",
        birth_date="1980.02.29",
        street="Kossuth Lajos u. 12/A",
        postal_code="H-1051",
        city="Budapest",
        country="hu",
        tax_id="8123456789",
        updated_at=dt.datetime(2024, 5, 1, 10, 0),
        extra="ignored",
    )
    row = standardise([record]).iloc[0].to_dict()
    assert row == {
        "source": "crm",
        "source_id": "1",
        "kind": "person",
        "given": "pisti",
        "given_canon": "istvan",
        "given_initial": "p",
        "middle": None,
        "family": "kovacs",
        "full_name": "pisti kovacs",
        "org": None,
        "email": "pistikovacs@gmail.com",
        "email_local": "pistikovacs",
        "phone": "+36301234567",
        "birth_date": "1980-02-29",
        "tax_id": "8123456789",
        "street": "kossuth lajos utca",
        "house_number": "12 a",
        "postal_code": "1051",
        "city": "budapest",
        "country": "HU",
        "updated_at": "2024-05-01T10:00:00",
        "placeholder_fields": None,
    }


def test_an_organisation_record_fills_org_only() -> None:
    record = _record(
        kind="organization", organization_name="Kovács és Társa Kft.", given_name="Anna"
    )
    row = standardise([record]).iloc[0]
    assert row["kind"] == "organization"
    assert row["org"] == "kovacs"
    person_columns = ["given", "given_canon", "given_initial", "middle", "family", "full_name"]
    assert row[person_columns].isna().all()


@pytest.mark.parametrize(
    ("fields", "kind", "org"),
    [
        pytest.param({"organization_name": "Acme Ltd"}, "organization", "acme", id="org-name-only"),
        pytest.param({"full_name": "Acme Kft."}, "organization", "acme", id="legal-form-in-name"),
        pytest.param({"full_name": "Kovács Anna"}, "person", None, id="person-name"),
        pytest.param(
            {"given_name": "Anna", "organization_name": "Acme Zrt."},
            "person",
            "acme",
            id="employer",
        ),
        pytest.param(
            {"kind": "Organisation", "full_name": "Acme"}, "organization", "acme", id="uk"
        ),
        pytest.param({}, "person", None, id="nothing-says-otherwise"),
        # a help-desk requester named after the company its role mailbox belongs to
        pytest.param(
            {"full_name": "Ayers", "email": "accounts@ayers.com"},
            "organization",
            "ayers",
            id="role-mailbox-of-its-name",
        ),
        pytest.param(
            {"full_name": "Pomares Tech", "email": "Office@PomaresTech.es"},
            "organization",
            "pomares tech",
            id="role-mailbox-two-words",
        ),
        pytest.param(
            {"kind": "person", "full_name": "Kiss Bau", "email": "info@kissbau.hu"},
            "organization",
            "kiss bau",
            id="a-source-saying-person-is-overruled-by-its-mailbox",
        ),
        # a person writing from the company's role mailbox stays a person
        pytest.param(
            {"full_name": "Sean Pratt", "email": "info@ayers.com"}, "person", None, id="employee"
        ),
        # a person's own mailbox at a domain of their name: not a role mailbox
        pytest.param(
            {"full_name": "Sean Pratt", "email": "sean@seanpratt.com"},
            "person",
            None,
            id="own-domain",
        ),
    ],
)
def test_kind_is_inferred(fields: dict[str, Any], kind: str, org: str | None) -> None:
    row = standardise([_record(**fields)]).iloc[0]
    assert (row["kind"], row["org"]) == (kind, org)


def test_hungarian_order_and_swapped_fields_give_the_same_person() -> None:
    frame = standardise(
        [
            _record(full_name="Kovács Anna", country="HU"),
            _record(full_name="Anna Kovács"),
            _record(given_name="Kovács", family_name="Anna"),
            _record(given_name="Anna", family_name="Kovács"),
        ]
    )
    assert set(frame["full_name"]) == {"anna kovacs"}
    assert set(frame["family"]) == {"kovacs"}


def test_placeholders_are_blanked_and_listed() -> None:
    record = _record(
        given_name="n/a",
        family_name="Smith",
        email="test@test.com",
        phone="000000",
        birth_date=dt.date(1900, 1, 1),
        tax_id="00000000",
        city="-",
    )
    row = standardise([record]).iloc[0]
    assert row["placeholder_fields"] == "given,email,phone,birth_date,tax_id,city"
    assert row[["given", "email", "phone", "birth_date", "tax_id", "city"]].isna().all()
    assert row["family"] == "smith"


def test_country_is_inferred_from_an_international_phone() -> None:
    frame = standardise(
        [_record(phone="+48 601 234 567"), _record(phone="+48 601 234 567", country="HU")]
    )
    assert list(frame["country"]) == ["PL", "HU"]


def test_without_a_country_the_email_domain_reads_phone_and_name_order() -> None:
    support = _record(
        full_name="Kovács Anna", email="anna.kovacs@t-online.hu", phone="06 30 123 4567"
    )
    frame = standardise([support, _record(email="jo@gmail.com", phone="06 30 123 4567")])
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first["country"], first["phone"]) == ("HU", "+36301234567")
    assert (first["given"], first["family"]) == ("anna", "kovacs")
    # whose 06 30 is it? Not read as Hungarian: its digits are compared as written
    assert second["country"] is None and second["phone"] == "6301234567"


def test_missing_and_odd_values() -> None:
    frame = standardise(
        [
            _record(email=None, phone="", city="  ", postal_code=1051, house_number=12),
            _record(full_name=["not", "a", "string"]),
        ]
    )
    first = frame.iloc[0]
    assert first[["email", "phone", "city"]].isna().all()
    assert (first["postal_code"], first["house_number"]) == ("1051", "12")
    assert isinstance(frame, pd.DataFrame)


def test_public_names_are_all_defined() -> None:
    for name in standardise_module.__all__:
        assert callable(getattr(standardise_module, name)), name
