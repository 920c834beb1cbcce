"""The analytics generator's planted category odds: what next-best-offer ceilings rank by."""

from __future__ import annotations

import numpy as np

from benchmarks.analytics.generator import CATEGORIES, generate
from benchmarks.analytics.nbo import hit_rate


def test_planted_category_odds_are_what_customers_buy() -> None:
    data = generate(2000, seed=3)
    odds = data.category_odds
    assert odds is not None and list(odds.columns) == list(CATEGORIES)
    np.testing.assert_allclose(odds.sum(axis=1), 1.0)
    orders = data.interactions.loc[data.interactions["type"] == "order"]
    row = orders["customer_id"].str[1:].astype(int).to_numpy()
    planted = odds.to_numpy()[row, [CATEGORIES.index(c) for c in orders["category"]]]
    # purchases fall where the planted odds are high: far above a uniform 1/12
    assert planted.mean() > 3 / len(CATEGORIES)


def test_hit_rate_counts_only_customers_who_bought_something_new() -> None:
    offers = [["a", "b", "c"], ["a"], ["x"]]
    bought = [{"c"}, set(), {"y"}]
    assert hit_rate(offers, bought) == 0.5


def test_the_in_period_churn_ceiling_is_a_real_auc() -> None:
    from benchmarks.analytics.churn import in_period_auc

    auc = in_period_auc(generate(1500, seed=4), folds=3)
    assert 0.7 < auc < 1.0  # the planted leavers are visible in the history, not perfectly
