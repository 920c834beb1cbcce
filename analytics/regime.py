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

    @staticmethod
    def log_likelihood_and_gradient(
        params: np.ndarray,
        x: np.ndarray,
        t_x: np.ndarray,
        T: np.ndarray,
        ages: np.ndarray,
        age_weight: float = 1.0,
    ) -> tuple[float, np.ndarray]:
        """`log_likelihood` (the ages' term times `age_weight`) and its gradient in (r,
        alpha, a, b, k, c): BG/NBD's closed-form gradient at the operational times, and
        the chain rule through Lambda for k and c."""
        r, alpha, a, b, k, c = params
        fade_tx, fade_T = np.exp(-t_x / c), np.exp(-T / c)
        t_op = t_x + (k - 1.0) * c * (1.0 - fade_tx)
        T_op = T + (k - 1.0) * c * (1.0 - fade_T)
        ll, grad = BetaGeo.log_likelihood_and_gradient(np.array([r, alpha, a, b]), x, t_op, T_op)
        # d ll / d T_op and d ll / d t_op, through the weights of "alive" and "left at t_x"
        repeat = x > 0
        a3 = -(r + x) * np.log(alpha + T_op)
        a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_op)
        w4 = np.where(repeat, 1.0 / (1.0 + np.exp(np.clip(a3 - a4, -700, 700))), 0.0)
        d_T = -(1.0 - w4) * (r + x) / (alpha + T_op)
        d_t = -w4 * (r + x) / (alpha + t_op)
        g = 1.0 + (k - 1.0) * np.exp(-ages / c)
        fade = np.exp(-ages / c)
        d_k = d_T * c * (1.0 - fade_T) + d_t * c * (1.0 - fade_tx)
        d_c = (k - 1.0) * (
            d_T * (1.0 - fade_T - T / c * fade_T) + d_t * (1.0 - fade_tx - t_x / c * fade_tx)
        )
        total = float(ll.sum() + age_weight * np.log(g).sum())
        gradient = np.r_[
            grad.sum(axis=1),
            d_k.sum() + age_weight * (fade / g).sum(),
            d_c.sum() + age_weight * ((k - 1.0) * fade * ages / c**2 / g).sum(),
        ]
        return total, gradient

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        t_x: np.ndarray,
        T: np.ndarray,
        ages: np.ndarray,
        *,
        max_fit: int = 50_000,
        seed: int = 7,
    ) -> RegimeBetaGeo:
        """Maximum likelihood from the summary (x, t_x, T in weeks) and the pooled ages of
        the repeat purchases (`repeat_ages`; as many as x adds up to). Above `max_fit`
        customers, a random `max_fit` of them and as large a share of the ages are fitted
        (the ages' term scaled to the customers' sample)."""
        x, t_x, T, ages = (np.asarray(v, dtype=float) for v in (x, t_x, T, ages))
        if len(ages) != int(x.sum()):
            raise ValueError(
                f"RegimeBetaGeo.fit: {len(ages)} repeat-purchase ages for {int(x.sum())} "
                "repeat purchases in x - build both from the same frame and cut-off"
            )
        weight = 1.0
        if len(x) > max_fit:
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.choice(len(x), max_fit, replace=False))
            share = max_fit / len(x)
            kept = rng.choice(len(ages), max(1, round(len(ages) * share)), replace=False)
            weight = share * len(ages) / len(kept) if len(ages) else 1.0
            x, t_x, T, ages = x[pick], t_x[pick], T[pick], ages[np.sort(kept)]
        n = max(len(x), 1)
        scale = max(float(np.mean(T)) if len(T) else 1.0, 1e-3)

        def nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(log_params)
            ll, grad = cls.log_likelihood_and_gradient(params, x, t_x, T, ages, weight)
            if not np.isfinite(ll) or not np.isfinite(grad).all():
                return 1e10, np.zeros_like(log_params)
            return -ll / n, -grad * params / n

        bounds = [(-12.0, 12.0)] * 4 + [(np.log(0.05), np.log(50.0)), (np.log(0.1), np.log(200.0))]
        best = None
        for c0 in STARTS:
            start = np.log([0.5, scale, 1.0, 1.0, 2.0, c0])
            result = minimize(nll, start, method="L-BFGS-B", jac=True, bounds=bounds)
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
