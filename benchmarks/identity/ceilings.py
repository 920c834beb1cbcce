"""Ceilings of one data set: how well a matcher could do with what it can see, per size.

Measured on crmhub's candidate pairs (its blocking), with the labels:

* **candidate oracle** (`quality.oracle_ceiling`): every candidate pair's truth known — what
  blocking allows at all. It says nothing of how separable the pairs are.
* **fuzzy-signal ceiling**: a pair is known only by its *cell* — every comparison's level and
  the band of its weight, so the rarity of an agreed value too (`identity.active.cells`, the
  most any model over these comparisons can tell apart). Each pair is scored with its cell's
  *true* match share (a perfectly calibrated model of the cells) and clustered as the engine
  clusters (`identity.cluster.cluster`, the best of a few merge thresholds). Where a cell is
  mixed (two strangers sharing a full name and nothing else) no model of the cells does
  better. It is not a strict bound on crmhub: its weights are finer than the 2-bit bands, and
  its conflict cut is its own.
* **exact-signal ceiling**: the same with cells of exact signals only — per comparison, agrees
  at its strongest level, does not, or cannot be compared; no fuzzy levels, no frequencies.
* **name-only pairs**: candidate pairs agreeing exactly on every name comparison and on
  nothing else known (every other comparison of the customer missing), and the share
  of them that truly match — the cell the growth of a fixed name pool dilutes.

When the data grows and a cell's true share falls (more strangers share each full name), the
fuzzy and exact ceilings fall with it: that decay is the data's, not the engine's.

    python -m benchmarks.identity.ceilings --input records.jsonl.gz --truth truth.csv
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.identity.evaluate import Scores, scores_from_labels
from identity.levels import Comparison, Role

__all__ = [
    "THRESHOLDS",
    "Ceilings",
    "ceilings",
    "cell_ceiling",
    "exact_cells",
    "fuzzy_cells",
    "name_only",
]

# the merge thresholds a cell ceiling tries (it keeps the best)
THRESHOLDS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_BAND_BITS = 2.0  # as identity.active.BAND_BITS


@dataclass(frozen=True, kw_only=True)
class Ceilings:
    """crmhub's F1 and the ceilings above it on one data set (see the module docstring)."""

    records: int
    candidate_pairs: int
    true_pairs: int
    crmhub: float
    candidate_oracle: float
    fuzzy: float
    fuzzy_threshold: float
    fuzzy_cells: int
    exact: float
    exact_threshold: float
    exact_cells: int
    name_only_pairs: int
    name_only_true_share: float
    expected_over_true: float  # sum of probabilities / true matches among candidates
    share_true_at_95: float
    resolve_seconds: float
    seconds: float

    def line(self) -> str:
        """One human-readable summary line."""
        return (
            f"records {self.records:,}  crmhub F1 {self.crmhub:.4f}  ceilings: exact "
            f"{self.exact:.4f} (@{self.exact_threshold:g}, {self.exact_cells:,} cells), fuzzy "
            f"{self.fuzzy:.4f} (@{self.fuzzy_threshold:g}, {self.fuzzy_cells:,} cells), "
            f"candidate oracle {self.candidate_oracle:.4f}; name-only pairs "
            f"{self.name_only_pairs:,}, {self.name_only_true_share:.3f} true  "
            f"({self.candidate_pairs:,} candidate "
            f"pairs, {self.true_pairs:,} true pairs; expected/true {self.expected_over_true:.3f}, "
            f"pairs >= 0.95 {self.share_true_at_95:.4f} true; resolve {self.resolve_seconds:.0f}s,"
            f" all {self.seconds:.0f}s)"
        )


def _combine(columns: Sequence[np.ndarray], pairs: int) -> tuple[np.ndarray, int]:
    """One id per distinct row of the given per-pair integer columns (0..cells-1)."""
    cell = np.zeros(pairs, dtype=np.int64)
    count = 1
    for column in columns:
        code, uniques = pd.factorize(column)
        cell = pd.factorize(cell * len(uniques) + code)[0].astype(np.int64)
        count = int(cell.max()) + 1 if pairs else 0
    return cell, count


def fuzzy_cells(levels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, int]:
    """Per pair its cell of every weight's 2-bit band (`identity.active.cells`), built a
    column at a time (no pairs x comparisons copy); and the number of cells."""
    columns = []
    for k in range(weights.shape[1]):
        band = np.floor(weights[:, k].astype(np.float64) / _BAND_BITS).astype(np.int64)
        band[levels[:, k] < 0] = np.iinfo(np.int64).min
        columns.append(band)
    return _combine(columns, weights.shape[0])


