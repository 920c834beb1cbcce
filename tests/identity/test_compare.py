"""Household values: who holds an e-mail or phone, as labelled cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from identity.compare import compare_pairs, holder_words, household_values, two_people
from identity.model import Settings
from identity.resolve import standardised
from identity.standardise import standardise


@pytest.mark.parametrize(
    ("holders", "expected"),
    [
        pytest.param([("prao", "fiett"), ("fiett", "prao")], False, id="one-name-both-orders"),
        pytest.param([("prao",), ("fiett", "prao")], False, id="given-only-beside-swapped"),
        pytest.param([("fiett",), ("prao", "fiett")], False, id="family-as-given-beside-name"),
        pytest.param([("renee",), ("dunham", "renee")], False, id="given-beside-reversed-name"),
        pytest.param([("r", "dunham"), ("dunham", "renee")], False, id="initial-beside-reversed"),
        pytest.param(
            [("c", "murphy", "derrick"), ("derrick", "murphy")], False, id="extra-initial"
        ),
        pytest.param([("john", "young"), ("jane", "young")], False, id="same-initial"),
        pytest.param([("mary", "young"), ("john", "young")], True, id="couple"),
        pytest.param([("mary", "smith"), ("smith",)], False, id="family-name-alone"),
        pytest.param([("sarah", "smith"), ("john", "smith")], True, id="couple-family-initial"),
        pytest.param([("mary",), ("john",)], True, id="two-given-names"),
        pytest.param([("john", "smith"), ("sam", "jones")], True, id="swapped-initials-only"),
        pytest.param([("r", "thomas"), ("thomas", "stanes")], True, id="initial-not-in-other"),
        pytest.param(
            [("jo", "young"), ("tom", "jo"), ("jo", "tom")], True, id="one-swapped-one-not"
        ),
        pytest.param([("anna", "bell")], False, id="one-holder"),
        pytest.param([], False, id="none"),
    ],
)
def test_two_people(holders: list[tuple[str, ...]], expected: bool) -> None:
    assert two_people(holders) is expected


def test_holder_words_split_every_part_given_first() -> None:
    assert holder_words("anna maria", None, "van dijk") == ("anna", "maria", "van", "dijk")
    assert holder_words(None, "b", "c") == ("b", "c")


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


def test_a_card_name_family_first_beside_a_given_name_alone_is_one_person() -> None:
    """'Dunham Renee D' on a card, 'Renee' in the help desk, 'R. Dunham' in billing: one
    person's mailbox, though the given names' initials differ."""
    frame = standardise(
        [
            _rec(1, given_name="Renee", email="renee.dunham@outlook.com"),
            _rec(2, full_name="Dunham Renee D", email="renee.dunham@outlook.com"),
            _rec(3, full_name="R. DUNHAM", email="renee.dunham@outlook.com"),
            _rec(4, email="renee.dunham@outlook.com"),
        ]
    )
    assert frame["given_initial"].nunique() > 1
    assert household_values(frame, "email").tolist() == []


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
