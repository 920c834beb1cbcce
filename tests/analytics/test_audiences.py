"""Audience rules: labelled cases, and (hypothesis) the vectorised engine agrees with the
plain row-by-row reference on random profiles and random rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.audiences import changes, evaluate, matches, members
from schemas.audiences import Rule

PROFILES = pd.DataFrame(
    {
        "golden_id": ["G1", "G2", "G3", "G4", "G5"],
        "churn_risk": [0.75, 0.2, None, 0.6, 0.95],
        "stage": ["retain", "new", "expand", None, "lapsed"],
        "clv_12m": [1200.0, 80.0, 300.0, 4500.0, None],
        "language": ["de", "en", "de", "fr", "de"],
        "last_purchase": ["2026-01-31", "2025-06-01", None, "2026-02-20", "2024-12-24"],
        "vip": [True, False, None, True, False],
        "open_tickets": [0, 2, 1, 0, 3],
    }
)

ALL = [f"G{i}" for i in range(1, 6)]
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("gte", {"trait": "churn_risk", "gte": 0.6}, ["G1", "G4", "G5"]),
    ("gt", {"trait": "churn_risk", "gt": 0.6}, ["G1", "G5"]),
    ("lt skips missing", {"trait": "churn_risk", "lt": 0.5}, ["G2"]),
    ("lte", {"trait": "open_tickets", "lte": 1}, ["G1", "G3", "G4"]),
    ("in", {"trait": "stage", "in": ["retain", "expand"]}, ["G1", "G3"]),
    ("eq text", {"trait": "language", "eq": "de"}, ["G1", "G3", "G5"]),
    ("ne skips missing", {"trait": "stage", "ne": "new"}, ["G1", "G3", "G5"]),
    ("eq number", {"trait": "open_tickets", "eq": 2}, ["G2"]),
    ("a number never equals a text", {"trait": "language", "eq": 1}, []),
    ("eq boolean", {"trait": "vip", "eq": True}, ["G1", "G4"]),
    ("a boolean is not a number", {"trait": "vip", "eq": 1}, []),
    ("between inclusive", {"trait": "clv_12m", "between": [300, 4500]}, ["G1", "G3", "G4"]),
    ("is_null", {"trait": "stage", "is_null": True}, ["G4"]),
    ("is not null", {"trait": "churn_risk", "is_null": False}, ["G1", "G2", "G4", "G5"]),
    ("iso dates order as text", {"trait": "last_purchase", "gte": "2026-01-01"}, ["G1", "G4"]),
    ("unknown column is missing", {"trait": "nowhere", "is_null": True}, ALL),
    ("not is true on missing", {"not": {"trait": "stage", "eq": "new"}}, ["G1", "G3", "G4", "G5"]),
    (
        "the brief's example",
        {"all": [{"trait": "churn_risk", "gte": 0.6}, {"trait": "stage", "in": ["retain", "expand"]}]},  # noqa: E501
        ["G1"],
    ),
    (
        "any of two",
        {"any": [{"trait": "clv_12m", "gt": 4000}, {"trait": "open_tickets", "gte": 3}]},
        ["G4", "G5"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "rule", "expected"), CASES, ids=[c[0] for c in CASES])
def test_labelled_rules(case: str, rule: dict[str, Any], expected: list[str]) -> None:
    parsed = Rule.model_validate(rule)
    assert list(members(parsed, PROFILES)) == expected
    by_row = [r["golden_id"] for r in PROFILES.to_dict("records") if matches(parsed, r)]
    assert by_row == expected


def test_changes_are_entered_and_exited() -> None:
    entered, exited = changes(np.array(["G1", "G2", "G3"]), np.array(["G2", "G3", "G4"]))
    assert list(entered) == ["G4"] and list(exited) == ["G1"]
    entered, exited = changes(np.array([], dtype=str), np.array([], dtype=str))
    assert len(entered) == len(exited) == 0


# -- hypothesis: the engine is the reference, vectorised --------------------------------------

TRAITS = ("a", "b", "c", "missing_column")
cells = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["", "x", "y", "2026-01-01", "2026-02-01"]),
)
operands = st.one_of(
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["x", "y", "2026-01-15"]),
)
orderables = st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from(["x", "2026-01-15"]))


@st.composite
def single_tests(draw: st.DrawFn) -> dict[str, Any]:
    trait = draw(st.sampled_from(TRAITS))
    op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "between", "is_null"]))
    if op in ("eq", "ne"):
        value: Any = draw(operands)
    elif op == "in":
        value = draw(st.lists(operands, min_size=1, max_size=3))
    elif op == "between":
        low, high = sorted(draw(st.lists(st.floats(-5, 5), min_size=2, max_size=2)))
        value = [low, high]
    elif op == "is_null":
        value = draw(st.booleans())
    else:
        value = draw(orderables)
    return {"trait": trait, op: value}


rules = st.recursive(
    single_tests(),
    lambda inner: st.one_of(
        st.builds(lambda rs: {"all": rs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda rs: {"any": rs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda r: {"not": r}, inner),
    ),
    max_leaves=6,
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 12))
    data: dict[str, Any] = {"golden_id": [f"G{i}" for i in range(n)]}
    for name in ("a", "b", "c"):
        kind = draw(st.sampled_from(["mixed", "numbers", "texts", "bools"]))
        if kind == "numbers":
            values = draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n))
            data[name] = pd.Series(values, dtype=float)
        elif kind == "texts":
            texts = st.one_of(st.none(), st.sampled_from(["x", "y", "2026-01-01"]))
            data[name] = pd.Series(draw(st.lists(texts, min_size=n, max_size=n)), dtype=object)
        elif kind == "bools":
            data[name] = pd.Series(
                draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool
            )
        else:
            data[name] = pd.Series(draw(st.lists(cells, min_size=n, max_size=n)), dtype=object)
    return pd.DataFrame(data)


@settings(max_examples=300, deadline=None)
@given(rule=rules, frame=frames())
def test_membership_equals_naive_per_row_evaluation(
    rule: dict[str, Any], frame: pd.DataFrame
) -> None:
    parsed = Rule.model_validate(rule)
    naive = [bool(matches(parsed, row)) for row in frame.to_dict("records")]
    assert evaluate(parsed, frame).tolist() == naive
