"""A name spelt in an e-mail weighs by the name's frequency (`identity.spelt_name`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from identity.compare import COMPARISONS
from identity.resolve import Resolution, resolve
from identity.spelt_name import MAX_SPELT_BITS, spelt_name_bits

NAMES = [c.name for c in COMPARISONS]
K_SPELT = NAMES.index("email_name")
K_GIVEN, K_FAMILY = NAMES.index("given_name"), NAMES.index("family_name")

# u of exact agreement on a given / family name (about the sum of squared frequencies)
U = [np.full(len(c.levels), 0.01) for c in COMPARISONS]
U[K_GIVEN][-1], U[K_FAMILY][-1] = 0.004, 0.001
TF = {
    "given_name": pd.Series({"sean": 0.0005, "david": 0.02}),
    "family_name": pd.Series({"hays": 0.0001, "cohen": 0.01}),
}
# record 0: a mailbox without a name; 1-4: named records (given, family)
FRAME = pd.DataFrame(
    {
        "given_canon": [None, "sean", "david", "sean", None],
        "family": [None, "hays", "cohen", "cohen", "hays"],
    }
)

# case: (named record, email_name level, expected bits: +/- sign or 0)
CASES = {
    "a rare full name spelt (hayssean@ ~ Sean Hays): more than the average name": (1, 2, +1),
    "a common full name spelt (davidcohen@ ~ David Cohen): less": (2, 2, -1),
    "a rare family name spelt (hays@ ~ Hays): more": (4, 1, +1),
    "a common family name spelt (cohen@ ~ Sean Cohen): less": (3, 1, -1),
    "the mailbox spells nothing: no change": (1, 0, 0),
}  # fmt: skip


def spelt_name_adjust(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    levels: np.ndarray,
    *args: Any,
) -> np.ndarray:
    """`spelt_name_bits` laid out as a pairs x comparisons array."""
    out = np.zeros(levels.shape, dtype=np.float32)
    for k, rows, bits in spelt_name_bits(frame, left, right, levels, *args):
        out[rows, k] += bits
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_a_spelt_name_weighs_by_its_frequency(case: str) -> None:
    named, level, sign = CASES[case]
    levels = np.full((2, len(COMPARISONS)), -1, dtype=np.int8)
    levels[:, K_SPELT] = level
    # the named record on either side
    left, right = np.array([0, named]), np.array([named, 0])
    out = spelt_name_adjust(FRAME, left, right, levels, COMPARISONS, U, TF)
    assert out[0, K_SPELT] == out[1, K_SPELT]  # the same either way round
    assert np.count_nonzero(np.delete(out, K_SPELT, axis=1)) == 0  # only email_name moves
    assert np.sign(out[0, K_SPELT]) == sign
    assert abs(out[0, K_SPELT]) <= MAX_SPELT_BITS


def test_a_full_name_spelt_counts_both_parts() -> None:
    """Sean Hays: the given and the family name's bits, as an agreement on both would."""
    levels = np.full((1, len(COMPARISONS)), -1, dtype=np.int8)
    levels[0, K_SPELT] = 2
    out = spelt_name_adjust(FRAME, np.array([0]), np.array([1]), levels, COMPARISONS, U, TF)
    expected = np.log2(0.004 / 0.0005) + np.log2(0.001 / 0.0001)  # 3 + 3.32 bits
    assert out[0, K_SPELT] == pytest.approx(min(expected, MAX_SPELT_BITS), abs=1e-4)


def test_a_full_name_spelt_beside_compared_family_names_counts_the_given_name_only() -> None:
    """'Hays' on the mailbox's record too: the family-name comparison weighs the family name,
    so the spelt full name adds the given name's bits and loses the family part of its u."""
    levels = np.full((1, len(COMPARISONS)), -1, dtype=np.int8)
    levels[0, K_SPELT] = 2
    alone = spelt_name_adjust(FRAME, np.array([0]), np.array([1]), levels, COMPARISONS, U, TF)
    levels[0, K_FAMILY] = 3  # the family names compared (here: the same)
    both = spelt_name_adjust(FRAME, np.array([4]), np.array([1]), levels, COMPARISONS, U, TF)
    given_bits = np.log2(0.004 / 0.0005)  # Sean's frequency against the average given name
    assert both[0, K_SPELT] == pytest.approx(given_bits + np.log2(0.001), abs=1e-4)
    assert alone[0, K_SPELT] - both[0, K_SPELT] > 9.0  # the family's ~10 bits, counted once


