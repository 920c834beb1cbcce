"""The third CRM generator (`crm_registry.py`): valid, deterministic, census-like frequencies."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import orjson
import pytest
from faker.providers.person.en_US import Provider as US

from benchmarks.identity import read_truth
from benchmarks.identity.crm_registry import Registry, generate, mailbox_key, main, shares, write
from identity.contact import normalise_email
from schemas import CUSTOMER_FIELDS, CustomerRecord
from tests.benchmarks.helpers import digests_in_subprocesses


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate(20_000, seed=5)


def test_generator_is_deterministic_for_a_seed() -> None:
    first, again, other = generate(400, 7), generate(400, 7), generate(400, 8)
    assert (first.records, first.truth) == (again.records, again.truth)
    assert first.records != other.records


def test_generator_does_not_depend_on_string_hashing() -> None:
    code = (
        "import hashlib, orjson; from benchmarks.identity.crm_registry import generate; "
        "d = generate(300, 11); "
        "print(hashlib.sha256(orjson.dumps([d.records, [list(t) for t in d.truth]])).hexdigest())"
    )
    assert len(digests_in_subprocesses(code, "1", "2")) == 1


def test_every_record_is_a_valid_customer_record(registry: Registry) -> None:
    for record in registry.records:
        assert set(record) == set(CUSTOMER_FIELDS)
        CustomerRecord.model_validate(record)
    sources = Counter(r["source"] for r in registry.records)
    assert sources.keys() == {"contracts", "billing", "support", "web", "field"}


def test_truth_covers_every_record_once(registry: Registry) -> None:
    keys = [(r["source"], r["source_id"]) for r in registry.records]
    assert keys == [(t.source, t.source_id) for t in registry.truth]
    assert len(set(keys)) == len(keys)
    entities = {p.eid for p in registry.people} | {o.eid for o in registry.orgs}
    assert {t.entity_id for t in registry.truth} == entities and len(entities) == 20_000


def test_no_personal_mailbox_is_shared_across_entities(registry: Registry) -> None:
    household = {p.eid: p.home.hid for p in registry.people}
    owners: dict[str, set[str]] = {}
    for record, truth in zip(registry.records, registry.truth, strict=True):
        if record["email"]:
            key = normalise_email(record["email"])
            assert key == mailbox_key(record["email"])  # the engine's normalisation agrees
            owners.setdefault(key, set()).add(truth.entity_id)
    shared = {key: ids for key, ids in owners.items() if len(ids) > 1}
    assert shared  # family mailboxes exist ...
    for key, ids in shared.items():  # ... and are the only shared ones, each in one household
        assert registry.mailboxes[key] == "family"
        assert len({household[i] for i in ids}) == 1
    kinds = Counter(registry.mailboxes[key] for key in owners)
    assert kinds["personal"] > 10 * kinds["family"] and kinds["role"] and kinds["work"]


def test_name_frequencies_are_census_like(registry: Registry) -> None:
    families = Counter(p.family for p in registry.people)
    top1, top1000 = shares(families, (1, 1000))
    assert 0.005 <= top1 <= 0.02 and 0.55 <= top1000 <= 0.65
    outside = sum(n for name, n in families.items() if name not in US.last_names)
    assert 0.3 <= outside / len(registry.people) <= 0.5  # the synthetic tail
    assert len(families) > 4_000
    for sex in (0, 1):
        top100 = shares(Counter(p.given for p in registry.people if p.sex == sex), (100,))[0]
        assert 0.4 <= top100 <= 0.6


def test_households_changes_and_records_per_entity(registry: Registry) -> None:
    people = registry.people
    assert 0.08 <= len(registry.orgs) / 20_000 <= 0.12
    per_entity = Counter(t.entity_id for t in registry.truth)
    assert 2.2 <= len(registry.records) / len(per_entity) <= 2.8
    sizes = Counter(per_entity.values())
    assert sizes[1] > len(per_entity) / 2 and sum(n for k, n in sizes.items() if k >= 8) > 200
    for share in (
        sum(p.home.old_address is not None for p in people),
        sum(len(p.emails) > 1 for p in people),
    ):
        assert 0.07 <= share / len(people) <= 0.13
    assert abs(sum(bool(p.maiden) for p in people) / len(people) - 0.05) < 0.005
    mobiles = [p.mobile for p in people if p.mobile]
    landlines = {p.home.hid: p.home.landline for p in people if p.home.landline}
    assert len(set(mobiles) | set(landlines.values())) == len(mobiles) + len(landlines)


def test_write_limit_keeps_records_and_truth_aligned(tmp_path: Path) -> None:
    data = generate(200, seed=2)
    path = write(data, tmp_path, limit=150)
    with gzip.open(path) as f:
        ids = [orjson.loads(line)["source_id"] for line in f]
    truth = read_truth(tmp_path / "truth.csv")
    assert ids == [t.source_id for t in truth] == [r["source_id"] for r in data.records[:150]]
    assert truth == data.truth[:150]


def test_cli_prints_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--entities", "300", "--seed", "1", "--out", str(tmp_path), "--stats"])
    out = capsys.readouterr().out
    assert "top 1,000" in out and "personal 0," in out
    assert len(read_truth(tmp_path / "truth.csv")) > 300


def test_a_full_name_space_makes_longer_names_instead_of_hanging() -> None:
    """Millions of people draw more tail names than short ones exist: a draw that keeps
    meeting taken names gets a second part (it never ended before)."""
    import random

    from benchmarks.identity.crm_registry import _Names

    rng = random.Random(3)
    names = _Names({"Ann": 5.0, "Bea": 1.0}, 0.5, lambda r: r.choice(["Cy", "Di", "Ed"]), rng)
    drawn = {names.draw(rng) for _ in range(3000)}
    tail = set(names.tail.values())
    assert len(tail) > 3  # more tail ranks than the three short names
    assert len(tail) == len(names.tail)  # each rank its own name
    assert {"Cy", "Di", "Ed"} <= tail
    assert all(name[:2] in {"Cy", "Di", "Ed"} for name in tail)
    assert drawn <= tail | {"Ann", "Bea"}
