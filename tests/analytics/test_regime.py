"""BG/NBD with a new-customer regime (analytics.regime): labelled cases, the reduction to
BG/NBD at k = 1, and a simulated customer base with a known answer - the fit recovers the
parameters, forecasts the simulated hold-out, and plain BG/NBD on the same data does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.btyd import BetaGeo
from analytics.predictive import purchase_pmf, purchase_quantile
from analytics.regime import RegimeBetaGeo, repeat_ages

TRUE = RegimeBetaGeo(r=0.3, alpha=6.0, a=0.6, b=2.0, k=2.5, c=5.0)
HOLDOUT = 39.0


def simulate(
    model: RegimeBetaGeo, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n customers of the model's story, each observed for T in (26, 39) weeks after the
    first purchase, then HOLDOUT weeks: x, t_x, T, the pooled repeat ages, hold-out counts.
    Purchases are drawn in operational time (a homogeneous Poisson process at rate lambda)
    and mapped back to weeks by inverting Lambda on a fine grid."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 200.0, 200_001)
    back = grid, model.operational_time(grid)
    T = rng.uniform(26.0, 39.0, n)
    rate = rng.gamma(model.r, 1.0 / model.alpha, n)
    p = rng.beta(model.a, model.b, n)
    x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n)
    ages: list[np.ndarray] = []
    u = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        u = u + rng.exponential(1.0 / np.maximum(rate, 1e-12))
        s = np.interp(u, back[1], back[0], right=np.inf)
        bought = active & (s < T + HOLDOUT)
        before = bought & (s < T)
        x += before
        t_x = np.where(before, s, t_x)
        ages.append(s[before])
        later += bought & ~before
        active = bought & (rng.random(n) >= p)
    return x, t_x, T, np.concatenate(ages), later


def test_operational_time_by_hand() -> None:
    lam = TRUE.operational_time
    assert lam(np.array([0.0]))[0] == 0.0
    # c weeks in: c + (k - 1) c (1 - e^-1)
    assert lam(np.array([5.0]))[0] == pytest.approx(5.0 + 1.5 * 5.0 * (1 - np.exp(-1)))
    # k times the lasting rate at first, the lasting rate long after: Lambda(s) - s -> (k-1)c
    assert (lam(np.array([1e-6]))[0] / 1e-6) == pytest.approx(2.5, rel=1e-5)
    assert lam(np.array([500.0]))[0] - 500.0 == pytest.approx(7.5)
    assert TRUE.horizon(10.0, np.array([500.0]))[0] == pytest.approx(10.0)


def test_at_k_one_it_is_bg_nbd() -> None:
    x, t_x, T, ages, _ = simulate(TRUE, 2_000, seed=2)
    plain = RegimeBetaGeo(r=0.3, alpha=6.0, a=0.6, b=2.0, k=1.0, c=5.0)
    bg = plain.as_beta_geo()
    assert RegimeBetaGeo.log_likelihood(
        np.array([0.3, 6.0, 0.6, 2.0, 1.0, 5.0]), x, t_x, T, ages
    ) == pytest.approx(
        float(BetaGeo.log_likelihood(np.array([0.3, 6.0, 0.6, 2.0]), x, t_x, T).sum())
    )
    assert plain.expected_purchases(HOLDOUT, x, t_x, T) == pytest.approx(
        bg.expected_purchases(HOLDOUT, x, t_x, T)
    )
    assert plain.p_alive(x, t_x, T) == pytest.approx(bg.p_alive(x, t_x, T))


def test_repeat_ages_by_hand() -> None:
    day = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [  # (code, days after `day`, purchase?) in no particular order
        (1, 14, True), (0, 7, True), (0, 0, True), (0, 0, True),  # a repeat on the same day
        (1, 0, True), (0, 21, False),  # not a purchase
        (0, 70, True),  # on the cut-off: left out
        (2, 3, True),  # one purchase: no repeat
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "code": [r[0] for r in rows],
            "ts": [day + pd.Timedelta(days=r[1]) for r in rows],
            "purchase": [r[2] for r in rows],
        }
    )
    ages = repeat_ages(frame, day + pd.Timedelta(days=70))
    assert sorted(ages.tolist()) == [1.0, 2.0]  # customer 0 a week in, customer 1 two


def test_the_fit_recovers_a_simulated_base_and_its_hold_out() -> None:
    x, t_x, T, ages, later = simulate(TRUE, 20_000, seed=7)
    fitted = RegimeBetaGeo.fit(x, t_x, T, ages)
    tolerances = {"r": 0.1, "alpha": 0.15, "a": 0.15, "b": 0.15, "k": 0.1, "c": 0.2}
    for name, rel in tolerances.items():
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE, name), rel=rel), name
    forecast = fitted.expected_purchases(HOLDOUT, x, t_x, T).sum()
    assert forecast == pytest.approx(later.sum(), rel=0.02)
    # plain BG/NBD reads the early fall as dropout and under-forecasts the same hold-out
    plain = BetaGeo.fit(x, t_x, T).expected_purchases(HOLDOUT, x, t_x, T).sum()
    assert plain < 0.97 * later.sum()


def test_predictive_distribution_in_operational_time() -> None:
    x, t_x, T, _, later = simulate(TRUE, 20_000, seed=13)
    pmf = purchase_pmf(TRUE, HOLDOUT, x, t_x, T, 300)
    assert pmf.sum(axis=1) == pytest.approx(1.0, abs=1e-9)
    assert pmf @ np.arange(301) == pytest.approx(TRUE.expected_purchases(HOLDOUT, x, t_x, T))
    for rows in (x == 0, (x > 0) & (t_x > T / 2), x >= 3):
        for n in range(4):
            p = pmf[rows, n]
            seen = float(np.sum(later[rows] == n))
            assert abs(p.sum() - seen) < 4 * float(np.sqrt(np.sum(p * (1 - p)))) + 2, n
    median = purchase_quantile(TRUE, HOLDOUT, x, t_x, T)
    mean = TRUE.expected_purchases(HOLDOUT, x, t_x, T)
    assert np.mean(np.abs(median - later)) < np.mean(np.abs(mean - later))


def test_ages_that_do_not_belong_to_the_summary_are_refused() -> None:
    with pytest.raises(ValueError, match="2 repeat-purchase ages for 3 repeat purchases"):
        RegimeBetaGeo.fit(np.array([3.0]), np.array([5.0]), np.array([9.0]), np.array([1.0, 2.0]))


def test_analyse_runs_with_the_regime_model() -> None:
    from dataclasses import replace

    from analytics import AnalysisSpec, analyse
    from analytics.backends.local import LocalBackend
    from benchmarks.analytics.generator import AS_OF, generate

    data = generate(500, seed=4)
    spec = AnalysisSpec()
    spec = replace(spec, value=replace(spec.value, purchase_model="regime"))
    result = analyse(data.interactions, AS_OF.tz_localize(None), spec)
    assert isinstance(result.bgnbd, RegimeBetaGeo)
    buyers = result.customers.loc[result.customers["frequency"] > 0]
    assert len(buyers) > 300 and buyers["p_alive"].between(0, 1).all()
    assert np.isfinite(buyers["clv_12m"].to_numpy(dtype=float)).all()
    # the backend's repeat ages are the summary's repeat purchases, one each
    backend = LocalBackend()
    prepared = backend.prepare(data.interactions, spec, AS_OF, [])
    summary = backend.summary(prepared, AS_OF)
    assert len(backend.repeat_ages(prepared, AS_OF)) == summary["x"].sum()


def test_the_closed_form_gradient_is_the_likelihoods() -> None:
    from scipy.optimize import approx_fprime

    x, t_x, T, ages, _ = simulate(TRUE, 500, seed=21)
    params = np.array([0.35, 5.0, 0.7, 2.2, 1.8, 4.0])
    ll, grad = RegimeBetaGeo.log_likelihood_and_gradient(params, x, t_x, T, ages, 0.5)
    expected_ll = RegimeBetaGeo.log_likelihood(params, x, t_x, T, ages)
    ages_term = float(np.log1p(0.8 * np.exp(-ages / 4.0)).sum())
    assert ll == pytest.approx(expected_ll - 0.5 * ages_term)

    def total(p: np.ndarray) -> float:
        return RegimeBetaGeo.log_likelihood_and_gradient(p, x, t_x, T, ages, 0.5)[0]

    assert grad == pytest.approx(approx_fprime(params, total, 1e-6), rel=1e-4, abs=1e-4)


def test_a_large_base_is_fitted_on_a_sample() -> None:
    x, t_x, T, ages, _ = simulate(TRUE, 12_000, seed=17)
    whole = RegimeBetaGeo.fit(x, t_x, T, ages)
    sampled = RegimeBetaGeo.fit(x, t_x, T, ages, max_fit=6_000)
    assert sampled != whole
    for name in ("r", "alpha", "a", "b", "k", "c"):
        assert getattr(sampled, name) == pytest.approx(getattr(whole, name), rel=0.25), name
