"""Survivorship: labelled cases per rule, the field defaults, overrides, and order-independence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity import survivorship
from identity.survivorship import (
    ADDRESS_FIELDS,
    DEFAULT_RULES,
    RULES,
    explain,
    is_valid,
    resolve_rules,
    survive,
)

T1, T2, T3 = "2024-01-01T00:00:00", "2024-06-01T00:00:00", "2025-01-01T00:00:00+00:00"


def rec(source: str, source_id: str, **fields: Any) -> dict[str, Any]:
    return {"source": source, "source_id": source_id, **fields}


# label, field, rule chain, members, source priority, expected value, winner key, deciding rule
RULE_CASES: list[tuple[str, str, str, list[dict[str, Any]], list[str], Any, Any, str]] = [
    (
        "source_priority: the most trusted source wins",
        "email",
        "source_priority",
        [rec("crm", "1", email="a@crm.hu"), rec("erp", "9", email="a@erp.hu")],
        ["erp", "crm"],
        "a@erp.hu",
        ("erp", "9"),
        "source_priority",
    ),
    (
        "source_priority: unlisted sources rank after listed ones",
        "email",
        "source_priority",
        [rec("shop", "1", email="a@shop.hu"), rec("crm", "2", email="a@crm.hu")],
        ["crm"],
        "a@crm.hu",
        ("crm", "2"),
        "source_priority",
    ),
    (
        "most_recent: the newest record wins",
        "email",
        "most_recent",
        [
            rec("crm", "1", email="old@x.hu", updated_at=T1),
            rec("erp", "2", email="new@x.hu", updated_at=T2),
        ],
        ["crm"],
        "new@x.hu",
        ("erp", "2"),
        "most_recent",
    ),
    (
        "most_recent: a missing timestamp ranks last",
        "email",
        "most_recent",
        [rec("crm", "1", email="none@x.hu"), rec("erp", "2", email="dated@x.hu", updated_at=T1)],
        ["crm"],
        "dated@x.hu",
        ("erp", "2"),
        "most_recent",
    ),
    (
        "most_recent: datetimes and ISO strings compare, naive means UTC",
        "email",
        "most_recent",
        [
            rec("crm", "1", email="a@x.hu", updated_at=dt.datetime(2025, 1, 1, 0, 30)),
            rec("erp", "2", email="b@x.hu", updated_at="2025-01-01T01:00:00+01:00"),
        ],
        [],
        "a@x.hu",
        ("crm", "1"),
        "most_recent",
    ),
    (
        "most_frequent: the majority wins after case and whitespace folding",
        "tax_id",
        "most_frequent",
        [
            rec("crm", "1", tax_id="12345678-1-42"),
            rec("erp", "2", tax_id="12345678 1 42"),
            rec("shop", "3", tax_id="87654321-1-42"),
        ],
        ["shop"],
        "12345678-1-42",
        ("crm", "1"),
        "most_frequent",
    ),
    (
        "most_frequent: a tie goes to the trusted source",
        "birth_date",
        "most_frequent",
        [rec("crm", "1", birth_date="1980-01-02"), rec("erp", "2", birth_date="1980-02-01")],
        ["erp", "crm"],
        "1980-02-01",
        ("erp", "2"),
        "source_priority",
    ),
    (
        "most_frequent: a tie without trust order goes to the newest",
        "birth_date",
        "most_frequent",
        [
            rec("crm", "1", birth_date="1980-01-02", updated_at=T2),
            rec("erp", "2", birth_date="1980-02-01", updated_at=T1),
        ],
        [],
        "1980-01-02",
        ("crm", "1"),
        "most_recent",
    ),
    (
        "most_complete: a full name beats initials",
        "full_name",
        "most_complete",
        [rec("crm", "1", full_name="Kovács A."), rec("erp", "2", full_name="Kovács Anna Mária")],
        ["crm"],
        "Kovács Anna Mária",
        ("erp", "2"),
        "most_complete",
    ),
    (
        "most_complete: accents beat their plain spelling",
        "family_name",
        "most_complete",
        [rec("crm", "1", family_name="Kovacs"), rec("erp", "2", family_name="Kovács")],
        ["crm"],
        "Kovács",
        ("erp", "2"),
        "most_complete",
    ),
    (
        "valid_format: a malformed e-mail loses to an older valid one",
        "email",
        "valid_format,most_recent",
        [
            rec("crm", "1", email="anna@example.hu", updated_at=T1),
            rec("erp", "2", email="anna(at)example.hu", updated_at=T2),
        ],
        [],
        "anna@example.hu",
        ("crm", "1"),
        "valid_format",
    ),
    (
        "valid_format: a parseable phone beats free text",
        "phone",
        "valid_format",
        [rec("crm", "1", phone="call after 5pm"), rec("erp", "2", phone="+36 30 123 4567")],
        ["crm"],
        "+36 30 123 4567",
        ("erp", "2"),
        "valid_format",
    ),
    (
        "valid_format: a real date beats an impossible one",
        "birth_date",
        "valid_format",
        [rec("crm", "1", birth_date="1980-02-30"), rec("erp", "2", birth_date="1980-02-03")],
        ["crm"],
        "1980-02-03",
        ("erp", "2"),
        "valid_format",
    ),
    (
        "chain: when no value is valid the next rule decides",
        "email",
        "valid_format,most_recent",
        [
            rec("crm", "1", email="no-at-sign", updated_at=T1),
            rec("erp", "2", email="also wrong", updated_at=T2),
        ],
        [],
        "also wrong",
        ("erp", "2"),
        "most_recent",
    ),
    (
        "chain: when all values are valid the next rule decides",
        "email",
        "valid_format,source_priority,most_recent",
        [rec("crm", "1", email="a@crm.hu", updated_at=T3), rec("erp", "2", email="a@erp.hu")],
        ["erp"],
        "a@erp.hu",
        ("erp", "2"),
        "source_priority",
    ),
    (
        "chain: equal values need no tie-break; the first rule is named",
        "email",
        "valid_format,most_recent",
        [rec("crm", "1", email="A@x.hu"), rec("erp", "2", email="a@x.hu", updated_at=T1)],
        ["crm"],
        "A@x.hu",
        ("crm", "1"),
        "valid_format",
    ),
    (
        "stable_order: nothing else separates the values",
        "email",
        "most_recent",
        [rec("erp", "2", email="b@x.hu"), rec("crm", "1", email="a@x.hu")],
        [],
        "a@x.hu",
        ("crm", "1"),
        "stable_order",
    ),
]


@pytest.mark.parametrize(
    ("field", "chain", "members", "priority", "value", "winner", "rule"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
def test_rule(
    field: str,
    chain: str,
    members: list[dict[str, Any]],
    priority: list[str],
    value: Any,
    winner: tuple[str, str],
    rule: str,
) -> None:
    golden = survive(members, source_priority=priority, rules={field: chain})
    assert golden.values[field] == value
    prov = golden.provenance[field]
    assert (prov.value, (prov.source, prov.source_id), prov.rule) == (value, winner, rule)


# label, field, members, source priority, expected value, deciding rule (defaults only)
DEFAULT_CASES: list[tuple[str, str, list[dict[str, Any]], list[str], Any, str]] = [
    (
        "names: a trusted source's initials lose to the written-out name",
        "given_name",
        [rec("crm", "1", given_name="A."), rec("erp", "2", given_name="Anna Mária")],
        ["crm"],
        "Anna Mária",
        "written_out",
    ),
    (
        "names: a trusted source's abbreviated full name loses to its written-out form",
        "full_name",
        [rec("crm", "1", full_name="Kovacs A."), rec("erp", "2", full_name="Kovács Anna")],
        ["crm"],
        "Kovács Anna",
        "written_out",
    ),
    (
        "names: the configured priority comes before 'most complete'",
        "given_name",
        [rec("erp", "1", given_name="Anna"), rec("billing", "2", given_name="Annamária Kata")],
        ["erp", "billing"],
        "Anna",
        "source_priority",
    ),
    (
        "names: without a priority the most complete wins",
        "given_name",
        [rec("erp", "1", given_name="Anna"), rec("billing", "2", given_name="Annamária Kata")],
        [],
        "Annamária Kata",
        "most_complete",
    ),
    (
        "names: equally complete goes to the trusted source",
        "organization_name",
        [
            rec("crm", "1", organization_name="Acme Kft."),
            rec("erp", "2", organization_name="ACNE Kft"),
        ],
        ["erp"],
        "ACNE Kft",
        "source_priority",
    ),
    (
        "email: valid beats newer invalid",
        "email",
        [
            rec("crm", "1", email="anna@x.hu", updated_at=T1),
            rec("erp", "2", email="anna@", updated_at=T2),
        ],
        ["erp"],
        "anna@x.hu",
        "valid_format",
    ),
    (
        "phone: both valid, newest wins over trusted",
        "phone",
        [
            rec("crm", "1", phone="+36301234567", updated_at=T2),
            rec("erp", "2", phone="06301234567", updated_at=T1),
        ],
        ["erp"],
        "+36301234567",
        "most_recent",
    ),
    (
        "tax_id: the majority wins over the trusted source",
        "tax_id",
        [
            rec("crm", "1", tax_id="111"),
            rec("crm", "2", tax_id="111"),
            rec("erp", "3", tax_id="222"),
        ],
        ["erp"],
        "111",
        "most_frequent",
    ),
    (
        "birth_date: a tie goes to the trusted source",
        "birth_date",
        [rec("crm", "1", birth_date="1980-01-02"), rec("erp", "2", birth_date="1981-01-02")],
        ["erp"],
        "1981-01-02",
        "source_priority",
    ),
    (
        "kind: the majority",
        "kind",
        [
            rec("a", "1", kind="person"),
            rec("b", "2", kind="person"),
            rec("c", "3", kind="organization"),
        ],
        ["c"],
        "person",
        "most_frequent",
    ),
    (
        "updated_at: the latest",
        "updated_at",
        [rec("a", "1", updated_at=T1), rec("b", "2", updated_at=T3)],
        ["a"],
        T3,
        "most_recent",
    ),
]


@pytest.mark.parametrize(
    ("field", "members", "priority", "value", "rule"),
    [case[1:] for case in DEFAULT_CASES],
    ids=[case[0] for case in DEFAULT_CASES],
)
def test_field_default(
    field: str, members: list[dict[str, Any]], priority: list[str], value: Any, rule: str
) -> None:
    golden = survive(members, source_priority=priority)
    assert (golden.values[field], golden.provenance[field].rule) == (value, rule)


def test_defaults_cover_every_golden_field() -> None:
    chains = resolve_rules()
    for field in survivorship.GOLDEN_FIELDS:
        assert (survivorship.ADDRESS if field in ADDRESS_FIELDS else field) in chains


def test_address_is_taken_together_from_one_member() -> None:
    full = rec(
        "crm", "1", street="Fő utca", house_number="12", postal_code="1011", city="Budapest",
        country="HU", updated_at=T1,
    )  # fmt: skip
    newer = rec("erp", "2", street="Andrássy út", city="Budapest", updated_at=T2)
    golden = survive([full, newer], source_priority=["crm"])
    address = {f: golden.values[f] for f in ADDRESS_FIELDS}
    assert address == {
        "street": "Andrássy út", "house_number": None, "postal_code": None,
        "city": "Budapest", "country": None,
    }  # fmt: skip
    assert {
        (p.source, p.source_id, p.rule) for f, p in golden.provenance.items() if f in address
    } == {("erp", "2", "most_recent")}
    assert "house_number" not in golden.provenance


def test_address_tie_goes_to_the_trusted_source() -> None:
    members = [rec("crm", "1", city="Pécs"), rec("erp", "2", city="Győr", postal_code="9021")]
    golden = survive(members, source_priority=["crm"])
    assert (golden.values["city"], golden.values["postal_code"]) == ("Pécs", None)
    assert golden.provenance["city"].rule == "source_priority"


@pytest.mark.parametrize("blank", [None, "", "   "], ids=["none", "empty", "whitespace"])
def test_blank_never_wins(blank: Any) -> None:
    members = [
        rec("crm", "1", email="anna@x.hu", full_name="Kovács Anna", updated_at=T1),
        rec("erp", "2", email=blank, full_name=blank, updated_at=T3),
    ]
    golden = survive(members, source_priority=["erp"], rules={"full_name": "source_priority"})
    assert golden.values["email"] == "anna@x.hu"
    assert golden.values["full_name"] == "Kovács Anna"
    assert golden.provenance["full_name"].source == "crm"


def test_a_field_nobody_has_stays_null_without_provenance() -> None:
    golden = survive([rec("crm", "1", email="a@x.hu")])
    assert golden.values["tax_id"] is None
    assert "tax_id" not in golden.provenance
    assert set(golden.values) == set(survivorship.GOLDEN_FIELDS)


def test_manual_override_wins_and_is_marked_manual() -> None:
    at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    members = [rec("crm", "1", email="anna@x.hu", city="Pécs"), rec("erp", "2", email="b@x.hu")]
    golden = survive(
        members,
        source_priority=["crm"],
        overrides={"email": ("anna.kovacs@x.hu", "steward@hub", at), "tax_id": (None, "eve", "t")},
    )
    prov = golden.provenance["email"]
    assert golden.values["email"] == "anna.kovacs@x.hu"
    assert (prov.rule, prov.by, prov.at, prov.source, prov.source_id) == (
        "manual", "steward@hub", at, None, None,
    )  # fmt: skip
    assert golden.values["tax_id"] is None and golden.provenance["tax_id"].rule == "manual"
    assert golden.values["city"] == "Pécs"


def test_golden_record_lists_sorted_members() -> None:
    golden = survive([rec("erp", "2"), rec("crm", "9"), rec("crm", "10")])
    assert golden.members == (("crm", "10"), ("crm", "9"), ("erp", "2"))


BAD_INPUT: list[tuple[str, dict[str, Any]]] = [
    ("unknown rule", {"rules": {"email": "newest"}}),
    ("empty chain", {"rules": {"email": " , "}}),
    ("unknown field", {"rules": {"nickname": "most_recent"}}),
    ("an address part alone", {"rules": {"city": "most_recent"}}),
    ("override of an unknown field", {"overrides": {"nickname": ("x", "eve", "now")}}),
]


@pytest.mark.parametrize("kwargs", [c[1] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_configuration_is_a_clear_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"survivorship\.|override"):
        survive([rec("crm", "1")], **kwargs)


def test_bad_members_are_errors() -> None:
    with pytest.raises(ValueError, match="at least one"):
        survive([])
    with pytest.raises(ValueError, match="duplicate"):
        survive([rec("crm", "1"), rec("crm", "1")])
    with pytest.raises(ValueError, match="source_id"):
        survive([{"source": "crm"}])


VALIDITY: list[tuple[str, Any, bool]] = [
    ("email", "anna.kovacs+news@example.co.hu", True),
    ("email", "anna@localhost", False),
    ("email", "anna..k@example.hu", False),
    ("email", "anna@exa mple.hu", False),
    ("phone", "+36 (30) 123-4567", True),
    ("phone", "06301234567", True),
    ("phone", "+3612", False),
    ("phone", "n/a", False),
    ("birth_date", "1980-02-29", True),
    ("birth_date", "1981-02-29", False),
    ("birth_date", "02/03/1980", False),
    ("birth_date", dt.date(1980, 2, 3), True),
    ("country", "HU", True),
    ("country", "XX", False),
    ("country", "Hungary", False),
    ("postal_code", "SW1A 1AA", True),
    ("postal_code", "00-950", True),
    ("postal_code", "#12", False),
    ("kind", "person", True),
    ("kind", "robot", False),
    ("street", "anything goes", True),
]


@pytest.mark.parametrize(
    ("field", "value", "valid"), VALIDITY, ids=[f"{f}={v}" for f, v, _ in VALIDITY]
)
def test_is_valid(field: str, value: Any, valid: bool) -> None:
    assert is_valid(field, value) is valid


def test_every_rule_explains_itself_in_one_line() -> None:
    for name in RULES:
        text = explain(name)
        assert text.endswith(".") and "\n" not in text, name
    assert "steward" in explain("manual")
    for chain in DEFAULT_RULES.values():
        assert all(rule in RULES for rule in chain.split(","))


def test_public_names() -> None:
    assert all(hasattr(survivorship, name) for name in survivorship.__all__)


_SOURCES = ["crm", "erp", "shop"]
_member = st.fixed_dictionaries(
    {
        "source": st.sampled_from(_SOURCES),
        "email": st.sampled_from([None, "", "a@x.hu", "A@X.HU", "b@x.hu", "bad"]),
        "full_name": st.sampled_from(
            [None, "Kovács A.", "Kovács Anna", "kovács anna", "Kovacs Anna"]
        ),
        "birth_date": st.sampled_from([None, "1980-01-02", "1980-02-01", "1980-02-30"]),
        "city": st.sampled_from([None, "Pécs", "Győr"]),
        "street": st.sampled_from([None, "Fő utca"]),
        "kind": st.sampled_from([None, "person", "organization"]),
        "updated_at": st.sampled_from([None, T1, T2, T3]),
    }
)


@settings(max_examples=200, deadline=None)
@given(
    members=st.lists(_member, min_size=1, max_size=6),
    priority=st.permutations(_SOURCES).map(lambda p: p[:2]),
    data=st.data(),
)
def test_survive_is_order_independent(
    members: list[dict[str, Any]], priority: list[str], data: st.DataObject
) -> None:
    for i, member in enumerate(members):
        member["source_id"] = str(i)
    shuffled = data.draw(st.permutations(members))
    assert survive(shuffled, source_priority=priority) == survive(members, source_priority=priority)


@pytest.mark.parametrize(
    ("field", "value", "is_a_name"),
    [
        ("given_name", "Anna", True),
        ("family_name", "O'Brien-Smith", True),
        ("full_name", "José María Núñez", True),
        ("given_name", "<script>alert(1)</script> Anna", False),
        ("full_name", "Visit http://spam.example", False),
        ("full_name", "www.cheap-pills.example", False),
        ("given_name", "Anna2", False),
        ("family_name", "Kovács\x07", False),
        ("organization_name", "7-Eleven", True),
        ("organization_name", "3M <b>Hungary</b>", False),
    ],
)
def test_is_name(field: str, value: str, is_a_name: bool) -> None:
    assert survivorship.is_name(field, value) is is_a_name


def test_junk_never_takes_over_a_golden_name() -> None:
    erp = rec("erp", "1", given_name="Anna", family_name="Kovács", updated_at=T1)
    junk = rec(
        "billing", "B1", given_name="<script>alert(1)</script> Anna", family_name="Kovács",
        full_name="<script>alert(1)</script> Anna Kovács", updated_at=T2,
    )  # fmt: skip
    golden = survive([erp, junk], source_priority=["billing", "erp"])  # junk even ranked first
    assert golden.values["given_name"] == "Anna"
    assert golden.provenance["given_name"].source == "erp"
    assert golden.values["full_name"] is None  # only junk offered one: none is better
