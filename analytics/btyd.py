"""Lifetime value and probability alive: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma
(Fader & Hardie 2013), fitted by maximum likelihood with scipy.

Why not pymc-marketing, the issue's first choice: measured here (2 cores), importing it
took 24 s and its MAP fit of BG/NBD on the 2,357-customer CDNOW sample 33 s (mostly graph
compilation), and its default priors pull the estimates away from the published maximum
likelihood ones (a 0.706 and b 2.092 against 0.793 and 2.426, 11-14 % off, where the goal
is 2 %); it brings about 60 packages (580 MB). The two log-likelihoods are closed form, so
a bounded quasi-Newton fit of the log-parameters takes well under a second on the
per-customer summary (x, t_x, T, m), fitted on at most `max_fit` (50,000) customers drawn
at random: the standard errors of four or three parameters from 50,000 customers are well
under 1 % of their values, and the fit's time no longer grows with the population. The
formulas follow the papers and `lifetimes`' implementation.

Time is in weeks (days / 7) as in the papers; `summarise` builds the summary from purchase
days: x = repeat purchase days, t_x = weeks from the first to the last purchase day, T =
weeks from the first purchase day to the last day observed, m = mean value of the repeat
purchase days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

__all__ = ["MODELS", "BetaGeo", "GammaGamma", "ParetoNBD", "PurchaseModel", "select", "summarise"]

WEEK = 7.0


def summarise(frame: pd.DataFrame, n_customers: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per customer code: x, t_x, T (weeks), m (mean repeat-day value), n_days (purchase
    days). Customers without a purchase have n_days 0 and x, t_x, T, m 0."""
    stamps = frame["ts"].dt.as_unit("ns").array.asi8
    rows = frame["purchase"].to_numpy(dtype=bool) & (stamps < as_of.value)
    code = frame["code"].to_numpy()[rows]
    day = stamps[rows] // 86_400_000_000_000
    value = np.nan_to_num(frame["value"].to_numpy(dtype=float)[rows])
    ordered = (np.diff(code) >= 0).all() and (
        (np.diff(code) > 0) | (np.diff(day) >= 0)
    ).all()  # the prepared frame is sorted by customer and time; others are sorted here
    if not ordered:
        order = np.lexsort((day, code))
        code, day, value = code[order], day[order], value[order]
    # one entry per customer and purchase day
    change = np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])][: len(code)]
    starts = np.flatnonzero(change)
    day_code, day_day = code[starts], day[starts]
    day_value = np.add.reduceat(value, starts) if len(starts) else np.zeros(0)
    n_days = np.bincount(day_code, minlength=n_customers)
    total = np.bincount(day_code, day_value, minlength=n_customers)
    firsts = np.flatnonzero(np.r_[True, day_code[1:] != day_code[:-1]][: len(day_code)])
    first, last = np.zeros(n_customers), np.zeros(n_customers)
    first_value = np.zeros(n_customers)
    first[day_code[firsts]] = day_day[firsts]
    first_value[day_code[firsts]] = day_value[firsts]
    last[day_code] = day_day  # sorted by day within a customer: the last write is the last day
    end = int(as_of.value // 86_400_000_000_000) - 1  # the last whole day observed
    bought = n_days > 0
    out = pd.DataFrame(index=pd.RangeIndex(n_customers, name="code"))
    out["n_days"] = n_days.astype(np.int64)
    out["x"] = np.maximum(n_days - 1, 0).astype(float)
    out["t_x"] = np.where(bought, (last - first) / WEEK, 0.0)
    out["T"] = np.where(bought, np.maximum((end - first) / WEEK, 0.0), 0.0)
    repeat_total = np.where(bought, total - first_value, 0.0)
    x = out["x"].to_numpy()
    out["m"] = np.where(x > 0, repeat_total / np.where(x > 0, x, 1.0), 0.0)
    return out


def _fit(nll: Callable[[np.ndarray], Any], x0: np.ndarray, *, jac: bool = False) -> np.ndarray:
    result = minimize(nll, x0, method="L-BFGS-B", jac=jac, bounds=[(-12.0, 12.0)] * len(x0))
    return np.asarray(np.exp(np.asarray(result.x, dtype=float)))


def _sample(n: int, max_fit: int, seed: int) -> np.ndarray:
    if n <= max_fit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_fit, replace=False))


