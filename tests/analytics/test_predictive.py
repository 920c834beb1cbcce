"""The predictive distribution of future purchases (analytics.predictive): exact identities
(rows sum to one, the mean is the closed-form expectation), a hand-worked case, and Monte
Carlo simulations of BG/NBD and Pareto/NBD customer bases with known parameters: summed
over any set of customers picked by their calibration history, the predicted P(X = n)
must match how many of them made n purchases in the simulated hold-out."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.btyd import BetaGeo, ParetoNBD, PurchaseModel
from analytics.predictive import purchase_pmf, purchase_quantile

BG = BetaGeo(r=0.243, alpha=4.414, a=0.793, b=2.426)  # the published CDNOW sample fit
PARETO = ParetoNBD(r=0.553, alpha=10.58, s=0.606, beta=11.67)
HOLDOUT = 39.0


def simulate(
    model: PurchaseModel, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n customers from the model's own story, each observed for T in (1, 39) weeks after
    the first purchase and then for HOLDOUT weeks: (x, t_x, T, hold-out purchases)."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(1.0, 39.0, n)
    end = T + HOLDOUT
    x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n)
    if isinstance(model, BetaGeo):
        rate = rng.gamma(model.r, 1.0 / model.alpha, n)
        p = rng.beta(model.a, model.b, n)
        stop = np.full(n, np.inf)  # BG/NBD: may leave just after each repeat purchase
    else:
        rate = rng.gamma(model.r, 1.0 / model.alpha, n)
        stop = rng.exponential(1.0 / rng.gamma(model.s, 1.0 / model.beta, n))
        p = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now = now + rng.exponential(1.0 / np.maximum(rate, 1e-12))
        bought = active & (now < end) & (now < stop)
        before = bought & (now < T)
        x += before
        t_x = np.where(before, now, t_x)
        later += bought & ~before
        active = bought & (rng.random(n) >= p)
    return x, t_x, T, later


@pytest.mark.parametrize("model", [BG, PARETO], ids=["bgnbd", "pareto"])
def test_rows_sum_to_one_and_the_mean_is_the_expected_purchases(model: PurchaseModel) -> None:
    x, t_x, T, _ = simulate(model, 2_000, seed=1)
    pmf = purchase_pmf(model, HOLDOUT, x, t_x, T, 400)
    assert pmf.sum(axis=1) == pytest.approx(1.0, abs=1e-9)
    mean = pmf @ np.arange(401)
    assert mean == pytest.approx(model.expected_purchases(HOLDOUT, x, t_x, T), rel=1e-6, abs=1e-9)


def test_a_customer_seen_only_at_the_first_purchase_by_hand() -> None:
    # x = 0, T = 0: alive for sure, nothing learnt; P(X(t) = 0) = (alpha / (alpha + t))^r
    pmf = purchase_pmf(BG, 39.0, np.zeros(1), np.zeros(1), np.zeros(1), 3)
    assert pmf[0, 0] == pytest.approx((4.414 / 43.414) ** 0.243)
    # one purchase then gone (FHL eq. 8, n = 1): stay for 1 and leave after it
    nbd1 = 0.243 * (4.414 / 43.414) ** 0.243 * (39.0 / 43.414)
    stay = (2.426 / (0.793 + 2.426)) * nbd1  # B(a, b + 1) / B(a, b) = b / (a + b)
    leave = (0.793 / (0.793 + 2.426)) * (1 - (4.414 / 43.414) ** 0.243)
    assert pmf[0, 1] == pytest.approx(stay + leave)


@pytest.mark.parametrize("model", [BG, PARETO], ids=["bgnbd", "pareto"])
def test_predicted_counts_match_a_monte_carlo_simulation(model: PurchaseModel) -> None:
    x, t_x, T, later = simulate(model, 30_000, seed=11)
    pmf = purchase_pmf(model, HOLDOUT, x, t_x, T, 5)
    recent = t_x > T / 2
    groups = {
        "everyone": np.ones(len(x), dtype=bool),
        "no repeat purchase": x == 0,
        "repeat buyers, recent": (x > 0) & recent,
        "repeat buyers, not recent": (x > 0) & ~recent,
        "frequent": x >= 4,
    }
    for name, rows in groups.items():
        for n in range(4):
            p = pmf[rows, n]
            seen = float(np.sum(later[rows] == n))
            sd = float(np.sqrt(np.sum(p * (1 - p))))
            assert abs(p.sum() - seen) < 4 * sd + 2, (name, n, p.sum(), seen)


@pytest.mark.parametrize("model", [BG, PARETO], ids=["bgnbd", "pareto"])
def test_the_median_is_a_quantile_and_beats_the_mean_on_absolute_error(
    model: PurchaseModel,
) -> None:
    x, t_x, T, later = simulate(model, 20_000, seed=5)
    median = purchase_quantile(model, HOLDOUT, x, t_x, T)
    cdf = np.cumsum(purchase_pmf(model, HOLDOUT, x, t_x, T, int(median.max()) + 1), axis=1)
    rows = np.arange(len(x))
    assert (cdf[rows, median] >= 0.5 - 1e-12).all()
    assert (np.where(median > 0, cdf[rows, np.maximum(median - 1, 0)], 0.0) < 0.5).all()
    mean = model.expected_purchases(HOLDOUT, x, t_x, T)
    assert np.mean(np.abs(median - later)) < np.mean(np.abs(mean - later))
    # a high quantile reaches beyond the first block of counts for the heaviest buyers
    assert (purchase_quantile(model, HOLDOUT, x, t_x, T, q=0.9) >= median).all()
    heavy = purchase_quantile(model, HOLDOUT, np.array([200.0]), np.array([39.0]), np.array([39.0]))
    assert heavy[0] > 31


def test_bad_arguments_say_what_is_wrong() -> None:
    one = np.ones(1)
    with pytest.raises(ValueError, match=r"t \(-1.0\) and max_count \(3\) must be >= 0"):
        purchase_pmf(BG, -1.0, one, one, one, 3)
    with pytest.raises(ValueError, match="q must be between 0 and 1"):
        purchase_quantile(BG, 39.0, one, one, one, q=1.0)
