"""Quality report of one resolver run: beside the rule baseline, under its ceiling, calibrated?

For a data set with ground truth it runs the engine in process (`identity.resolve.resolve`,
the default settings the batch contract uses) and reports:

* crmhub's pairwise scores and the rule baseline's (`benchmarks.identity.rules`);
* the **oracle ceiling**: the best pairwise F1 any classifier of crmhub's candidate pairs
  could reach (every truly matching candidate pair linked, no other) — what blocking allows;
* a **calibration table**: per band of predicted match probability, how many candidate pairs
  fall in it and what share of them truly match; and the expected number of matches (the sum
  of the probabilities over the candidates) against the true matches among them. Candidates
  are the pairs blocking proposed. The pairs clustering adds inside its draft clusters (to
  look for evidence against a merge) are reported apart: they were chosen *because* other
  pairs joined them, so their true share says how good the clusters are, not whether a
  pair's probability is calibrated (most carry no comparable field and score the prior);
* the **review queue**: pairs sent to stewards per 1,000 records.

    python -m benchmarks.identity.quality --input records.jsonl.gz --truth truth.csv
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.identity import read_jsonl, read_truth
from benchmarks.identity.evaluate import Scores, scores_from_labels
from benchmarks.identity.rules import rule_scores

__all__ = ["BANDS", "Band", "Quality", "calibration", "oracle_ceiling", "quality"]

BANDS: tuple[float, ...] = (0.0, 0.05, 0.2, 0.5, 0.7, 0.8, 0.95, 0.99, 1.0)


@dataclass(frozen=True, kw_only=True)
class Band:
    """Candidate pairs whose predicted probability lies in [low, high)."""

    low: float
    high: float
    pairs: int
    mean_probability: float
    true_share: float


@dataclass(frozen=True, kw_only=True)
class Quality:
    """One data set's quality figures."""

    records: int
    crmhub: Scores
    rules: Scores
    oracle: Scores
    bands: list[Band]
    expected_matches: float
    true_candidate_matches: int
    true_pairs: int
    cluster_pairs: int  # scored pairs clustering added inside its draft clusters
    cluster_pairs_true: int
    cluster_pairs_expected: float
    review_per_1000: float
    seconds: float

    @property
    def share_true_at_95(self) -> float:
        """Share of true matches among candidate pairs scored at or above 0.95."""
        top = [b for b in self.bands if b.low >= 0.95]
        pairs = sum(b.pairs for b in top)
        return sum(b.pairs * b.true_share for b in top) / pairs if pairs else 1.0

    def lines(self) -> list[str]:
        """The report as text lines."""
        out = [
            f"records {self.records:,}  (crmhub in process {self.seconds:.1f}s)",
            f"  crmhub  {self.crmhub.line()}",
            f"  rules   {self.rules.line()}",
            f"  oracle  {self.oracle.line()}",
            f"  goal    F1 >= min(rules + 0.08, 0.96 x oracle) = "
            f"{min(self.rules.f1 + 0.08, 0.96 * self.oracle.f1):.4f}",
            f"  review queue {self.review_per_1000:.1f} pairs per 1,000 records",
            f"  expected matches {self.expected_matches:,.0f} vs {self.true_candidate_matches:,}"
            f" true among candidates ({self.true_pairs:,} true pairs in all); "
            f"pairs >= 0.95: {self.share_true_at_95:.4f} true",
            f"  pairs added inside clusters (not candidates): {self.cluster_pairs:,}, "
            f"{self.cluster_pairs_true:,} true, expected {self.cluster_pairs_expected:,.0f}",
            "  calibration (candidates): band -> pairs, mean probability, share truly matching",
        ]
        for b in self.bands:
            out.append(
                f"    [{b.low:.2f}, {b.high:.2f})  {b.pairs:>9,}  {b.mean_probability:.3f}"
                f"  {b.true_share:.3f}"
            )
        return out


def calibration(probability: np.ndarray, is_match: np.ndarray) -> list[Band]:
    """Per probability band: pairs, mean predicted probability, share of true matches."""
    out = []
    edges = list(BANDS)
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        inside = (probability >= low) & (
            (probability < high) if i < len(edges) - 2 else (probability <= high)
        )
        count = int(inside.sum())
        out.append(
            Band(
                low=low,
                high=high,
                pairs=count,
                mean_probability=float(probability[inside].mean()) if count else 0.0,
                true_share=float(is_match[inside].mean()) if count else 0.0,
            )
        )
    return out


def oracle_ceiling(
    n: int, left: np.ndarray, right: np.ndarray, is_match: np.ndarray, entity: Sequence[str]
) -> Scores:
    """Pairwise scores of linking exactly the truly matching candidate pairs."""
    from identity.cluster import components

    labels = components(n, left[is_match], right[is_match])
    return scores_from_labels(labels, list(entity))


def quality(records: Sequence[Mapping[str, Any]], entity: Sequence[str]) -> Quality:
    """Run the engine on `records` and measure it against the true `entity` per record."""
    from identity.resolve import resolve

    started = time.perf_counter()
    result = resolve(records, build_golden=False)
    seconds = time.perf_counter() - started
    n = len(records)
    truth = np.asarray(list(entity), dtype=object)
    _, codes = np.unique(truth, return_inverse=True)
    s = result.scored
    is_match = codes[s.left] == codes[s.right]
    sizes = np.bincount(codes)
    blocked = result.stats["candidate_pairs"]  # scored keeps blocking's pairs first
    return Quality(
        records=n,
        crmhub=scores_from_labels(result.labels, list(entity)),
        rules=rule_scores(records, entity),
        oracle=oracle_ceiling(n, s.left, s.right, is_match, entity),
        bands=calibration(s.probability[:blocked], is_match[:blocked]),
        expected_matches=float(s.probability[:blocked].sum()),
        true_candidate_matches=int(is_match[:blocked].sum()),
        true_pairs=int((sizes * (sizes - 1) // 2).sum()),
        cluster_pairs=len(s.left) - blocked,
        cluster_pairs_true=int(is_match[blocked:].sum()),
        cluster_pairs_expected=float(s.probability[blocked:].sum()),
        review_per_1000=1000.0 * result.clustering.review.size / max(n, 1),
        seconds=seconds,
    )


def read_dataset(records_path: Path, truth_path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of a data set and each one's true entity, in file order."""
    records = list(read_jsonl(records_path))
    truth = {(t.source, t.source_id): t.entity_id for t in read_truth(truth_path)}
    return records, [truth[(str(r["source"]), str(r["source_id"]))] for r in records]


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: the quality report of one data set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    args = parser.parse_args(argv)
    records, entity = read_dataset(args.input, args.truth)
    print("\n".join(quality(records, entity).lines()))


if __name__ == "__main__":
    main()
