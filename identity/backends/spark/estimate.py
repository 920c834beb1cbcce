"""Estimate on Spark without the record table on the driver: the counts the model reads.

`identity.score.estimate_from_patterns` reads the standardised frame for four things: the
records' kinds (random pairs are drawn among records of one kind), the random pairs'
levels (u's starting point), each term-frequency column's value shares and, for
identifiers and full names, how many records of a kind hold each value held more than
once. Here each is a `GROUP BY` in Spark and only its counts reach the driver (plus one
byte-sized code per record for the kinds); the random pairs are drawn on the driver with
the embedded seed and compared on Spark. The arithmetic after the counts is
`identity.score`'s own (its helpers are called, the few lines around them repeated), so
the model is the one `estimate_from_patterns` fits on the frame
(tests/identity/backends/spark/test_driver_records.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.backends.spark.standardise import ROW
from identity.levels import Comparison, Role
from identity.score import (
    _U_PSEUDO,
    FULL_NAME,
    Model,
    Patterns,
    _distinct_counts,
    _full_name_strangers,
    _global_prior,
    _name_parts,
    _prior_fixed_point,
    _same_share,
    learn_m_from_patterns,
)
from identity.spelt_name import spelt_name_u
from identity.training import EPS, U_EPS, Session, level_counts, level_prior

__all__ = ["estimate_on_spark", "record_kinds"]

# the levels of pairs (left[i], right[i]), in that order, compared wherever the table is
PairLevelsOf = Callable[[np.ndarray, np.ndarray], np.ndarray]


def record_kinds(records: DataFrame, n: int) -> np.ndarray:
    """Per record 0..n-1 a code of its kind (-1: none): all random pairs need of the
    table (two records of one kind), a byte or two per record on the driver."""
    kinds = np.full(n, -1, dtype=np.int16)
    got = records.select(ROW, "kind").toArrow()
    if got.num_rows:
        codes, _ = pd.factorize(got.column("kind").to_numpy(zero_copy_only=False))
        kinds[got.column(ROW).to_numpy()] = codes
    return kinds


def estimate_on_spark(
    records: DataFrame,
    kinds: np.ndarray,
    levels_of: PairLevelsOf,
    found: Patterns,
    *,
    comparisons: tuple[Comparison, ...],
    sessions: tuple[Session, ...],
    random_pairs: int,
    max_iterations: int,
    seed: int,
) -> Model:
    """`identity.score.estimate_from_patterns` with the table in Spark (`records`, one row
    per record) and its kinds on the driver (`record_kinds`)."""
    u, m = _start(kinds, levels_of, comparisons, random_pairs, seed)
    m, iteration = learn_m_from_patterns(
        found, comparisons, sessions, m=m, u=u, max_iterations=max_iterations
    )
    kind_counts = _kind_counts(records)
    tf = _value_shares(records, comparisons)
    all_pairs = float((kind_counts * (kind_counts - 1) / 2).sum()) or 1.0
    spelt_name_u(comparisons, m, u)
    rows, counts = found.rows, found.counts

    def prior() -> tuple[float, float]:
        if rows.shape[0] == 0:
            return _global_prior(rows, m, u, found.fixed, all_pairs)
        return _prior_fixed_point(rows, counts, found.fixed, m, u, all_pairs)

    global_prior, expected = prior()
    for k, c in enumerate(comparisons):
        if c.role is Role.IDENTIFIER:
            got = _identifier_u(records, rows, k, c, m, u, global_prior, all_pairs, counts)
            if got is not None:
                u[k], tf[c.name] = got
    if any(c.role is Role.IDENTIFIER for c in comparisons):
        global_prior, expected = prior()
    joint = _full_name_tf(records, kind_counts, rows, comparisons, m, u, counts)
    if joint is not None:
        tf[FULL_NAME] = joint
    share = expected / found.pairs if found.pairs else 0.0
    return Model(comparisons, m, u, global_prior, iteration, tf=tf, prior_candidates=share)


def _start(
    kinds: np.ndarray,
    levels_of: PairLevelsOf,
    comparisons: tuple[Comparison, ...],
    random_pairs: int,
    seed: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """`identity.score._start`: the same random pairs (`_random_pairs`' draws), compared
    by `levels_of`."""
    size = kinds.size
    wanted = min(random_pairs, max(size**2 // 2, 1))
    rng = np.random.default_rng(seed)
    left = rng.integers(0, size, wanted)
    right = rng.integers(0, size, wanted)
    keep = (left != right) & (kinds[left] == kinds[right])
    random_levels = levels_of(left[keep], right[keep])
    u, m = [], []
    for k, c in enumerate(comparisons):
        counts = level_counts(random_levels[:, k], len(c.levels)) + _U_PSEUDO * level_prior(c, "u")
        u.append(counts / counts.sum())
        m.append(level_prior(c, "m"))
    return u, m


def _counted(records: DataFrame, columns: list[str], *, more_than: int = 0) -> pd.DataFrame:
    """How many records hold each combination of `columns` (rows missing any left out,
    as pandas' `groupby` leaves them), the combinations held by more than `more_than`
    records collected as a pandas frame with a `count`."""
    known = reduce(lambda a, b: a & b, [F.col(c).isNotNull() for c in columns])
    counted = records.where(known).groupBy(*columns).count()
    if more_than:  # only these reach the driver (an identifier's values are mostly unique)
        counted = counted.where(F.col("count") > more_than)
    return counted.toPandas()


def _kind_counts(records: DataFrame) -> pd.Series:
    """`frame["kind"].value_counts()`: records per kind, the commonest first."""
    got = _counted(records, ["kind"])
    counts = pd.Series(got["count"].to_numpy(np.int64), index=got["kind"].to_numpy(object))
    return counts.sort_values(ascending=False, kind="stable")


def _value_shares(records: DataFrame, comparisons: tuple[Comparison, ...]) -> dict[str, pd.Series]:
    """Each term-frequency column's `value_counts(normalize=True)`."""
    tf = {}
    for c in comparisons:
        if c.tf_column and c.tf_column in records.columns:
            got = _counted(records, [c.tf_column])
            if len(got):
                counts = pd.Series(
                    got["count"].to_numpy(np.int64), index=got[c.tf_column].to_numpy(object)
                ).sort_values(ascending=False, kind="stable")
                tf[c.name] = counts / counts.sum()
    return tf


def _sizes(records: DataFrame, columns: list[str]) -> pd.Series:
    """`frame.groupby(["kind", *columns], observed=True).size()` of the groups of more
    than one record (all the callers keep), indexed as pandas would."""
    got = _counted(records, ["kind", *columns], more_than=1)
    index = pd.MultiIndex.from_frame(got[["kind", *columns]].astype(object))
    return pd.Series(got["count"].to_numpy(np.int64), index=index).sort_index()


def _identifier_u(
    records: DataFrame,
    levels: np.ndarray,
    k: int,
    c: Comparison,
    m: list[np.ndarray],
    u: list[np.ndarray],
    prior: float,
    all_pairs: float,
    counts: np.ndarray,
) -> tuple[np.ndarray, pd.Series] | None:
    """`identity.score._identifier_u` on counts made in Spark (see there for the model)."""
    top = len(c.levels) - 1
    column = c.columns[0]
    exact = levels[:, k] == top
    if not exact.any() or column not in records.columns:
        return None
    n_v = _sizes(records, [column])
    sharing = float((n_v * (n_v - 1) / 2).sum())
    if sharing <= 0:
        return None
    rows, weights = _distinct_counts(levels, exact, counts)
    held = np.zeros(levels.shape[1], dtype=bool)
    held[k] = True
    pi = _same_share(rows, weights, held, m, u)
    strangers = sharing * (1.0 - pi)
    u_exact = max(strangers / (all_pairs * (1.0 - prior)), U_EPS)
    u_k = u[k].copy()
    u_k[top] = u_exact
    u_k[:top] *= (1.0 - u_exact) / max(float(u_k[:top].sum()), EPS)
    by_value = n_v.droplevel("kind")
    per_pair = float((n_v * (n_v - 1) * (n_v - 1)).sum() / (n_v * (n_v - 1)).sum())
    term = (by_value - 1) / per_pair * u_exact
    term = term.groupby(level=0).max()
    return u_k, term


def _full_name_tf(
    records: DataFrame,
    kinds: pd.Series,
    levels: np.ndarray,
    comparisons: tuple[Comparison, ...],
    m: list[np.ndarray],
    u: list[np.ndarray],
    counts: np.ndarray,
) -> pd.Series | None:
    """`identity.score._full_name_tf` on counts made in Spark (see there for the model)."""
    parts = _name_parts(comparisons, pd.DataFrame(columns=records.columns))
    return _full_name_strangers(
        parts, lambda columns: _sizes(records, columns), kinds, levels, comparisons, m, u, counts
    )
