"""The CDNOW sample reproduces the published BG/NBD and Gamma-Gamma fits within 2 %
(the lifetimes wheel is downloaded from PyPI once and cached)."""

from __future__ import annotations

import pytest

from analytics.btyd import BetaGeo, GammaGamma
from benchmarks.analytics.cdnow import CUT, _summary, load


def test_cdnow_sample_reproduces_the_published_fits() -> None:
    s = _summary(load("sample"), CUT)
    bg = BetaGeo.fit(s["x"].to_numpy(), s["t_x"].to_numpy(), s["T"].to_numpy())
    gg = GammaGamma.fit(s["x"].to_numpy(), s["m"].to_numpy())
    for got, want in ((bg.r, 0.243), (bg.alpha, 4.414), (bg.a, 0.793), (bg.b, 2.426),
                      (gg.p, 6.25), (gg.q, 3.74), (gg.v, 15.45)):  # fmt: skip
        assert got == pytest.approx(want, rel=0.02)


def test_one_purchase_gets_a_value_not_nan() -> None:
    bg = BetaGeo(r=0.243, alpha=4.414, a=0.793, b=2.426)
    import numpy as np

    value = bg.expected_purchases(52.0, np.array([0.0]), np.array([0.0]), np.array([3.0]))
    assert np.isfinite(value).all() and value[0] > 0
    assert (
        GammaGamma(p=6.25, q=3.74, v=15.45).expected_spend(np.array([0.0]), np.array([0.0]))[0] > 0
    )


def test_the_closed_form_gradient_is_the_likelihoods() -> None:
    import numpy as np
    from scipy.optimize import approx_fprime

    rng = np.random.default_rng(3)
    T = rng.uniform(5, 40, 300)
    t_x = T * rng.uniform(0, 1, 300)
    x = np.where(rng.random(300) < 0.4, 0.0, rng.integers(1, 12, 300)).astype(float)
    t_x = np.where(x == 0, 0.0, t_x)
    params = np.array([0.4, 6.0, 0.9, 2.2])
    ll, grad = BetaGeo.log_likelihood_and_gradient(params, x, t_x, T)
    assert ll == pytest.approx(BetaGeo.log_likelihood(params, x, t_x, T))
    numeric = approx_fprime(params, lambda p: BetaGeo.log_likelihood(p, x, t_x, T).mean(), 1e-7)
    assert grad.mean(axis=1) == pytest.approx(numeric, rel=1e-4, abs=1e-7)


def test_pareto_nbd_reproduces_the_published_cdnow_sample_fit() -> None:
    from analytics.btyd import ParetoNBD

    s = _summary(load("sample"), CUT)
    x, t_x, T = (s[c].to_numpy() for c in ("x", "t_x", "T"))
    model = ParetoNBD.fit(x, t_x, T)
    # Fader & Hardie (2005), and lifetimes' ParetoNBDFitter on the same file
    for got, want in ((model.r, 0.553), (model.alpha, 10.58), (model.s, 0.606),
                      (model.beta, 11.67)):  # fmt: skip
        assert got == pytest.approx(want, rel=0.02)
    assert model.expected_purchases(39.0, x, t_x, T).sum() == pytest.approx(1665.5, rel=0.005)
    alive = model.p_alive(x, t_x, T)
    assert ((alive >= 0) & (alive <= 1)).all() and alive[x == 0].mean() < 1


def test_auto_chooses_a_purchase_model_on_the_calibration_period_only() -> None:
    from dataclasses import replace

    from analytics import AnalysisSpec, analyse
    from analytics.btyd import ParetoNBD
    from benchmarks.analytics.generator import AS_OF, generate

    data = generate(500, seed=4)
    spec = AnalysisSpec()
    for kind, expected in (("pareto", ParetoNBD), ("bgnbd", BetaGeo)):
        chosen = replace(spec, value=replace(spec.value, purchase_model=kind))
        result = analyse(data.interactions, AS_OF.tz_localize(None), chosen)
        assert isinstance(result.bgnbd, expected)
        assert result.customers["p_alive"].between(0, 1).sum() > 300
    auto = replace(spec, value=replace(spec.value, purchase_model="auto"))
    when = data.interactions["occurred_at"]
    # what happens after the cut-off (moved later still) must not change the choice
    after = data.interactions.assign(occurred_at=when.where(when < AS_OF, when + (when - AS_OF)))
    first = analyse(data.interactions, AS_OF.tz_localize(None), auto).bgnbd
    second = analyse(after, AS_OF.tz_localize(None), auto).bgnbd
    assert type(first) is type(second) and first == second


def test_summary_of_no_purchases_is_all_zero() -> None:
    import numpy as np
    import pandas as pd

    from analytics.btyd import summarise

    frame = pd.DataFrame(
        {"code": np.zeros(0, dtype=np.int64), "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
         "purchase": np.zeros(0, dtype=bool), "value": np.zeros(0)}
    )  # fmt: skip
    out = summarise(frame, 3, pd.Timestamp("2024-01-01", tz="UTC"))
    assert out["n_days"].tolist() == [0, 0, 0] and out[["x", "t_x", "T", "m"]].sum().sum() == 0


def test_summary_does_not_depend_on_row_order() -> None:
    import pandas as pd

    from analytics.btyd import summarise
    from analytics.frame import prepare
    from benchmarks.analytics.generator import AS_OF, generate

    data = prepare(generate(300, seed=9).interactions, AS_OF)
    ordered = summarise(data.frame, data.n_customers, AS_OF)
    shuffled = summarise(data.frame.sample(frac=1.0, random_state=2), data.n_customers, AS_OF)
    pd.testing.assert_frame_equal(ordered, shuffled)
    one = ordered.loc[ordered["n_days"] == 1]
    assert len(one) and (one[["x", "t_x", "m"]] == 0).all().all()  # one day: no repeats