@dataclass(frozen=True, kw_only=True)
class BetaGeo:
    """A fitted BG/NBD model: purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    @staticmethod
    def log_likelihood(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Each customer's log-likelihood (FHL 2005, eq. 6, in a numerically stable form)."""
        r, alpha, a, b = params
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore"):
            a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(t_x + alpha)
        top = np.maximum(a3, a4)
        return np.asarray(
            a1 + a2 + top + np.log(np.exp(a3 - top) + np.where(x > 0, np.exp(a4 - top), 0.0))
        )

    @classmethod
    def fit(
        cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, max_fit: int = 50_000, seed: int = 7
    ) -> BetaGeo:
        """Maximum likelihood estimates from repeat purchases x, recency t_x and age T."""
        pick = _sample(len(x), max_fit, seed)
        xs, ts, Ts = (np.asarray(v, dtype=float)[pick] for v in (x, t_x, T))
        scale = max(float(np.mean(Ts)), 1e-3)

        def nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(log_params)
            ll, grad = cls.log_likelihood_and_gradient(params, xs, ts, Ts)
            return -float(np.mean(ll)), -grad.mean(axis=1) * params

        r, alpha, a, b = _fit(nll, np.log([0.5, scale, 1.0, 1.0]), jac=True)
        return cls(r=float(r), alpha=float(alpha), a=float(a), b=float(b))

    @staticmethod
    def log_likelihood_and_gradient(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each customer's log-likelihood and its gradient in (r, alpha, a, b) (4 x n): the
        closed-form derivatives make a fit several times faster than finite differences."""
        r, alpha, a, b = params
        repeat = x > 0
        x1 = np.maximum(x, 1)
        log_t, log_tx = np.log(alpha + T), np.log(alpha + t_x)
        a3 = -(r + x) * log_t
        a4 = np.log(a) - np.log(b + x1 - 1) - (r + x) * log_tx
        top = np.where(repeat, np.maximum(a3, a4), a3)
        e3, e4 = np.exp(a3 - top), np.where(repeat, np.exp(a4 - top), 0.0)
        total = e3 + e4
        w3, w4 = e3 / total, e4 / total
        ll = (
            gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            + betaln(a, b + x) - betaln(a, b) + top + np.log(total)
        )  # fmt: skip
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
        grad = np.stack(
            [
                digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_t - w4 * log_tx,
                r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x)),
                psi_ab - psi_abx + w4 / a,
                digamma(b + x) - digamma(b) + psi_ab - psi_abx - w4 / (b + x1 - 1),
            ]
        )
        return np.asarray(ll), grad

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Probability that each customer is still active at T."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x = np.asarray(x, dtype=float)
        log_div = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(
            a / (b + np.maximum(x, 1) - 1)
        )
        return np.asarray(np.where(x == 0, 1.0, expit(-log_div)))

    def expected_purchases(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in the next `t` weeks given each customer's history (`t` one
        horizon for all, or one per customer)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        ha, hb, hc = r + x, b + x, a + b + x - 1
        z = t / (alpha + T + t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_hyp = np.log(hyp2f1(ha, hb, hc, z))
            alt = np.log(hyp2f1(hc - ha, hc - hb, hc, z)) + (hc - ha - hb) * np.log1p(-z)
        log_hyp = np.where(np.isfinite(log_hyp), log_hyp, alt)
        first = (a + b + x - 1) / (a - 1)
        second = 1 - np.exp(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
        denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return np.asarray(np.nan_to_num(first * second / denominator, nan=0.0))


@dataclass(frozen=True, kw_only=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model: spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    p: float
    q: float
    v: float

    @classmethod
    def fit(
        cls, x: np.ndarray, m: np.ndarray, *, max_fit: int = 50_000, seed: int = 7
    ) -> GammaGamma:
        """Maximum likelihood from repeat purchases x > 0 and their mean value m > 0."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        ok = (x > 0) & (m > 0)
        pick = _sample(int(ok.sum()), max_fit, seed)
        xs, ms = x[ok][pick], m[ok][pick]
        if len(xs) < 3:
            return cls(p=1.0, q=2.0, v=float(np.mean(ms)) if len(ms) else 1.0)

        def nll(log_params: np.ndarray) -> float:
            p, q, v = np.exp(log_params)
            px = p * xs
            ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
            ll += (px - 1) * np.log(ms) + px * np.log(xs) - (px + q) * np.log(xs * ms + v)
            return -float(np.mean(ll))

        p, q, v = _fit(nll, np.log([1.0, 2.0, float(np.mean(ms))]))
        return cls(p=float(p), q=float(q), v=float(v))

    def expected_spend(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Expected value of each customer's next purchase (the population mean when x = 0)."""
        p, q, v = self.p, self.q, self.v
        x = np.asarray(x, dtype=float)
        m = np.where((x > 0) & (np.asarray(m) > 0), m, 0.0)
        x = np.where(m > 0, x, 0.0)
        weight = p * x / (p * x + q - 1)
        population = v * p / (q - 1) if q > 1 else float(v * p)
        return np.asarray((1 - weight) * population + weight * m)


@dataclass(frozen=True, kw_only=True)
class ParetoNBD:
    """A fitted Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchase rate ~
    Gamma(r, alpha), lifetime ~ exponential with rate ~ Gamma(s, beta). Unlike BG/NBD a
    customer can leave at any time, not only just after a purchase. The likelihood follows
    Fader & Hardie's 2005 note and `lifetimes`' implementation."""

    r: float
    alpha: float
    s: float
    beta: float

    @staticmethod
    def log_likelihood(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Each customer's log-likelihood."""
        r, alpha, s, beta = params
        rsx = r + s + x
        if alpha >= beta:
            big, third = alpha, s + 1.0
        else:
            big, third = beta, r + x
        gap = abs(alpha - beta)
        q1, q2 = big + t_x, big + T
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p1 = hyp2f1(rsx, third, rsx + 1.0, gap / q1)
            p2 = hyp2f1(rsx, third, rsx + 1.0, gap / q2)
            # log(p1 / q1^rsx - p2 / q2^rsx), the first term the larger
            l1, l2 = np.log(p1) - rsx * np.log(q1), np.log(p2) - rsx * np.log(q2)
            log_a0 = l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        stay = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        left = np.log(s) + log_a0 - np.log(rsx)
        left = np.where(np.isfinite(left), left, -np.inf)
        return np.asarray(a1 + np.logaddexp(stay, left))

    @classmethod
    def fit(
        cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, max_fit: int = 50_000, seed: int = 7
    ) -> ParetoNBD:
        """Maximum likelihood estimates from repeat purchases x, recency t_x and age T."""
        pick = _sample(len(x), max_fit, seed)
        xs, ts, Ts = (np.asarray(v, dtype=float)[pick] for v in (x, t_x, T))
        scale = max(float(np.mean(Ts)), 1e-3)

        def nll(log_params: np.ndarray) -> float:
            ll = cls.log_likelihood(np.exp(log_params), xs, ts, Ts)
            return -float(np.mean(ll)) if np.isfinite(ll).all() else 1e10

        r, alpha, s, beta = _fit(nll, np.log([0.5, scale, 0.5, scale]))
        return cls(r=float(r), alpha=float(alpha), s=float(s), beta=float(beta))

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Probability that each customer is still active at T."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        ll = self.log_likelihood(np.array([r, alpha, s, beta]), x, t_x, T)
        stay = (
            gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            - (r + x) * np.log(alpha + T) - s * np.log(beta + T)
        )  # fmt: skip
        return np.asarray(np.clip(np.exp(stay - ll), 0.0, 1.0))

    def expected_purchases(
        self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in the next `t` weeks given each customer's history."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        rate = (r + x) * (beta + T) / ((alpha + T) * (s - 1))
        if abs(s - 1) < 1e-9:
            horizon = np.log((beta + T + t) / (beta + T)) * (r + x) / (alpha + T) * (beta + T)
            return np.asarray(self.p_alive(x, t_x, T) * horizon)
        share = 1 - ((beta + T) / (beta + T + t)) ** (s - 1)
        return np.asarray(self.p_alive(x, t_x, T) * rate * share)


PurchaseModel = BetaGeo | ParetoNBD
MODELS: dict[str, type[BetaGeo] | type[ParetoNBD]] = {"bgnbd": BetaGeo, "pareto": ParetoNBD}


def select(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, later: np.ndarray, weeks: float
) -> tuple[str, dict[str, float]]:
    """The purchase model to use, chosen on the calibration period only: each candidate is
    fitted on the summary at an earlier cut (x, t_x, T) and predicts the purchases of the
    `weeks` after it (`later`, still before the real cut-off); the lowest mean absolute
    error wins. Returns its name and every candidate's error."""
    errors = {}
    for name, model in MODELS.items():
        predicted = model.fit(x, t_x, T).expected_purchases(weeks, x, t_x, T)
        errors[name] = float(np.mean(np.abs(predicted - np.asarray(later, dtype=float))))
    return min(errors, key=lambda n: errors[n]), errors
