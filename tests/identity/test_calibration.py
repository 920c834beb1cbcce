"""Identifier-only records, rare against common identifiers, and scores that hold as data grows."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.resolve import Resolution, resolve

_GIVEN = ["anna", "peter", "maria", "john", "eva", "adam", "julia", "tomas", "nora", "laszlo"]
_FAMILY = ["kiss", "nagy", "smith", "weber", "kowalski", "cohen", "brown", "meyer", "rossi"]


def _people(n: int, seed: int, prefix: str = "", town: int = 1000) -> list[dict[str, Any]]:
    """n people, each in a CRM (full record) and a billing system (name, postcode, e-mail)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
        email = f"{given}.{family}.{prefix}{i}@mail.example"
        postal = str(town + rng.randrange(300))
        phone = f"+3630{rng.randrange(10**7):07d}"
        out.append(
            {
                "source": "crm",
                "source_id": f"{prefix}c{i}",
                "given_name": given.title(),
                "family_name": family.title(),
                "email": email,
                "phone": phone,
                "postal_code": postal,
                "country": "GB",
            }
        )
        out.append(
            {
                "source": "billing",
                "source_id": f"{prefix}b{i}",
                "full_name": f"{given.title()} {family.title()}",
                "email": email.upper() if i % 3 == 0 else email,
                "postal_code": postal,
                "country": "GB",
            }
        )
    return out


def _name_of(record: dict[str, Any]) -> tuple[str, str]:
    """(given, family) of a `_people` record, from its fields or its full name."""
    if record.get("full_name"):
        given, family = record["full_name"].split()
        return given, family
    return record["given_name"], record["family_name"]


def _together(result: Resolution, a: tuple[str, str], b: tuple[str, str]) -> bool:
    return result.crosswalk[a] == result.crosswalk[b]


def test_identifier_only_records_join_the_customer_that_holds_the_identifier() -> None:
    records = _people(300, 1)
    records += [
        {"source": "web", "source_id": "w1", "email": "Anna.Kiss.7@mail.example"},
        {"source": "web", "source_id": "w2", "phone": "+36 30 000 0001"},
        {"source": "web", "source_id": "w3", "email": "test@test.com"},  # a placeholder
        {"source": "web", "source_id": "w4", "email": "thekisses@mail.example"},  # family box
    ]
    # w1's address as customer c7 holds it (whatever c7's random name is)
    records[-4]["email"] = records[14]["email"].upper()
    records[14 + 2 * 0]["phone"] = "+36300000001"  # c7 also holds w2's phone
    for i, first in ((20, "Peter"), (22, "Eva")):  # a mailbox two given names share
        records[i].update(given_name=first, family_name="Kiss", email="thekisses@mail.example")
    result = resolve(records, build_golden=False)
    c7 = ("crm", "c7")
    assert _together(result, ("web", "w1"), c7)  # the same address, in capitals
    assert _together(result, ("web", "w2"), c7)  # the same phone number
    assert not any(
        _together(result, ("web", "w3"), ("crm", f"c{i}")) for i in range(300)
    )  # a placeholder identifies nobody
    assert not _together(result, ("web", "w4"), ("crm", "c10"))  # whose of the family?
    assert not _together(result, ("web", "w4"), ("crm", "c11"))
    assert not _together(result, ("crm", "c10"), ("crm", "c11"))  # the two stay apart


def _email_weight(result: Resolution, a: tuple[str, str], b: tuple[str, str]) -> float:
    index = {k: i for i, k in enumerate(result.keys)}
    i, j = sorted((index[a], index[b]))
    s = result.scored
    at = np.flatnonzero((s.left == i) & (s.right == j))
    k = [c.name for c in result.model.comparisons].index("email")
    return float(s.weights[at[0], k])


def test_a_rare_identifier_weighs_more_than_a_common_one() -> None:
    records = _people(300, 2)
    for n in range(6):  # one office mailbox on six people's records (below max_shared)
        records[2 * n]["email"] = "office@firm.example"
    result = resolve(records, build_golden=False)
    rare = _email_weight(result, ("crm", "c100"), ("billing", "b100"))
    common = _email_weight(result, ("crm", "c0"), ("crm", "c1"))
    assert rare > common + 1.0
    # and a rare shared e-mail alone, nothing else known, outweighs the prior
    assert rare + result.model.prior_bits > 4.3  # p > 0.95


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=10_000))
def test_doubling_the_data_leaves_the_scores_of_the_original_pairs(seed: int) -> None:
    """A second population like the first (new ids and identifiers, names from the same
    lists, living in other towns) doubles every count. The prior halves (one bit) and so does
    the chance that strangers share an e-mail: a pair that shares one keeps its probability.
    Agreement on a name, which twice as many namesakes now share, or a postcode (whose u
    comes from sampled pairs) may lose up to the prior's bit and EM's noise on 200 people.
    A full name that first had no namesake and now has some (the second population drew it
    too) is rightly less telling: its names may lose more, but never gain."""
    original = _people(200, seed)
    added = _people(200, seed + 1, prefix="x", town=5000)
    doubled = original + added
    before, after = resolve(original, build_golden=False), resolve(doubled, build_golden=False)
    drawn_again = {_name_of(r) for r in added}
    index = {
        (after.keys[a], after.keys[b]): i
        for i, (a, b) in enumerate(zip(after.scored.left.tolist(), after.scored.right.tolist()))
    }
    names = [c.name for c in before.model.comparisons]
    k_email = names.index("email")
    k_names = [names.index("given_name"), names.index("family_name")]
    checked = 0
    for i, (a, b) in enumerate(zip(before.scored.left.tolist(), before.scored.right.tolist())):
        j = index.get((before.keys[a], before.keys[b]))
        if j is None:
            continue
        checked += 1
        name_moved = float(
            after.scored.weights[j, k_names].sum() - before.scored.weights[i, k_names].sum()
        )
        rest_moved = abs(after.scored.total[j] - before.scored.total[i] - name_moved)
        assert rest_moved <= 3.0
        assert name_moved <= 3.0
        if name_moved < -3.0:  # namesakes in the second population, and only then
            assert _name_of(original[a]) in drawn_again or _name_of(original[b]) in drawn_again
        levels = before.scored.levels[i]
        if levels[k_email] == 3:  # shares an e-mail address
            moved = abs(after.scored.probability[j] - before.scored.probability[i])
            assert moved <= 0.05, (before.keys[a], before.keys[b], moved)
    assert checked > 300


