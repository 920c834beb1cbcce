"""BG/NBD with a new-customer regime: the purchase rate depends on the time since the first
purchase.

On the CDNOW master file the repeat rate per customer halves in the ~10 weeks after a first
purchase and then stays nearly flat; BG/NBD can only explain a falling rate by customers
leaving, so a fit on young customers sees the early fall as dropout and extrapolates it.
Here a customer's purchases follow a Poisson process with intensity lambda * g(s), s the
weeks since the first purchase, g(s) = 1 + (k - 1) exp(-s / c): k times the lasting rate
at first, halfway back after c * ln 2 weeks. Heterogeneity and dropout are BG/NBD's:
lambda ~ Gamma(r, alpha), after each repeat purchase the customer leaves with probability
p ~ Beta(a, b). k = 1 is BG/NBD.

The model is BG/NBD in operational time: with Lambda(s) = s + (k - 1) c (1 - exp(-s / c)),
the process of purchases against Lambda(s) is homogeneous with rate lambda, and dropout
happens at purchases, which the time change leaves in place. So

- the likelihood is BG/NBD's at (x, Lambda(t_x), Lambda(T)) times prod g(s_i) over the
  repeat purchases' ages s_i - the fit needs the pooled ages of every repeat purchase
  (`repeat_ages`) besides the usual summary;
- p_alive, the expected purchases in (T, T + t] and the whole predictive distribution are
  BG/NBD's at Lambda(t_x), Lambda(T) with the horizon Lambda(T + t) - Lambda(T) per
  customer (`as_beta_geo` and `horizon`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from analytics.btyd import WEEK, BetaGeo

__all__ = ["RegimeBetaGeo", "repeat_ages"]

STARTS = (2.0, 6.0, 15.0)  # decay weeks the fit starts from; the best optimum is kept


def repeat_ages(frame: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Weeks from each customer's first purchase day to each of their later purchase days
    before `as_of` (one per customer and day, as `analytics.btyd.summarise` counts them),
    pooled over customers: what `RegimeBetaGeo.fit` needs besides x, t_x and T."""
    stamps = frame["ts"].dt.as_unit("ns").array.asi8
    rows = frame["purchase"].to_numpy(dtype=bool) & (stamps < as_of.value)
    code = frame["code"].to_numpy()[rows]
    day = stamps[rows] // 86_400_000_000_000
    order = np.lexsort((day, code))
    code, day = code[order], day[order]
    keep = np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])][: len(code)]
    code, day = code[keep], day[keep]
    first = np.r_[True, code[1:] != code[:-1]][: len(code)]
    first_day = day[first][np.cumsum(first) - 1]
    return np.asarray((day - first_day)[~first] / WEEK, dtype=float)


@dataclass(frozen=True, kw_only=True)
class RegimeBetaGeo:
    """A fitted BG/NBD with a new-customer regime: rate lambda * (1 + (k - 1) exp(-s / c))
    at s weeks after the first purchase, lambda ~ Gamma(r, alpha), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    k: float  # the rate just after the first purchase, in multiples of the lasting rate
    c: float  # weeks: the extra rate decays as exp(-s / c)

    def operational_time(self, s: np.ndarray) -> np.ndarray:
        """Lambda(s): the weeks of lasting-rate purchasing that s weeks after a first
        purchase are worth."""
        s = np.asarray(s, dtype=float)
        return np.asarray(s + (self.k - 1.0) * self.c * -np.expm1(-s / self.c))

    def as_beta_geo(self) -> BetaGeo:
        """The BG/NBD that holds in operational time."""
        return BetaGeo(r=self.r, alpha=self.alpha, a=self.a, b=self.b)

    def horizon(self, t: float, T: np.ndarray) -> np.ndarray:
        """Each customer's next `t` weeks in operational time: Lambda(T + t) - Lambda(T)."""
        T = np.asarray(T, dtype=float)
        return np.asarray(self.operational_time(T + t) - self.operational_time(T))

    @staticmethod
    def log_likelihood(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, ages: np.ndarray
    ) -> float:
        """The sample's log-likelihood at (r, alpha, a, b, k, c): BG/NBD's in operational
        time plus log g(s) at every repeat purchase."""
        r, alpha, a, b, k, c = params
        model = RegimeBetaGeo(r=r, alpha=alpha, a=a, b=b, k=k, c=c)
        lam = model.operational_time
        ll = BetaGeo.log_likelihood(np.array([r, alpha, a, b]), x, lam(t_x), lam(T))
        return float(ll.sum() + np.log1p((k - 1.0) * np.exp(-np.asarray(ages) / c)).sum())

    @classmethod
    def fit(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, ages: np.ndarray) -> RegimeBetaGeo:
        """Maximum likelihood from the summary (x, t_x, T in weeks) and the pooled ages of
        the repeat purchases (`repeat_ages`; as many as x adds up to)."""
        x, t_x, T, ages = (np.asarray(v, dtype=float) for v in (x, t_x, T, ages))
        if len(ages) != int(x.sum()):
            raise ValueError(
                f"RegimeBetaGeo.fit: {len(ages)} repeat-purchase ages for {int(x.sum())} "
                "repeat purchases in x - build both from the same frame and cut-off"
            )
        n = max(len(x), 1)
        scale = max(float(np.mean(T)) if len(T) else 1.0, 1e-3)

        def nll(log_params: np.ndarray) -> float:
            value = -cls.log_likelihood(np.exp(log_params), x, t_x, T, ages) / n
            return value if np.isfinite(value) else 1e10

        bounds = [(-12.0, 12.0)] * 4 + [(np.log(0.05), np.log(50.0)), (np.log(0.1), np.log(200.0))]
        best = None
        for c0 in STARTS:
            start = np.log([0.5, scale, 1.0, 1.0, 2.0, c0])
            result = minimize(nll, start, method="L-BFGS-B", bounds=bounds)
            if best is None or result.fun < best.fun:
                best = result
        assert best is not None
        r, alpha, a, b, k, c = (float(v) for v in np.exp(best.x))
        return cls(r=r, alpha=alpha, a=a, b=b, k=k, c=c)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Probability that each customer is still active at T."""
        lam = self.operational_time
        return self.as_beta_geo().p_alive(np.asarray(x, dtype=float), lam(t_x), lam(T))

    def expected_purchases(
        self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in the next `t` weeks given each customer's history."""
        lam = self.operational_time
        return self.as_beta_geo().expected_purchases(
            self.horizon(t, T), np.asarray(x, dtype=float), lam(t_x), lam(T)
        )
