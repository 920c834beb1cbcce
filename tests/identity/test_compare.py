"""Household values: who holds an e-mail or phone, as labelled cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from identity.compare import compare_pairs, household_values, two_people
from identity.model import Settings
from identity.resolve import standardised
from identity.standardise import standardise


@pytest.mark.parametrize(
    ("holders", "expected"),
    [
        pytest.param([("p", "f"), ("f", "p")], False, id="one-name-both-orders"),
        pytest.param([("p", None), ("f", "p")], False, id="given-only-beside-swapped"),
        pytest.param([("f", None), ("p", "f")], False, id="family-as-given-beside-name"),
        pytest.param([("j", "y"), ("j", "t")], False, id="same-initial"),
        pytest.param([("m", "y"), ("j", "y")], True, id="couple"),
        pytest.param([("m", None), ("j", None)], True, id="two-given-names"),
        pytest.param([("j", "y"), ("t", "j"), ("j", "t")], True, id="one-swapped-one-not"),
        pytest.param([("a", "b")], False, id="one-holder"),
        pytest.param([], False, id="none"),
    ],
)
def test_two_people(holders: list[tuple[str, str | None]], expected: bool) -> None:
    assert two_people(holders) is expected


def _rec(i: int, **fields: Any) -> Mapping[str, Any]:
    return {"source": "s", "source_id": str(i), **fields}


def test_a_mailbox_under_one_name_in_two_orders_is_one_persons() -> None:
    """A bank writes 'FIETT PRAO' (family name first): the same mailbox under 'Prao Fiett'
    is still one person's, so a nameless record holding it keeps its evidence."""
    frame = standardise(
        [
            _rec(1, given_name="Prao", family_name="Fiett", email="praofiett@gmail.com"),
            _rec(2, full_name="FIETT PRAO", email="praofiett@gmail.com"),
            _rec(3, email="praofiett@gmail.com"),
            _rec(4, given_name="Mary", family_name="Young", email="youngs@gmail.com"),
            _rec(5, given_name="John", family_name="Young", email="youngs@gmail.com"),
            _rec(6, email="youngs@gmail.com"),
        ]
    )
    assert household_values(frame, "email").tolist() == ["youngs@gmail.com"]


def test_a_memo_keeps_the_whole_frames_work_across_calls() -> None:
    """A Spark worker compares many batches of pairs on one table: with a memo, the column
    codes and household values are computed once, and every call's levels are unchanged."""
    records = [
        _rec(1, given_name="Mary", family_name="Young", email="youngs@gmail.com"),
        _rec(2, given_name="John", family_name="Young", email="youngs@gmail.com"),
        _rec(3, email="youngs@gmail.com"),
        _rec(4, given_name="Prao", family_name="Fiett", email="praofiett@gmail.com"),
        _rec(5, email="praofiett@gmail.com"),
    ]
    frame, _ = standardised(records, Settings())
    batches = [(np.array([0, 2]), np.array([2, 1])), (np.array([3]), np.array([4]))]
    memo: dict[object, Any] = {}
    for left, right in batches:
        expected = compare_pairs(frame, left, right)
        assert np.array_equal(compare_pairs(frame, left, right, memo=memo), expected)
    assert ("household", "email") in memo and "email" in memo
    memo["email"] = memo["email"].copy()
    kept = memo["email"]
    compare_pairs(frame, *batches[0], memo=memo)
    assert memo["email"] is kept  # not coded again
