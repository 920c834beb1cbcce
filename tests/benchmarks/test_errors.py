"""The error analysis sorts every missed and false pair, and the counts add up to the scores."""

from __future__ import annotations

import numpy as np

from benchmarks.identity import crm_webshop
from benchmarks.identity.errors import analyse, pattern
from benchmarks.identity.quality import quality


def test_pattern_marks_missing_different_partial_and_strongest_levels() -> None:
    levels = np.array([-1, 0, 1, 3, 2], dtype=np.int8)
    assert pattern(levels, [3, 3, 3, 3, 2]) == ".01=="


def test_missed_and_false_pairs_add_up_to_the_pairwise_scores() -> None:
    shop = crm_webshop.generate(300, 5)
    records = shop.records
    truth = {(t.source, t.source_id): t.entity_id for t in shop.truth}
    entity = [truth[(str(r["source"]), str(r["source_id"]))] for r in records]
    report = analyse(records, entity, examples=2)
    scores = quality(records, entity).crmhub
    assert sum(report.missed.values()) == scores.fn
    assert sum(report.false.values()) == scores.fp
    assert scores.fn > 0  # identifier-less web records cannot all be placed
    assert set(report.missed) <= {
        "never a candidate, unreachable",
        "never a candidate, reachable",
        "scored below upper",
        "cut",
        "linked but cut elsewhere",
    }
    text = "\n".join(report.lines(top=3))
    assert "missed true pairs by cause:" in text and "comparisons: 0:given_name" in text


def test_calibration_counts_blocking_candidates_and_reports_cluster_pairs_apart() -> None:
    shop = crm_webshop.generate(300, 5)
    records = shop.records
    truth = {(t.source, t.source_id): t.entity_id for t in shop.truth}
    entity = [truth[(str(r["source"]), str(r["source_id"]))] for r in records]
    report = quality(records, entity)
    candidates = sum(b.pairs for b in report.bands)
    assert report.cluster_pairs > 0  # web records without a comparable field join clusters
    # the pairs clustering adds were chosen because other pairs joined them: mostly true
    # matches at the prior, which says nothing of the candidates' calibration
    assert report.cluster_pairs_true > report.cluster_pairs_expected
    assert report.true_candidate_matches + report.cluster_pairs_true <= report.true_pairs
    assert candidates > report.cluster_pairs
    assert 0.8 < report.expected_matches / report.true_candidate_matches < 1.2
    assert "pairs added inside clusters (not candidates)" in "\n".join(report.lines())
