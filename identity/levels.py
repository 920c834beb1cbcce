"""Agreement levels: the building blocks every comparison is made of (vectorised).

A comparison turns two aligned columns into an int8 level per pair: -1 (`NULL`) when either
side is missing (no evidence either way), 0 for disagreement, and 1..k for increasingly
strong agreement. Values are told equal by integer codes (each column coded once while
`coded(frame)` is active), and fuzzy similarity uses rapidfuzz's batch `cpdist` on the pairs
that are not already exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

__all__ = [
    "NULL",
    "Comparison",
    "Memo",
    "Role",
    "coded",
    "codes",
    "exact_or",
    "graded",
    "present",
    "remembered",
    "same",
    "same_values",
    "similarity",
    "values",
]

NULL = -1


class Role(Enum):
    """What a comparison's agreement says about two records: it decides which EM training
    sessions choose pairs by the comparison and which hold it out (`identity.training`)."""

    IDENTIFIER = "identifier"  # e-mail, phone, tax id: agreeing on one all but names a person
    NAME = "name"  # given and family name: many people share one
    NAME_IN_IDENTIFIER = "name in identifier"  # the name as spelled inside an identifier
    CORROBORATING = "corroborating"  # birth date, address: with the name, tells people apart
    # which systems the records come from: learned like OTHER, but it says nothing about the
    # customer, so it never counts as evidence that two members of one cluster differ
    PROVENANCE = "provenance"
    OTHER = "other"  # everything else: learned in every session, never chooses pairs


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One field's comparison: its levels (strongest last), the function computing them, and
    the role its agreement plays (which training sessions choose by it or hold it out)."""

    name: str
    columns: tuple[str, ...]
    levels: tuple[str, ...]  # labels of levels 0..k, e.g. ("different", "similar", "exact")
    compute: Callable[[pd.DataFrame, np.ndarray, np.ndarray], np.ndarray]
    role: Role = Role.OTHER
    tf_column: str | None = None  # exact agreement on a common value weighs less
    m_prior: tuple[float, ...] = ()  # prior knowledge of m and u per level, used to steady
    u_prior: tuple[float, ...] = ()  # the estimates when there is little data to learn from

    def __post_init__(self) -> None:
        for which, prior in (("m_prior", self.m_prior), ("u_prior", self.u_prior)):
            if prior and len(prior) != len(self.levels):
                raise ValueError(
                    f"comparison {self.name!r}: {which} has {len(prior)} values for "
                    f"{len(self.levels)} levels {self.levels}; give one per level or none"
                )


def values(frame: pd.DataFrame, column: str, idx: np.ndarray) -> np.ndarray:
    """The values of `column` at the record indexes `idx`."""
    picked: np.ndarray = frame[column].to_numpy(dtype=object)[idx]
    return picked


Memo = dict[object, Any]  # what `remembered` keeps for one frame: column codes and the like

# While `coded(frame)` is active (compare_pairs): its frame and what was computed on the whole
# frame so far (many comparisons read the same column; each column is coded once per call,
# or once per frame with a `Memo` that outlives the call).
_ACTIVE: ContextVar[tuple[pd.DataFrame, Memo] | None] = ContextVar("_ACTIVE", default=None)

_T = TypeVar("_T")


def remembered(frame: pd.DataFrame, key: object, compute: Callable[[], _T]) -> _T:
    """`compute()`, a result about the whole `frame`, computed once while `coded(frame)` is
    active (once per frame with its memo); computed afresh outside it."""
    active = _ACTIVE.get()
    if active is None or active[0] is not frame:
        return compute()
    memo = active[1]
    if key not in memo:
        memo[key] = compute()
    found: _T = memo[key]
    return found


def codes(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Per record an integer code of its value in `column` (equal values, equal codes), -1
    when missing: pairs are then told equal or missing by integers, not by Python objects."""

    def factorized() -> np.ndarray:
        coded_column: np.ndarray = pd.factorize(frame[column].to_numpy(dtype=object))[0]
        return coded_column

    return remembered(frame, column, factorized)


def present(frame: pd.DataFrame, column: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Both records of each pair have a value in `column`."""
    code = codes(frame, column)
    both: np.ndarray = (code[left] >= 0) & (code[right] >= 0)
    return both


def same(frame: pd.DataFrame, column: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Both records of each pair have the same value in `column` (missing never agrees)."""
    code = codes(frame, column)
    a, b = code[left], code[right]
    equal: np.ndarray = (a >= 0) & (a == b)
    return equal


def similarity(a: np.ndarray, b: np.ndarray, scorer: Callable[..., float]) -> np.ndarray:
    """rapidfuzz `scorer` of a[i] and b[i], for all i at once."""
    if a.size == 0:
        return np.zeros(0, dtype=np.float32)
    return cpdist(list(a), list(b), scorer=scorer, workers=-1).astype(np.float32)


def graded(
    frame: pd.DataFrame,
    column: str,
    left: np.ndarray,
    right: np.ndarray,
    thresholds: tuple[float, ...],
    scorer: Callable[..., float],
) -> np.ndarray:
    """Levels: NULL, 0, then one level per similarity threshold (ascending), exact on top."""
    code = codes(frame, column)
    a, b = code[left], code[right]
    both = (a >= 0) & (b >= 0)
    exact = both & (a == b)
    levels = np.full(left.size, NULL, dtype=np.int8)
    levels[both] = 0
    levels[exact] = len(thresholds) + 1
    fuzzy = np.flatnonzero(both & ~exact)
    if fuzzy.size and thresholds:
        sim = similarity(
            values(frame, column, left[fuzzy]), values(frame, column, right[fuzzy]), scorer
        )
        for rank, threshold in enumerate(thresholds, start=1):
            levels[fuzzy[sim >= threshold]] = rank
    return levels


def same_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality of two object arrays; missing values never agree."""
    equal: np.ndarray = ~(pd.isna(a) | pd.isna(b)) & (a == b)
    return equal


def exact_or(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    column: str,
    close_column: str | None = None,
) -> np.ndarray:
    """NULL / 0 / 1 = close (equal `close_column`, else one edit apart) / 2 = exact."""
    levels = graded(frame, column, left, right, (), Levenshtein.normalized_similarity)
    levels[levels == 1] = 2
    rest = np.flatnonzero(levels == 0)
    if rest.size:
        if close_column is not None:
            close = same(frame, close_column, left[rest], right[rest])
        else:
            a, b = values(frame, column, left[rest]), values(frame, column, right[rest])
            dist = cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
            close = dist <= 1
        levels[rest[close]] = 1
    return levels


@contextmanager
def coded(frame: pd.DataFrame, memo: Memo | None = None) -> Iterator[None]:
    """While active, each column of `frame` is coded once, however many comparisons read it
    (with `memo`, once for every call given the same memo: a Spark worker's whole table)."""
    token = _ACTIVE.set((frame, {} if memo is None else memo))
    try:
        yield
    finally:
        _ACTIVE.reset(token)
