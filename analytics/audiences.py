"""Audience membership: a declarative rule (`schemas.audiences.Rule`) over the profile frame.

Pure: a frame of profiles in (one row per customer, one column per profile column or trait),
a boolean mask or the member ids out; no store. `evaluate` is the engine — each column is
classified once (missing, numbers, texts, booleans) into NumPy arrays and every test is an
array comparison, so a million profiles take well under a second per rule. `matches` is the
same semantics written row by row, plainly: the reference the engine is tested and
benchmarked against.

Semantics, identical in both:
- a value is *missing* when it is None, NaN, NaT or absent from the row; a test on a missing
  value is false, except `is_null: true` (so `not` of a test is true on a missing value);
- numbers are ints, floats and decimals (not booleans), compared as floats; texts compare as
  texts (ISO dates order correctly); a number never equals a text, nor a boolean a number;
- `eq`/`ne`/`in` compare like with like; `gt`/`gte`/`lt`/`lte` take a number or a text;
  `between: [low, high]` is inclusive, on numbers.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

from schemas.audiences import Rule

__all__ = ["changes", "evaluate", "matches", "members"]

_NUMBER_KINDS = frozenset({"floating", "integer", "mixed-integer-float"})


# -- the reference: one row at a time ----------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    return isinstance(value, float | np.floating) and math.isnan(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, int | float | np.integer | np.floating | decimal.Decimal)


def _same(cell: Any, operand: Any) -> bool:
    if isinstance(operand, bool):
        return isinstance(cell, bool | np.bool_) and bool(cell) == operand
    if _is_number(operand):
        return _is_number(cell) and float(cell) == float(operand)
    return isinstance(cell, str) and cell == operand


def _order(cell: Any, op: str, operand: float | str) -> bool:
    if isinstance(operand, str):
        if not isinstance(cell, str):
            return False
        left: Any = cell
    else:
        if not _is_number(cell):
            return False
        left = float(cell)
    if op == "gt":
        return bool(left > operand)
    if op == "gte":
        return bool(left >= operand)
    if op == "lt":
        return bool(left < operand)
    return bool(left <= operand)


def matches(rule: Rule, row: Mapping[str, Any]) -> bool:
    """Whether one profile (a mapping of column -> value) is in the rule: the plain, row by
    row definition of the semantics `evaluate` vectorises."""
    if rule.all_ is not None:
        return all(matches(r, row) for r in rule.all_)
    if rule.any_ is not None:
        return any(matches(r, row) for r in rule.any_)
    if rule.not_ is not None:
        return not matches(rule.not_, row)
    assert rule.trait is not None
    cell = row.get(rule.trait)
    op, operand = rule.operator, rule.value
    if op == "is_null":
        return _missing(cell) == bool(operand)
    if _missing(cell):
        return False
    if op == "eq":
        return _same(cell, operand)
    if op == "ne":
        return not _same(cell, operand)
    if op == "in":
        return any(_same(cell, v) for v in operand)
    if op == "between":
        number: Any = cell  # a number, as _is_number says
        return _is_number(cell) and bool(operand[0] <= float(number) <= operand[1])
    return _order(cell, op, operand)


# -- the engine: a column at a time ------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One profile column split by kind: `missing`, `numbers` (NaN where not a number),
    `texts` (None where not a text), `bools` (-1 where not a boolean, else 0 or 1)."""

    missing: np.ndarray
    numbers: np.ndarray
    texts: np.ndarray
    bools: np.ndarray

    def is_text(self) -> np.ndarray:
        return np.asarray(self.texts != None, dtype=bool)  # noqa: E711 (elementwise)


