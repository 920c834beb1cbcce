"""Pairwise precision, recall and F1 of a resolver's crosswalk against the ground truth.

A clustering asserts that every two records in the same cluster are the same entity. With
``P`` the record pairs the resolver put together, ``T`` the pairs truly together and
``TP = |P ∩ T|``: precision = TP / |P|, recall = TP / |T|. Pairs are never enumerated: a cluster
of n records holds C(n, 2) pairs, so |P|, |T| and TP are sums of C(n, 2) over the predicted
clusters, the true entities and the non-empty cells of their contingency table. That is a few
vectorised passes over the records, fine for millions of them.

    python -m benchmarks.identity.evaluate CROSSWALK.csv TRUTH.csv
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "CROSSWALK_HEADER",
    "EvaluationError",
    "PairCounts",
    "Scores",
    "pair_counts",
    "pairwise_scores",
    "read_crosswalk",
    "scores_from_labels",
]

CROSSWALK_HEADER: tuple[str, str, str] = ("source", "source_id", "golden_id")
_TRUTH_HEADER: tuple[str, str, str] = ("source", "source_id", "entity_id")


class EvaluationError(ValueError):
    """A crosswalk cannot be scored against the truth (missing, extra or repeated records)."""


@dataclass(frozen=True, kw_only=True)
class Scores:
    """Pairwise scores of one clustering against the truth.

    With no predicted pairs, precision is 1.0 (nothing wrong was claimed); with no true pairs,
    recall is 1.0 (nothing was there to find).
    """

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    records: int
    predicted_clusters: int
    true_entities: int
    largest_cluster: int

    @property
    def predicted_pairs(self) -> int:
        """Record pairs the resolver put in the same cluster."""
        return self.tp + self.fp

    @property
    def true_pairs(self) -> int:
        """Record pairs that truly are the same entity."""
        return self.tp + self.fn

    def line(self) -> str:
        """One human-readable summary line."""
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
            f"(TP {self.tp:,}  FP {self.fp:,}  FN {self.fn:,}; {self.records:,} records in "
            f"{self.predicted_clusters:,} clusters (largest {self.largest_cluster:,}), "
            f"{self.true_entities:,} true entities)"
        )


def _pairs_in(sizes: npt.NDArray[np.int64]) -> int:
    """Sum of C(n, 2) over cluster sizes, in exact integers."""
    return int((sizes * (sizes - 1) // 2).sum())


class PairCounts(NamedTuple):
    """Pair and cluster counts of a predicted labeling against the true one."""

    tp: int
    predicted_pairs: int
    true_pairs: int
    predicted_clusters: int
    true_entities: int
    largest_cluster: int


def pair_counts(predicted: npt.ArrayLike, truth: npt.ArrayLike) -> PairCounts:
    """Pair counts of two labelings of the same records, aligned by position."""
    pred_codes, pred_uniques = pd.factorize(np.asarray(predicted, dtype=object))
    true_codes, true_uniques = pd.factorize(np.asarray(truth, dtype=object))
    if len(pred_codes) != len(true_codes):
        raise EvaluationError(
            f"{len(pred_codes)} predicted labels but {len(true_codes)} true labels"
        )
    pred_sizes = np.bincount(pred_codes).astype(np.int64)
    true_sizes = np.bincount(true_codes).astype(np.int64)
    # One int64 key per (predicted cluster, true entity) cell; at most n² < 2⁶³ for n < 3·10⁹.
    cells = pred_codes.astype(np.int64) * max(len(true_uniques), 1) + true_codes
    _, cell_sizes = np.unique(cells, return_counts=True)
    return PairCounts(
        tp=_pairs_in(cell_sizes.astype(np.int64)),
        predicted_pairs=_pairs_in(pred_sizes),
        true_pairs=_pairs_in(true_sizes),
        predicted_clusters=len(pred_uniques),
        true_entities=len(true_uniques),
        largest_cluster=int(pred_sizes.max()) if len(pred_sizes) else 0,
    )


def scores_from_labels(predicted: npt.ArrayLike, truth: npt.ArrayLike) -> Scores:
    """Pairwise scores of a predicted labeling against the true one (aligned by position)."""
    c = pair_counts(predicted, truth)
    precision = c.tp / c.predicted_pairs if c.predicted_pairs else 1.0
    recall = c.tp / c.true_pairs if c.true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(
        precision=precision,
        recall=recall,
        f1=f1,
        tp=c.tp,
        fp=c.predicted_pairs - c.tp,
        fn=c.true_pairs - c.tp,
        records=len(np.asarray(truth, dtype=object)),
        predicted_clusters=c.predicted_clusters,
        true_entities=c.true_entities,
        largest_cluster=c.largest_cluster,
    )


def _read_labels(path: Path, header: tuple[str, str, str], what: str) -> pd.DataFrame:
    """A three-column CSV keyed by (source, source_id), every value read as text."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except FileNotFoundError as exc:
        raise EvaluationError(f"{what} {path}: no such file") from exc
    except pd.errors.EmptyDataError as exc:
        raise EvaluationError(f"{what} {path}: empty file, expected {','.join(header)}") from exc
    if tuple(frame.columns) != header:
        raise EvaluationError(
            f"{what} {path}: header must be {','.join(header)}, got {','.join(frame.columns)}"
        )
    repeated = frame.duplicated(["source", "source_id"], keep=False)
    if repeated.any():
        example = frame.loc[repeated, ["source", "source_id"]].iloc[0]
        raise EvaluationError(
            f"{what} {path}: {int(repeated.sum())} rows repeat a (source, source_id), e.g. "
            f"{example['source']},{example['source_id']} — each record must appear once"
        )
    return frame


