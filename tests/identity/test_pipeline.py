"""Blocking, comparisons, scoring and incremental matching on standardised records."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from identity.blocking import (
    BlockingRule,
    add_derived_keys,
    candidate_pairs,
    derived_keys,
    estimate_pairs,
)
from identity.compare import COMPARISONS, compare_pairs
from identity.resolve import Settings, resolve, standardised
from identity.score import estimate, score
from identity.standardise import standardise


def rec(sid: str, **fields: Any) -> dict[str, Any]:
    return {"source": fields.pop("source", "erp"), "source_id": sid, **fields}


ANNA = rec(
    "1",
    given_name="Anna",
    family_name="Kovács",
    email="anna.kovacs@mail.hu",
    phone="+36 30 123 4567",
    country="HU",
    birth_date="1980-02-03",
    city="Budapest",
)
ANNA_SUPPORT = rec(
    "S1",
    source="support",
    full_name="Kovács Anna",
    email="Anna.Kovacs+help@mail.hu",
    phone="06 30 123 4567",
    country="HU",
)
ACME = rec(
    "B7",
    source="billing",
    kind="organization",
    organization_name="Acme Kft.",
    email="anna.kovacs@mail.hu",
)


def levels_for(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    frame = add_derived_keys(standardise([a, b]))
    out = compare_pairs(frame, np.array([0]), np.array([1]))[0]
    return {c.name: int(level) for c, level in zip(COMPARISONS, out, strict=True)}


CASES = [
    (
        "nickname is the same given name",
        rec("1", given_name="István", family_name="Nagy"),
        rec("2", given_name="Pista", family_name="Nagy"),
        "given_name",
        3,
    ),
    (
        "typo is similar",
        rec("1", given_name="Katarzyna", family_name="Wójcik"),
        rec("2", given_name="Katarzyna", family_name="Wojcick"),
        "family_name",
        2,
    ),
    (
        "initial only",
        rec("1", given_name="A", family_name="Kovács"),
        rec("2", given_name="Anna", family_name="Kovács"),
        "given_name",
        1,
    ),
    (
        "swapped names",
        rec("1", given_name="Quarmby", family_name="Zebulon"),
        rec("2", given_name="Zebulon", family_name="Quarmby"),
        "family_name",
        2,
    ),
    (
        "missing is no evidence",
        rec("1", given_name="Anna"),
        rec("2", family_name="Nagy"),
        "given_name",
        -1,
    ),
    (
        "birth date one digit off",
        rec("1", birth_date="1980-02-03"),
        rec("2", birth_date="1980-02-08"),
        "birth_date",
        2,
    ),
    (
        "e-mail +tag and case",
        rec("1", email="Anna+x@Mail.HU"),
        rec("2", email="anna@mail.hu"),
        "email",
        3,
    ),
    (
        "same user name elsewhere",
        rec("1", email="anna.k@freemail.hu"),
        rec("2", email="anna.k@yahoo.com"),
        "email",
        2,
    ),
    (
        "phone national vs international",
        rec("1", phone="06 30 123 4567", country="HU"),
        rec("2", phone="+36301234567"),
        "phone",
        2,
    ),
    (
        "phone without a country vs the international form ending in its digits",
        rec("1", phone="(325) 571-5714", email="a@gmail.com"),
        rec("2", phone="+1 325 571 5714"),
        "phone",
        2,
    ),
    (
        "phone with an unassigned area code, written two ways",
        rec("1", phone="(644) 843-9419", country="US"),
        rec("2", phone="+16448439419"),
        "phone",
        2,
    ),
    (
        "phone: same last seven digits, another area code",
        rec("1", phone="(644) 843-9419", country="US"),
        rec("2", phone="+1 645 843 9419"),
        "phone",
        1,
    ),
    (
        "phone without a country, another area code than the international one",
        rec("1", phone="425-571-5714"),
        rec("2", phone="+1 325 571 5714"),
        "phone",
        1,
    ),
    (
        "same street and number",
        rec("1", street="Váci u.", house_number="5"),
        rec("2", street="Váci utca", house_number="5"),
        "street",
        3,
    ),
    (
        "neighbour",
        rec("1", street="Váci utca", house_number="5"),
        rec("2", street="Váci utca", house_number="7"),
        "street",
        1,
    ),
    (
        "streets sharing only their type are different",
        rec("1", street="ul. Szarych Szeregów", house_number="3", country="PL"),
        rec("2", street="ulica Bolesława Chrobrego", house_number="3", country="PL"),
        "street",
        0,
    ),
    (
        "street name misspelt is similar",
        rec("1", street="Walker Drive", house_number="33"),
        rec("2", street="Walkre Dr", house_number="33"),
        "street",
        1,
    ),
    (
        "a transposed short given name is similar",
        rec("1", given_name="Noa", family_name="Ashkenazi"),
        rec("2", given_name="Nao", family_name="Ashkenazi"),
        "given_name",
        2,
    ),
    (
        "a misspelt nickname is similar",
        rec("1", given_name="Kati", family_name="Major"),
        rec("2", given_name="Ktai", family_name="Major"),
        "given_name",
        2,
    ),
    (
        "e-mails differing in digits only are different addresses",
        rec("1", given_name="Éva", family_name="Kovács", email="eva_kovacs2@citromail.hu"),
        rec("2", given_name="Évi", family_name="Kovács", email="eva_kovacs@citromail.hu"),
        "email",
        0,
    ),
    (
        "a typo in an e-mail user name",
        rec("1", given_name="Uri", family_name="Cohen", email="uri.cochen2@bezeqint.net"),
        rec("2", full_name="U. Cohen", email="URI.COHEN2@BEZEQINT.NET"),
        "email",
        1,
    ),
    (
        "a user name spelling only the name (nickname on one side) is no extra evidence",
        rec("1", given_name="Kati", family_name="Szabó", email="szabo.katalin2@yahoo.com"),
        rec("2", given_name="Katalin", family_name="Szabó", email="szabo.katalin2@t-online.hu"),
        "email",
        -1,
    ),
    (
        "a family mailbox shared by two given names is the household's",
        rec("1", given_name="Natan", family_name="Buszta", email="rodzinabuszta@gmail.com"),
        rec("2", given_name="Stanisław", family_name="Buszta", email="rodzinabuszta@gmail.com"),
        "email",
        -1,
    ),
    (
        "a family mailbox's user name at another provider is the household's too",
        rec("1", given_name="Natan", family_name="Buszta", email="rodzinabuszta@gmail.com"),
        rec("2", given_name="Stanisław", family_name="Buszta", email="rodzinabuszta@wp.pl"),
        "email",
        -1,
    ),
    (
        "a personal address stays evidence despite another given name on record",
        rec("1", given_name="Matthew", family_name="Burnett", email="burnettm27@yahoo.com"),
        rec("2", given_name="Maat", family_name="Burnett", email="burnettm27@yahoo.com"),
        "email",
        3,
    ),
    (
        "an e-mail ending in the other's birth year",
        rec("1", full_name="Kovács Anita", email="anita.kovacs49@yahoo.com"),
        rec("2", given_name="A.", family_name="Kovács", birth_date="1949-10-30"),
        "email_birth_year",
        1,
    ),
    (
        "an e-mail ending in another year",
        rec("1", full_name="Kovács Anita", email="kovacs.anita1972@yahoo.com"),
        rec("2", given_name="A.", family_name="Kovács", birth_date="1949-10-30"),
        "email_birth_year",
        0,
    ),
    (
        "both birth dates known: the birth date comparison speaks, not the e-mail",
        rec("1", email="anita.kovacs49@yahoo.com", birth_date="1949-10-30"),
        rec("2", email="anita.kovacs49@yahoo.com", birth_date="1949-10-30"),
        "email_birth_year",
        -1,
    ),
    (
        "two records of one system",
        rec("1", given_name="Jacek", family_name="Steinke"),
        rec("2", given_name="Jacek", family_name="Steinke"),
        "source_system",
        0,
    ),
    (
        "records of two systems",
        rec("1", given_name="Jacek", family_name="Steinke"),
        rec("2", source="web", given_name="Jacek", family_name="Steinke"),
        "source_system",
        1,
    ),
    (
        "a lone display name starting with the card's initial is no other family name",
        rec("1", full_name="felisa", email="vina.felisa@telefonica.net"),
        rec("2", full_name="F. VINA", email="vina.felisa@telefonica.net"),
        "family_name",
        -1,
    ),
    (
        "a lone display name with another initial than the card's is another family name",
        rec("1", full_name="felisa", email="vina.felisa@telefonica.net"),
        rec("2", full_name="M. VINA", email="vina.felisa@telefonica.net"),
        "family_name",
        0,
    ),
    (
        "an address shared by two given names is the household's",
        rec(
            "1", given_name="David", family_name="Klein", street="Dizengoff St.", house_number="118"
        ),
        rec("2", given_name="Hana", family_name="Klein", street="Dizengoff St", house_number="118"),
        "street",
        -1,
    ),
]


@pytest.mark.parametrize(
    ("case", "a", "b", "comparison", "level"), CASES, ids=[c[0] for c in CASES]
)
def test_comparison_levels(
    case: str, a: dict[str, Any], b: dict[str, Any], comparison: str, level: int
) -> None:
    assert levels_for(a, b)[comparison] == level


def test_people_and_organisations_are_never_candidates() -> None:
    frame, _ = standardised([ANNA, ANNA_SUPPORT, ACME], Settings())
    left, right, report = candidate_pairs(frame)
    pairs = set(zip(left.tolist(), right.tolist(), strict=True))
    assert (0, 1) in pairs and (0, 2) not in pairs and (1, 2) not in pairs
    assert report.total_pairs == len(pairs)


def test_estimate_matches_generated_pairs_and_big_blocks_are_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shared = [
        rec(str(i), given_name=f"P{i}", family_name=f"F{i}", email="info@shop.hu")
        for i in range(30)
    ]
    frame = add_derived_keys(standardise(shared))
    rule = BlockingRule("email", ("email",))
    assert estimate_pairs(frame, rule, max_block=100) == 30 * 29 // 2
    with caplog.at_level(logging.WARNING):
        left, _, report = candidate_pairs(frame, (rule,), max_block=10)
    assert left.size == 0 and report.oversized == [("email", 1, 30)]
    assert "not identifying" in caplog.text


def test_a_value_shared_by_many_records_glues_nobody_together() -> None:
    people = [
        rec(
            str(i),
            given_name=f"Given{i}",
            family_name=f"Family{i}",
            email="test@test.com" if i % 2 else "shared@corp.example",
            phone="0000000000",
        )
        for i in range(60)
    ]
    result = resolve(people, build_golden=False)
    assert result.stats["golden_records"] == 60
    assert result.stats["non_identifying_email"] == 30
    assert result.stats["placeholder_values"] >= 30


def test_common_names_weigh_less_than_rare_ones() -> None:
    people = [
        rec(f"n{i}", given_name="László", family_name="Nagy", city=f"Town{i}") for i in range(40)
    ]
    people += [
        rec("r1", given_name="Zebulon", family_name="Quarmby", city="Pécs"),
        rec("r2", given_name="Zebulon", family_name="Quarmby", city="Győr"),
    ]
    frame, _ = standardised(people, Settings())
    left, right, _ = candidate_pairs(frame)
    levels = compare_pairs(frame, left, right)
    model = estimate(frame, levels, random_pairs=5000)
    common = score(model, frame, np.array([0]), np.array([1]))
    rare = score(model, frame, np.array([40]), np.array([41]))
    assert rare.total[0] > common.total[0] + 3  # bits


def test_records_with_nothing_to_match_on_keep_their_own_golden_record() -> None:
    records = [ANNA, ANNA_SUPPORT, rec("x1"), rec("x2", source="web")]
    result = resolve(records)
    assert len({result.crosswalk[("erp", "x1")], result.crosswalk[("web", "x2")]}) == 2
    assert result.crosswalk[("erp", "1")] == result.crosswalk[("support", "S1")]
    assert len(result.golden) == 3


def test_one_record_of_each_kind_resolves_without_pairs() -> None:
    result = resolve([ANNA, ACME], Settings())
    assert len(set(result.crosswalk.values())) == 2
    assert 0 < result.model.prior <= 0.5


def test_incremental_match_ranks_candidates_with_explanations() -> None:
    population = [
        ANNA,
        ANNA_SUPPORT,
        ACME,
        rec("9", given_name="Bill", family_name="Smith", email="bill@mail.co.uk"),
    ]
    result = resolve(population)
    matcher = result.matcher()
    found = matcher.match(
        rec(
            "new",
            source="web",
            given_name="Anna",
            family_name="Kovacs",
            email="anna.kovacs@mail.hu",
        )
    )
    assert found and found[0].golden_id == result.crosswalk[("erp", "1")]
    assert found[0].probability > 0.9 and "email" in found[0].weights
    assert all(c.golden_id != result.crosswalk[("billing", "B7")] for c in found)
    assert matcher.match(rec("z", given_name="Nobody", family_name="Atall")) == []


def test_incremental_candidates_follow_the_e_mail_spells_a_name_rules() -> None:
    """A mailbox spelling a name meets the named records (and a named query the mailboxes),
    never another record of the same name or another mailbox: as blocking pairs them."""
    population = [
        rec("n1", given_name="Sean", family_name="Pratt"),
        rec("n2", given_name="Sean", family_name="Pratt", postal_code="90210"),
        rec("m1", source="web", email="sean.pratt@icloud.com"),
    ]
    result = resolve(population)
    matcher = result.matcher()
    frame = matcher.frame
    spelled = [r for r in matcher.rules if r.across is not None]
    assert spelled  # the default rules index them
    row_of = {sid: i for i, sid in enumerate(frame["source_id"].tolist())}

    def found(record: dict[str, Any]) -> set[int]:
        row = derived_keys(standardise([record]).iloc[0].to_dict())
        only = type(matcher)(frame, matcher.golden_ids, matcher.model, rules=tuple(spelled))
        return set(only.candidates(row).tolist())

    assert found(rec("q1", source="web", email="seanpratt@gmail.com")) == {
        row_of["n1"],
        row_of["n2"],
    }
    assert found(rec("q2", given_name="Sean", family_name="Pratt")) == {row_of["m1"]}
