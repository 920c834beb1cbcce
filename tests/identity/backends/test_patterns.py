"""EM on agreement-pattern counts gives the model EM on every candidate pair gives.

`identity.score.estimate_from_patterns` sees the candidate pairs only as their distinct
level rows with counts (steward-labelled pairs as rows of their own): on FEBRL3 and a
generated CRM sample, with and without labels, m, u, the prior, the candidates' match share
and the term frequencies equal `estimate`'s on all pairs within 1e-9.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

from benchmarks.identity.crm_generator import generate
from benchmarks.identity.febrl import febrl3
from identity.backends import Decisions
from identity.backends.local import LocalBackend
from identity.model import ModelSpec
from identity.score import Model, estimate, estimate_from_patterns, pattern_counts

TOLERANCE = 1e-9


@cache
def _febrl3() -> tuple[dict[str, Any], ...]:
    return tuple(febrl3().records)  # all 5,000 records


@cache
def _crm() -> tuple[dict[str, Any], ...]:
    records, _truth = generate(1_500, seed=5)
    return tuple(records)


DATASETS: dict[str, Callable[[], tuple[dict[str, Any], ...]]] = {
    "febrl3": _febrl3,
    "crm": _crm,
}


def assert_same_model(expected: Model, found: Model) -> None:
    for k in range(len(expected.comparisons)):
        np.testing.assert_allclose(found.m[k], expected.m[k], rtol=TOLERANCE, atol=1e-15)
        np.testing.assert_allclose(found.u[k], expected.u[k], rtol=TOLERANCE, atol=1e-15)
    assert found.prior == pytest.approx(expected.prior, rel=TOLERANCE)
    assert found.prior_candidates == pytest.approx(expected.prior_candidates, rel=TOLERANCE)
    assert found.iterations == expected.iterations
    assert sorted(found.tf) == sorted(expected.tf)
    for name, freq in expected.tf.items():
        other = found.tf[name]
        assert list(other.index) == list(freq.index)
        np.testing.assert_allclose(other.to_numpy(), freq.to_numpy(), rtol=TOLERANCE)


@pytest.mark.parametrize("labelled", [False, True], ids=["no labels", "steward labels"])
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_em_on_pattern_counts_equals_em_on_every_pair(dataset: str, labelled: bool) -> None:
    spec = ModelSpec()
    backend = LocalBackend()
    table = backend.standardise(list(DATASETS[dataset]()), spec)
    pairs = backend.block(table, spec)
    levels = backend.compare(table, pairs, spec)
    assert isinstance(levels, np.ndarray)
    decisions = Decisions()
    if labelled:  # stewards' decisions on candidate pairs: some matches, some not
        rng = np.random.default_rng(3)
        chosen = rng.choice(levels.shape[0], size=40, replace=False)
        links = [(int(pairs.left[i]), int(pairs.right[i])) for i in chosen]
        decisions = Decisions(must_link=links[:25], cannot_link=links[25:])
    expected = backend.estimate(table, pairs, levels, spec, decisions)
    found = backend.patterns(table, pairs, levels, decisions)
    training = spec.training
    model = estimate_from_patterns(
        table.frame,
        found,
        comparisons=spec.comparisons,
        sessions=training.sessions,
        random_pairs=training.random_pairs,
        max_iterations=training.max_iterations,
        seed=training.seed,
    )
    assert_same_model(expected, model)
    assert found.rows.shape[0] < levels.shape[0] // 4  # far fewer rows than pairs
    assert found.pairs == levels.shape[0]
    assert int(np.count_nonzero(~np.isnan(found.fixed))) == (40 if labelled else 0)


def test_pattern_counts_merge_repeats_and_give_labelled_pairs_their_own_rows() -> None:
    levels = np.array([[2, 0], [2, 0], [1, -1], [2, 0], [1, -1]], dtype=np.int8)
    # counted in two parts (as partitions of a distributed table would), one pair labelled
    rows = np.concatenate([levels[:2], levels[2:]])
    counts = np.ones(5)
    found = pattern_counts(rows, counts, levels[[3]], [True])
    assert found.rows.tolist() == [[1, -1], [2, 0], [2, 0]]
    assert found.counts.tolist() == [2.0, 2.0, 1.0]
    assert np.isnan(found.fixed[:2]).all() and found.fixed[2] == 1.0
    assert found.pairs == 5.0


def test_a_labelled_pair_outside_the_counts_is_an_error() -> None:
    levels = np.array([[2, 0]], dtype=np.int8)
    with pytest.raises(ValueError, match="not among the counts"):
        pattern_counts(levels, np.ones(1), np.array([[1, 1]], dtype=np.int8), [False])


def test_estimate_takes_the_same_labels_by_candidate_index() -> None:
    """The labels `estimate` takes (candidate pair index, is_match) are the rows the local
    backend's `patterns` sets apart: the two entries share one meaning."""
    spec = ModelSpec()
    backend = LocalBackend()
    table = backend.standardise(list(_crm()), spec)
    pairs = backend.block(table, spec)
    levels = backend.compare(table, pairs, spec)
    assert isinstance(levels, np.ndarray)
    a, b = int(pairs.left[0]), int(pairs.right[0])
    found = backend.patterns(table, pairs, levels, Decisions(cannot_link=[(b, a)]))
    assert found.rows[-1].tolist() == levels[0].tolist()
    assert found.fixed[-1] == 0.0
    model = estimate(table.frame, levels, comparisons=spec.comparisons, labels=[(0, False)])
    assert model.prior > 0