def _classify(series: pd.Series | None, n: int) -> _Column:
    none = np.full(n, None, dtype=object)
    if series is None:
        return _Column(np.ones(n, bool), np.full(n, np.nan), none, np.full(n, -1, np.int8))
    if series.dtype == np.dtype(bool):
        bools = series.to_numpy(dtype=np.int8)
        return _Column(np.zeros(n, bool), np.full(n, np.nan), none, bools)
    if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        return _Column(np.isnan(numbers), numbers, none, np.full(n, -1, np.int8))
    values = series.to_numpy(dtype=object)
    kind = infer_dtype(values, skipna=True)
    if kind == "empty":
        return _classify(None, n)
    missing = np.asarray(pd.isna(values), dtype=bool)
    if kind == "string":
        texts = values.copy()
        texts[missing] = None
        return _Column(missing, np.full(n, np.nan), texts, np.full(n, -1, np.int8))
    if kind in _NUMBER_KINDS:
        numbers = values.copy()
        numbers[missing] = np.nan
        numbers = numbers.astype(float)
        return _Column(missing, numbers, none, np.full(n, -1, np.int8))
    # mixed kinds (or decimals, booleans with gaps): sort each value by hand
    numbers = np.fromiter(
        (
            float(v) if not m and _is_number(v) else np.nan
            for v, m in zip(values, missing, strict=True)
        ),
        float,
        n,
    )
    texts = np.array([v if isinstance(v, str) else None for v in values] or [], dtype=object)
    bools = np.fromiter(
        (int(bool(v)) if isinstance(v, bool | np.bool_) else -1 for v in values), np.int8, n
    )
    return _Column(missing, numbers, texts, bools)


def _same_mask(col: _Column, operand: Any) -> np.ndarray:
    if isinstance(operand, bool):
        return np.asarray(col.bools == int(operand))
    if _is_number(operand):
        with np.errstate(invalid="ignore"):
            return np.asarray(col.numbers == float(operand))
    return np.asarray(col.texts == operand, dtype=bool)


def _order_mask(col: _Column, op: str, operand: float | str) -> np.ndarray:
    compare = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}
    if isinstance(operand, str):
        out = np.zeros(len(col.missing), bool)
        where = col.is_text()
        out[where] = compare[op](col.texts[where], operand).astype(bool)
        return out
    with np.errstate(invalid="ignore"):
        return np.asarray(compare[op](col.numbers, float(operand)))


def evaluate(rule: Rule, frame: pd.DataFrame) -> np.ndarray:
    """The rule over every row of the frame at once: a boolean array, True for a member.
    A trait the frame lacks is missing on every row."""
    cache: dict[str, _Column] = {}
    n = len(frame)

    def column(name: str) -> _Column:
        if name not in cache:
            cache[name] = _classify(frame[name] if name in frame.columns else None, n)
        return cache[name]

    def walk(node: Rule) -> np.ndarray:
        if node.all_ is not None:
            out = np.ones(n, bool)
            for child in node.all_:
                out &= walk(child)
            return out
        if node.any_ is not None:
            out = np.zeros(n, bool)
            for child in node.any_:
                out |= walk(child)
            return out
        if node.not_ is not None:
            return ~walk(node.not_)
        assert node.trait is not None
        col = column(node.trait)
        op, operand = node.operator, node.value
        if op == "is_null":
            return col.missing.copy() if operand else ~col.missing
        if op == "eq":
            return _same_mask(col, operand)
        if op == "ne":
            return np.asarray(~col.missing & ~_same_mask(col, operand))
        if op == "in":
            out = np.zeros(n, bool)
            for value in operand:
                out |= _same_mask(col, value)
            return out
        if op == "between":
            low, high = operand
            with np.errstate(invalid="ignore"):
                return np.asarray((col.numbers >= low) & (col.numbers <= high))
        return _order_mask(col, op, operand)

    return walk(rule)


def members(rule: Rule, frame: pd.DataFrame, id_column: str = "golden_id") -> np.ndarray:
    """The ids (`id_column`) of the frame's rows in the rule, sorted."""
    ids = frame[id_column].to_numpy(dtype=object)[evaluate(rule, frame)]
    return np.sort(ids.astype(str))


def changes(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(entered, exited): the ids in `after` but not `before`, and the other way, sorted."""
    old = np.asarray(before, dtype=str)
    new = np.asarray(after, dtype=str)
    return np.setdiff1d(new, old), np.setdiff1d(old, new)
