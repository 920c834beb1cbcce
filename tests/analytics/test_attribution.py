"""Path attribution of the churn model's boosted trees: exact, and crediting what matters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from analytics.attribution import expected_raw, path_contributions


@pytest.fixture(scope="module")
def fitted() -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4000, 5))
    X[rng.random(X.shape) < 0.1] = np.nan  # missing values follow the learned side
    signal = 2.0 * np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2
    y = signal + rng.normal(scale=0.5, size=len(X)) > 1.0
    model = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, early_stopping=False)
    return model.fit(X, y), X


def test_credits_add_up_to_the_raw_score(
    fitted: tuple[HistGradientBoostingClassifier, np.ndarray],
) -> None:
    model, X = fitted
    credit = path_contributions(model, X, [[0], [1], [2, 3, 4]])
    raw = model.decision_function(X)
    assert credit.shape == (len(X), 3)
    np.testing.assert_allclose(credit.sum(axis=1) + expected_raw(model), raw, atol=1e-9)


def test_the_features_that_drive_the_outcome_get_the_credit(
    fitted: tuple[HistGradientBoostingClassifier, np.ndarray],
) -> None:
    model, X = fitted
    credit = np.abs(path_contributions(model, X, [[0], [1], [2, 3, 4]])).mean(axis=0)
    assert credit[0] > 5 * credit[2] and credit[1] > 5 * credit[2]
    # a high value of feature 0 raises the score, and feature 0 is credited with it
    high = np.nan_to_num(X[:, 0]) > 1.5
    assert (path_contributions(model, X[high], [[0], [1], [2, 3, 4]])[:, 0] > 0).mean() > 0.95


def test_a_feature_in_no_group_is_credited_to_none(
    fitted: tuple[HistGradientBoostingClassifier, np.ndarray],
) -> None:
    model, X = fitted
    full = path_contributions(model, X[:50], [[0], [1], [2, 3, 4]])
    partial = path_contributions(model, X[:50], [[1], [2, 3, 4]])
    np.testing.assert_allclose(partial, full[:, 1:])
