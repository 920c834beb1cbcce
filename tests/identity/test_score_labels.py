"""Steward labels in estimate(): they move m towards what the stewards decided."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from identity.compare import COMPARISONS
from identity.resolve import Settings, standardised
from identity.score import Model, estimate

NAMES = [c.name for c in COMPARISONS]
FIRST_NAMES = ("Anna", "Béla", "Csilla", "Dávid", "Emese", "Ferenc", "Gábor", "Hanna")
FAMILY_NAMES = ("Kovács", "Szabó", "Tóth", "Varga", "Kiss", "Molnár", "Németh", "Farkas")


def frame() -> pd.DataFrame:
    records = [
        {
            "source": "erp",
            "source_id": str(i),
            "given_name": FIRST_NAMES[i % 8],
            "family_name": FAMILY_NAMES[i // 8 % 8],
            "email": f"user{i}@mail.hu",
            "country": "HU",
        }
        for i in range(200)
    ]
    return standardised(records, Settings())[0]


def pairs(n: int, **levels: int) -> np.ndarray:
    """`n` candidate pairs with these comparison levels, every other comparison missing."""
    out = np.full((n, len(COMPARISONS)), -1, dtype=np.int8)
    for name, level in levels.items():
        out[:, NAMES.index(name)] = level
    return out


SAME_EMAIL = {"email": 3, "phone": 2, "given_name": 3, "family_name": 3}
SAME_NAME_ONLY = {"given_name": 3, "family_name": 3, "email": 0}
OTHER_NAME = {"email": 3, "phone": 2, "given_name": 3, "family_name": 0}
LEVELS = np.vstack(
    [pairs(300, **SAME_EMAIL), pairs(300, **SAME_NAME_ONLY), pairs(100, **OTHER_NAME)]
)
SAME_NAME_ROWS = range(300, 340)  # 40 of the "same name, another e-mail" pairs
OTHER_NAME_ROWS = range(600, 640)  # 40 of the "same e-mail, another family name" pairs

# case: labelled rows, their label, the comparison and level whose weight must move, direction
CASES = {
    "same name, another e-mail: not a match → another e-mail weighs more against": (
        SAME_NAME_ROWS, False, "email", 0, -1),
    "same name, another e-mail: a match → another e-mail weighs less against": (
        SAME_NAME_ROWS, True, "email", 0, +1),
    "same e-mail, another family name: a match → another family name weighs less against": (
        OTHER_NAME_ROWS, True, "family_name", 0, +1),
    "same e-mail, another family name: not a match → it weighs more against": (
        OTHER_NAME_ROWS, False, "family_name", 0, -1),
}  # fmt: skip


@pytest.fixture(scope="module")
def unlabelled() -> tuple[pd.DataFrame, Model]:
    f = frame()
    return f, estimate(f, LEVELS, random_pairs=5000)


@pytest.mark.parametrize(
    "rows, is_match, comparison, level, direction", CASES.values(), ids=CASES.keys()
)
def test_labels_move_m_towards_the_decisions(
    unlabelled: tuple[pd.DataFrame, Model],
    rows: range,
    is_match: bool,
    comparison: str,
    level: int,
    direction: int,
) -> None:
    f, before = unlabelled
    after = estimate(f, LEVELS, labels=[(i, is_match) for i in rows], random_pairs=5000)
    k = NAMES.index(comparison)
    moved = after.m[k][level] - before.m[k][level]
    assert np.sign(moved) == direction, (before.m[k], after.m[k])
    weight_moved = after.weights(k)[level] - before.weights(k)[level]
    assert np.sign(weight_moved) == direction
    np.testing.assert_array_equal(after.u[k], before.u[k])  # u: random pairs only


def test_no_labels_is_the_unsupervised_model() -> None:
    f = frame()
    plain = estimate(f, LEVELS, random_pairs=5000)
    none = estimate(f, LEVELS, labels=[], random_pairs=5000)
    for a, b in zip(plain.m, none.m, strict=True):
        np.testing.assert_array_equal(a, b)
    assert plain.prior == none.prior