def exact_cells(levels: np.ndarray, strongest: Sequence[int]) -> tuple[np.ndarray, int]:
    """Per pair its cell of exact signals: per comparison -1 (not comparable), 1 (agrees at its
    strongest level) or 0; and the number of cells."""
    columns = [
        np.where(levels[:, k] < 0, -1, (levels[:, k] == top).astype(np.int64))
        for k, top in enumerate(strongest)
    ]
    return _combine(columns, levels.shape[0])


def name_only(levels: np.ndarray, comparisons: Sequence[Comparison]) -> np.ndarray:
    """Pairs agreeing at the strongest level on every name comparison and on nothing else
    known about the customer (every other comparison, but the systems, missing)."""

    mask = np.ones(levels.shape[0], dtype=bool)
    for k, c in enumerate(comparisons):
        if c.role is Role.NAME:
            mask &= levels[:, k] == len(c.levels) - 1
        elif c.role is not Role.PROVENANCE:
            mask &= levels[:, k] < 0
    return mask


def cell_ceiling(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    is_match: np.ndarray,
    cell: np.ndarray,
    entity: Sequence[str],
    *,
    thresholds: Sequence[float] = THRESHOLDS,
) -> tuple[Scores, float]:
    """Best pairwise scores (and the merge threshold) of clustering the pairs scored with their
    cell's true match share."""
    from identity.cluster import cluster

    share = np.bincount(cell, weights=is_match) / np.maximum(np.bincount(cell), 1)
    probability = share[cell]
    best: tuple[Scores, float] | None = None
    for t in thresholds:
        labels = cluster(n, left, right, probability, upper=t, lower=t / 2).labels
        scores = scores_from_labels(labels, entity)
        if best is None or scores.f1 > best[0].f1:
            best = (scores, t)
    assert best is not None
    return best


def ceilings(records: Sequence[Mapping[str, Any]], entity: Sequence[str]) -> Ceilings:
    """Run the engine on `records` and measure its F1 and the ceilings against `entity`."""
    from benchmarks.identity.quality import oracle_ceiling
    from identity.resolve import resolve

    started = time.perf_counter()
    result = resolve(records, build_golden=False)
    resolve_seconds = time.perf_counter() - started
    n = len(records)
    truth = np.asarray(list(entity), dtype=object)
    codes = pd.factorize(truth)[0]
    s = result.scored
    is_match = codes[s.left] == codes[s.right]
    sizes = np.bincount(codes).astype(np.int64)
    strongest = [len(c.levels) - 1 for c in result.model.comparisons]
    fuzzy_cell, fuzzy_count = fuzzy_cells(s.levels, s.weights)
    fuzzy, fuzzy_t = cell_ceiling(n, s.left, s.right, is_match, fuzzy_cell, entity)
    del fuzzy_cell
    exact_cell, exact_count = exact_cells(s.levels, strongest)
    exact, exact_t = cell_ceiling(n, s.left, s.right, is_match, exact_cell, entity)
    blocked = result.stats["candidate_pairs"]  # calibration over blocking's pairs (quality.py)
    top = s.probability[:blocked] >= 0.95
    named = name_only(s.levels, result.model.comparisons)
    true_candidates = int(is_match[:blocked].sum())
    return Ceilings(
        records=n,
        candidate_pairs=len(s.left),
        true_pairs=int((sizes * (sizes - 1) // 2).sum()),
        crmhub=scores_from_labels(result.labels, entity).f1,
        candidate_oracle=oracle_ceiling(n, s.left, s.right, is_match, entity).f1,
        fuzzy=fuzzy.f1,
        fuzzy_threshold=fuzzy_t,
        fuzzy_cells=fuzzy_count,
        exact=exact.f1,
        exact_threshold=exact_t,
        exact_cells=exact_count,
        name_only_pairs=int(named.sum()),
        name_only_true_share=float(is_match[named].mean()) if named.any() else 0.0,
        expected_over_true=float(s.probability[:blocked].sum()) / max(true_candidates, 1),
        share_true_at_95=float(is_match[:blocked][top].mean()) if top.any() else 1.0,
        resolve_seconds=resolve_seconds,
        seconds=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: crmhub's F1 and the ceilings of one data set (last line: JSON)."""
    from benchmarks.identity.quality import read_dataset

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    args = parser.parse_args(argv)
    records, entity = read_dataset(args.input, args.truth)
    result = ceilings(records, entity)
    print(result.line())
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