def _name_bits(result: Resolution, a: tuple[str, str], b: tuple[str, str], *, joint: bool) -> float:
    """The given + family name weight of the pair, with or without the full name's own
    frequency (`FULL_NAME`): without, the product of the parts' frequencies."""
    from identity.score import FULL_NAME, tf_adjust

    index = {k: i for i, k in enumerate(result.keys)}
    i, j = sorted((index[a], index[b]))
    s = result.scored
    at = np.flatnonzero((s.left == i) & (s.right == j))[:1]
    model = result.model
    tf = model.tf if joint else {k: v for k, v in model.tf.items() if k != FULL_NAME}
    names = [c.name for c in model.comparisons]
    ks = [names.index("given_name"), names.index("family_name")]
    base = sum(float(model.weights(k)[s.levels[at[0], k]]) for k in ks)
    adjust = tf_adjust(
        result.frame, s.left[at], s.right[at], s.levels[at], model.comparisons, model.u, tf
    )
    return base + float(adjust[0, ks].sum())


def test_a_full_name_many_strangers_share_weighs_less_than_its_parts_say() -> None:
    """Forty different women called Anna Kiss (each a billing record of her own, no other
    record of hers): the parts' frequencies say an Anna Kiss is rare, the full name's own
    count says she is not. A pair of one Anna Kiss's records gets the lower weight; a full
    name nobody else holds keeps the weight its parts give."""
    records = _people(300, 3)
    records[0].update(given_name="Anna", family_name="Kiss")  # customer c0 is an Anna Kiss
    records[1]["full_name"] = "Anna Kiss"
    records += [
        {
            "source": "billing",
            "source_id": f"ak{i}",
            "full_name": "Anna Kiss",
            "email": f"ak{i}@elsewhere.example",
            "postal_code": str(7000 + i),
            "country": "GB",
        }
        for i in range(40)
    ]
    records[2].update(given_name="Zsofia", family_name="Orban")  # c1: a name no one shares
    records[3]["full_name"] = "Zsofia Orban"
    result = resolve(records, build_golden=False)
    anna = (("crm", "c0"), ("billing", "b0"))
    with_joint, parts_only = (_name_bits(result, *anna, joint=j) for j in (True, False))
    assert with_joint < parts_only - 1.0
    rare = (("crm", "c1"), ("billing", "b1"))
    assert _name_bits(result, *rare, joint=True) == _name_bits(result, *rare, joint=False)
    # and an Anna Kiss with nothing else in common with c0 is no match
    index = {k: i for i, k in enumerate(result.keys)}
    i, j = sorted((index[("crm", "c0")], index[("billing", "ak5")]))
    s = result.scored
    at = np.flatnonzero((s.left == i) & (s.right == j))
    assert at.size == 0 or s.probability[at[0]] < 0.5
    assert result.crosswalk[("crm", "c0")] == result.crosswalk[("billing", "b0")]


def test_scoring_in_slices_of_pairs_gives_the_same_weights(monkeypatch: Any) -> None:
    """`score` adjusts by term frequency a slice of pairs at a time (memory at 1M records):
    per pair the weights are exactly those of one pass over all pairs."""
    import identity.score as scoring

    result = resolve(_people(300, 3), build_golden=False)
    s = result.scored
    assert s.left.size > 50
    whole = scoring.score(result.model, result.frame, s.left, s.right, s.levels)
    monkeypatch.setattr(scoring, "_SCORE_SLICE", 7)
    sliced = scoring.score(result.model, result.frame, s.left, s.right, s.levels)
    assert np.array_equal(whole.weights, sliced.weights)
    assert np.array_equal(whole.probability, sliced.probability)
    base = np.zeros_like(whole.weights)  # the weights without term frequencies
    for k in range(len(result.model.comparisons)):
        present = s.levels[:, k] >= 0
        base[present, k] = result.model.weights(k)[s.levels[present, k]]
    assert np.count_nonzero(whole.weights != base) > 0  # term frequencies did move weights