def test_a_full_name_strangers_share_weighs_as_its_own_count_says() -> None:
    """Where the full name's own count (`FULL_NAME`) says strangers share it more often than
    its parts predict, a mailbox spelling it weighs that much less."""
    levels = np.full((1, len(COMPARISONS)), -1, dtype=np.int8)
    levels[0, K_SPELT] = 2
    parts = spelt_name_adjust(FRAME, np.array([0]), np.array([1]), levels, COMPARISONS, U, TF)
    joint = spelt_name_adjust(
        FRAME,
        np.array([0]),
        np.array([1]),
        levels,
        COMPARISONS,
        U,
        TF,
        lambda rows: np.where(rows == 1, 0.001, np.nan),  # many strangers are a Sean Hays
    )
    assert joint[0, K_SPELT] < parts[0, K_SPELT] - 3.0


def _people(n: int) -> list[dict[str, Any]]:
    """n customers with common names (ten given, nine family names): a card in payments."""
    given = ["anna", "peter", "maria", "john", "eva", "adam", "julia", "tomas", "nora", "laszlo"]
    family = ["kiss", "nagy", "smith", "weber", "kowalski", "cohen", "brown", "meyer", "rossi"]
    return [
        {
            "source": "payments",
            "source_id": f"p{i}",
            "full_name": f"{given[i % 10].title()} {family[i // 10 % 9].title()}",
            "postal_code": str(1000 + i),
            "country": "GB",
        }
        for i in range(n)
    ]


def _spelt(result: Resolution, a: tuple[str, str], b: tuple[str, str]) -> tuple[float, float]:
    """The pair's email_name weight (its frequency included) and probability."""
    at = _pair(result, a, b)
    return float(result.scored.weights[at, K_SPELT]), float(result.scored.probability[at])


def _pair(result: Resolution, a: tuple[str, str], b: tuple[str, str]) -> int:
    """The candidate pair of records a and b, by its index in `result.scored`."""
    index = {k: i for i, k in enumerate(result.keys)}
    i, j = sorted((index[a], index[b]))
    s = result.scored
    at = np.flatnonzero((s.left == i) & (s.right == j))
    assert at.size == 1, "the pair is a candidate"
    return int(at[0])


def test_a_mailbox_spelling_a_rare_name_outweighs_one_spelling_a_common_name() -> None:
    """A web sign-up's mailbox spelling the one Zsofia Orban weighs more than one spelling
    any of the Anna Kisses (every name in `_people` is held by several customers), and links
    to her: a stranger's mailbox spells Zsofia Orban only when the stranger is one, so u of
    the level comes from the names' own u, not from random pairs (where nearly every pair at
    the level is one person's two records)."""
    records = _people(900)
    records.append(
        {"source": "payments", "source_id": "zo", "full_name": "Zsofia Orban", "country": "GB"}
    )
    records += [
        {"source": "web", "source_id": "w1", "email": "zsofia.orban@mail.example"},
        {"source": "web", "source_id": "w2", "email": "anna.kiss@mail.example"},
    ]
    result = resolve(records, build_golden=False)
    rare, p_rare = _spelt(result, ("payments", "zo"), ("web", "w1"))
    common, p_common = _spelt(result, ("payments", "p0"), ("web", "w2"))
    assert rare > common + 2.0
    assert p_rare > 0.8  # 0.58 with the sampled u
    assert p_common < 0.1
    model = result.model
    u_full = model.u[K_GIVEN][-1] * model.u[K_FAMILY][-1] * model.m[K_SPELT][2]
    assert model.u[K_SPELT][2] == pytest.approx(u_full)
    assert model.u[K_SPELT].sum() == pytest.approx(1.0)


def _levels(result: Resolution, a: tuple[str, str], b: tuple[str, str]) -> dict[str, int]:
    levels = result.scored.levels[_pair(result, a, b)]
    return dict(zip(NAMES, (int(x) for x in levels), strict=True))


# case: (web record, email_name level against payments' Zsofia Orban; 2 full, 1 family,
# -1 not compared)
LEVEL_CASES = {
    "no name on the mailbox's record: the mailbox tells the full name": (
        {"email": "zsofia.orban@mail.example"}, 2),
    "a given name on both records: the given-name comparison weighs it, the mailbox the family": (
        {"email": "zsofia.orban@mail.example", "given_name": "Zsofia"}, 1),
    "an initial and the family name in the mailbox": ({"email": "zorban@mail.example"}, 1),
    "a family name on both records: the mailbox spelling it tells nothing more": (
        {"email": "zorban@mail.example", "family_name": "Orban"}, -1),
    "a family name on both records, no given name on one: the mailbox tells the full name": (
        {"email": "zsofia.orban@mail.example", "family_name": "Orban"}, 2),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LEVEL_CASES))
def test_what_a_mailbox_spells_counts_once(case: str) -> None:
    extra, level = LEVEL_CASES[case]
    records = _people(60)
    records.append(
        {"source": "payments", "source_id": "zo", "full_name": "Zsofia Orban", "country": "GB"}
    )
    records.append({"source": "web", "source_id": "w", **extra})
    found = _levels(resolve(records, build_golden=False), ("payments", "zo"), ("web", "w"))
    assert found["email_name"] == level
