"""Active learning: which candidate pair a steward should judge next.

A steward's answer teaches the model about every pair that looks like the one answered, not
only about that pair. Pairs "look alike" when they fall in one *cell*: the same level on
every comparison and, where a level's weight carries the value's term frequency, the same
band of that weight — so "same rare family name" and "same common family name" are different
cells, and a label on one does not speak for the other.

The value of asking a pair is the expected change of the model's belief about its cell,
times the pairs that belief covers: with q the cell's match share (the model's mean
probability there, moved by the answers already given, which count as labelled pairs
against `PSEUDO` pairs' worth of model belief), one more answer moves q by |y - q| /
(answers + PSEUDO + 1), on average 2·q(1 - q) / (answers + PSEUDO + 1). A cell of 500 pairs
at q = 0.5 is worth asking about; a cell of one pair, or one the model is sure of, is not.
Within a cell the pair the model is least sure of goes first, and each further pair of the
same cell is worth less (its answer is expected to move q less), so a batch of questions
spreads over the cells instead of asking one pattern fifty times.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BAND_BITS", "PSEUDO", "cells", "cells_of_weights", "informative_order", "select"]

BAND_BITS = 2.0  # two weights in one band differ by less than this many bits
PSEUDO = 2.0  # the model's belief about a cell counts as this many answered pairs


def cells(weights: np.ndarray, *, band_bits: float = BAND_BITS) -> np.ndarray:
    """Per pair (a row of `weights`: bits per comparison, NaN where the comparison could not
    be made) its cell id, 0..cells-1: pairs with every weight in the same `band_bits` band.

    The weight of a level is fixed by the model except where term frequency adjusts it, so
    banding the weights is banding the levels *and* the rarity of the agreed value.
    """
    if weights.ndim != 2:
        raise ValueError(f"cells: weights must be (pairs, comparisons), got shape {weights.shape}")
    if weights.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if band_bits <= 0:
        raise ValueError(f"cells: band_bits must be positive, got {band_bits}")
    missing = np.isnan(weights)
    band = np.floor(np.where(missing, 0.0, weights) / band_bits).astype(np.int64)
    band[missing] = np.iinfo(np.int64).min  # no band for a comparison that was not made
    _, cell = np.unique(band, axis=0, return_inverse=True)
    result: np.ndarray = cell.ravel().astype(np.int64)
    return result


def cells_of_weights(
    rows: Sequence[dict[str, float]], *, band_bits: float = BAND_BITS
) -> np.ndarray:
    """`cells` for pairs given as {comparison name: bits} (a comparison that could not be
    made is absent), as the review queue stores them."""
    names = sorted({name for row in rows for name in row})
    table = np.full((len(rows), len(names)), np.nan)
    column = {name: k for k, name in enumerate(names)}
    for i, row in enumerate(rows):
        for name, bits in row.items():
            table[i, column[name]] = bits
    return cells(table, band_bits=band_bits)


def _cell_state(
    probability: np.ndarray, cell: np.ndarray, answers: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: its match share q (model belief and answers) and the answers given in it."""
    size = int(cell.max()) + 1 if cell.size else 0
    count = np.bincount(cell, minlength=size).astype(np.float64)
    belief = np.bincount(cell, weights=probability, minlength=size) / np.maximum(count, 1.0)
    given: np.ndarray = np.zeros(size)
    matched: np.ndarray = np.zeros(size)
    if answers is not None:
        known = ~np.isnan(answers)
        given = np.bincount(cell[known], minlength=size).astype(np.float64)
        matched = np.bincount(cell[known], weights=answers[known], minlength=size)
    share = (matched + PSEUDO * belief) / (given + PSEUDO)
    return share, given


def _validated(probability: np.ndarray, cell: np.ndarray, answers: np.ndarray | None) -> None:
    if probability.shape != cell.shape:
        raise ValueError(
            f"active learning: {probability.size} probabilities for {cell.size} cells; "
            "pass one probability and one cell per candidate pair"
        )
    if answers is not None and answers.shape != probability.shape:
        raise ValueError(
            f"active learning: {answers.size} answers for {probability.size} pairs; pass "
            "one per pair (1 match, 0 no match, NaN not answered)"
        )


def informative_order(
    probability: np.ndarray,
    cell: np.ndarray,
    answers: np.ndarray | None = None,
    *,
    eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The `eligible` unanswered pairs, most informative first, and each one's value.

    `answers` holds what stewards decided (1 match, 0 no match, NaN not answered): answered
    pairs are not asked again and make their cell worth less. A pair's value is its cell's
    expected change of belief times the unanswered pairs the cell holds; the k-th pair of a
    cell (least sure first) is valued as the k-th answer there, which moves the belief less
    than the first. Ties go to the pair the model is least sure of, then to the lower index.
    """
    _validated(probability, cell, answers)
    if probability.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    share, given = _cell_state(probability, cell, answers)
    open_ = np.ones(probability.size, dtype=bool) if answers is None else np.isnan(answers)
    unanswered = np.bincount(cell[open_], minlength=share.size).astype(np.float64)
    if eligible is not None:
        open_ &= eligible
    index = np.flatnonzero(open_)
    doubt = np.abs(probability[index] - 0.5)
    # rank within the cell, least sure first
    order = np.lexsort((index, doubt, cell[index]))
    ranked = index[order]
    starts = np.r_[True, cell[ranked][1:] != cell[ranked][:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(ranked.size), 0))
    rank = np.empty(ranked.size, dtype=np.float64)
    rank[:] = np.arange(ranked.size) - group_start
    c = cell[ranked]
    gain = 2.0 * share[c] * (1.0 - share[c]) / (given[c] + PSEUDO + 1.0 + rank)
    value = gain * unanswered[c]
    # rounded: summation order must not reorder pairs of equal value
    final = np.lexsort((ranked, np.abs(probability[ranked] - 0.5), -np.round(value, 12)))
    return ranked[final], value[final]


def select(
    probability: np.ndarray,
    cell: np.ndarray,
    count: int,
    answers: np.ndarray | None = None,
    *,
    eligible: np.ndarray | None = None,
) -> list[int]:
    """The `count` pairs to ask next (a batch, before any of them is answered): the most
    informative, each valued as though the answers picked before it in its cell were in
    (`informative_order`)."""
    if count < 0:
        raise ValueError(f"select: count must be non-negative, got {count}")
    order, _ = informative_order(probability, cell, answers, eligible=eligible)
    return [int(i) for i in order[:count]]
