"""The ceilings of a data set: cells from levels and weights, and the cell ceiling's clustering."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.identity import crm_webshop
from benchmarks.identity.ceilings import ceilings, cell_ceiling, exact_cells, fuzzy_cells

# levels of 4 pairs over 2 comparisons whose strongest levels are 2 and 1
LEVELS = np.array([[2, 1], [2, 1], [1, 1], [-1, 0]], dtype=np.int8)


def test_exact_cells_tell_apart_agrees_does_not_and_missing() -> None:
    cell, count = exact_cells(LEVELS, [2, 1])
    assert count == 3
    assert cell[0] == cell[1]  # both agree exactly on both
    assert len({cell[1], cell[2], cell[3]}) == 3  # a partial level is "does not agree"


def test_fuzzy_cells_band_the_weights_and_keep_missing_apart() -> None:
    weights = np.array([[5.0, 1.0], [5.9, 1.5], [-3.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    cell, count = fuzzy_cells(LEVELS, weights)
    assert cell[0] == cell[1]  # 5.0 and 5.9 bits share a 2-bit band
    assert count == 3  # -3 bits, and a missing comparison (weight 0) are cells of their own
    assert cell[3] != cell[0] and cell[3] != cell[2]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (np.array([0, 0, 1]), 1.0),  # the cells separate matches from strangers
        (np.array([0, 0, 0]), None),  # one mixed cell: no threshold reaches 1.0
    ],
)
def test_cell_ceiling_scores_pairs_with_their_cells_true_share(
    cell: np.ndarray, expected: float | None
) -> None:
    # records 0-1-2 are one person, 3 another; pairs (0,1), (1,2) true, (2,3) false
    left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
    is_match = np.array([True, True, False])
    scores, threshold = cell_ceiling(4, left, right, is_match, cell, ["a", "a", "a", "b"])
    assert 0.3 <= threshold <= 0.9
    if expected is not None:
        assert scores.f1 == pytest.approx(expected)
    else:
        assert scores.f1 < 1.0


def test_ceilings_on_a_small_independent_set_are_consistent() -> None:
    shop = crm_webshop.generate(300, 5)
    truth = {(t.source, t.source_id): t.entity_id for t in shop.truth}
    entity = [truth[(str(r["source"]), str(r["source_id"]))] for r in shop.records]
    found = ceilings(shop.records, entity)
    assert found.records == len(shop.records)
    assert 0 < found.crmhub <= found.candidate_oracle <= 1.0  # crmhub links only candidates
    assert 0 < found.exact <= 1.0 and 0 < found.fuzzy <= 1.0
    assert found.fuzzy_cells > 1 and found.exact_cells > 1
    assert 0.0 <= found.name_only_true_share <= 1.0
    assert 0.0 < found.share_true_at_95 <= 1.0
    assert "crmhub F1" in found.line()