def read_crosswalk(path: Path) -> pd.DataFrame:
    """A crosswalk CSV ``source,source_id,golden_id`` as a DataFrame of text."""
    return _read_labels(path, CROSSWALK_HEADER, "crosswalk")


def _examples(frame: pd.DataFrame, n: int = 3) -> str:
    return "; ".join(
        f"{s},{i}" for s, i in frame[["source", "source_id"]].head(n).itertuples(False)
    )


def pairwise_scores(crosswalk_csv: Path, truth_csv: Path) -> Scores:
    """Score a crosswalk CSV against a truth CSV.

    Raises EvaluationError when a truth record is missing from the crosswalk, when the
    crosswalk has records the truth does not know, or when either repeats a record.
    """
    crosswalk = read_crosswalk(Path(crosswalk_csv))
    truth = _read_labels(Path(truth_csv), _TRUTH_HEADER, "truth")
    joined = truth.merge(crosswalk, on=["source", "source_id"], how="outer", indicator=True)
    missing = joined[joined["_merge"] == "left_only"]
    if len(missing):
        raise EvaluationError(
            f"crosswalk {crosswalk_csv}: {len(missing):,} of {len(truth):,} records are missing "
            f"(e.g. {_examples(missing)}) — a resolver must give every input record a golden_id"
        )
    extra = joined[joined["_merge"] == "right_only"]
    if len(extra):
        raise EvaluationError(
            f"crosswalk {crosswalk_csv}: {len(extra):,} records are not in the truth "
            f"(e.g. {_examples(extra)}) — was it made from another input file?"
        )
    empty = joined["golden_id"] == ""
    if empty.any():
        raise EvaluationError(
            f"crosswalk {crosswalk_csv}: {int(empty.sum()):,} records have an empty golden_id "
            f"(e.g. {_examples(joined[empty])})"
        )
    return scores_from_labels(joined["golden_id"].to_numpy(), joined["entity_id"].to_numpy())


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: print the pairwise scores of a crosswalk against a truth file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("crosswalk", type=Path, help="source,source_id,golden_id CSV")
    parser.add_argument("truth", type=Path, help="source,source_id,entity_id CSV")
    args = parser.parse_args(argv)
    try:
        scores = pairwise_scores(args.crosswalk, args.truth)
    except EvaluationError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(scores.line())


if __name__ == "__main__":
    main()
