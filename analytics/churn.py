"""Churn risk: the probability of no purchase in the next N days, with its reasons in words.

A histogram gradient-boosting classifier is trained on snapshots of the customers' own
history — at cut-offs N, 2N, … days before the run's, the features as they were then and
whether the customer bought in the N days after — and scores everyone at the run's cut-off.
Its reasons come from path attribution of the boosted trees (`analytics.attribution`): each
split on a row's way to its leaf credits the change in expected output to the feature it
splits on; the groups of features credited with the most added risk are the customer's
reasons, written from the customer's own figures ("purchases down 60 % year on year; 3
complaints in 90 days, none before"). When the history is too thin to train on, rules stand
in (BG/NBD's expected purchases in the horizon, Poisson) and every reason says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier

from analytics.attribution import expected_raw, path_contributions
from analytics.model import Churn

__all__ = [
    "EXPLAIN_FROM",
    "FEATURES",
    "GROUPS",
    "ChurnModel",
    "churn_features",
    "reasons",
    "rule_risk",
]

FEATURES = (
    "recency_days", "recency_ratio", "frequency", "tenure_days", "mean_gap", "purchase_rate",
    "p_alive", "expected_purchases", "revenue_90d", "revenue_prev_90d", "revenue_365d",
    "revenue_prev_365d", "trend_90", "trend_365", "purchases_90d", "purchases_prev_90d",
    "purchases_365d", "purchases_prev_365d", "purchases_vs_usual", "trend_180",
    "pace_180", "pace_90", "complaints_90d",
    "complaints_prev_90d", "complaints_365d", "complaints_prev_365d", "complaint_trend",
    "days_since_complaint", "payment_delays_365d", "payment_delays_prev_365d", "open_tickets",
)  # fmt: skip

GROUPS: dict[str, tuple[str, ...]] = {
    "volume": ("revenue_90d", "revenue_prev_90d", "revenue_365d", "revenue_prev_365d",
               "trend_90", "trend_365", "purchases_90d", "purchases_prev_90d",
               "purchases_365d", "purchases_prev_365d", "purchases_vs_usual", "trend_180",
               "pace_180", "pace_90"),
    "complaints": ("complaints_90d", "complaints_prev_90d", "complaints_365d",
                   "complaints_prev_365d", "complaint_trend", "days_since_complaint"),
    "recency": ("recency_days", "recency_ratio"),
    "payments": ("payment_delays_365d", "payment_delays_prev_365d"),
    "tickets": ("open_tickets",),
    "alive": ("p_alive", "expected_purchases"),
    "history": ("frequency", "tenure_days", "mean_gap", "purchase_rate"),
}  # fmt: skip

EXPLAIN_FROM = 0.3  # risks below this are "low risk", with no reasons
RULES_NOTE = "rule-based estimate (too little history for a model)"


def _trend(now: pd.Series, before: pd.Series) -> pd.Series:
    return (now - before) / (now.abs() + before.abs() + 1.0)


def churn_features(
    traits: pd.DataFrame, summary: pd.DataFrame, p_alive: np.ndarray, expected: np.ndarray
) -> pd.DataFrame:
    """The model's features per customer from traits, the BG/NBD summary, p_alive and
    BG/NBD's expected purchases in the horizon: volume and complaint trends, and the
    customer's recent pace against their own rhythm."""
    out = pd.DataFrame(index=traits.index)
    for name in FEATURES:
        if name in traits:
            out[name] = traits[name].astype(float)
    x = summary["x"].to_numpy(dtype=float)
    gap = np.where(x > 0, summary["t_x"].to_numpy(dtype=float) * 7.0 / np.maximum(x, 1), np.nan)
    out["mean_gap"] = gap
    out["recency_ratio"] = out["recency_days"] / np.where(np.isnan(gap), np.nan, np.maximum(gap, 1))
    tenure = out["tenure_days"].clip(lower=30.0)
    out["purchase_rate"] = out["frequency"] / tenure * 365.0
    # purchases in the last year against what the customer's own lifetime pace would give
    usual = out["purchase_rate"] * np.minimum(tenure, 365.0) / 365.0
    out["purchases_vs_usual"] = out["purchases_365d"] / usual.where(usual > 0)
    # the last half year against the half year before it, and the last 180 and 90 days
    # against the customer's own lifetime pace (1: as usual, 0: nothing bought)
    half = out["purchases_90d"] + out["purchases_prev_90d"]
    out["trend_180"] = _trend(half, out["purchases_365d"] - half)
    pace = out["purchase_rate"].where(out["purchase_rate"] > 0)
    out["pace_180"] = half / (pace * 180.0 / 365.0)
    out["pace_90"] = out["purchases_90d"] / (pace * 90.0 / 365.0)
    out["p_alive"] = p_alive
    out["expected_purchases"] = expected
    out["trend_90"] = _trend(out["revenue_90d"], out["revenue_prev_90d"])
    out["trend_365"] = _trend(out["revenue_365d"], out["revenue_prev_365d"])
    out["complaint_trend"] = out["complaints_90d"] - out["complaints_prev_90d"]
    return out[list(FEATURES)]


@dataclass(frozen=True, kw_only=True)
class ChurnModel:
    """A fitted churn classifier and its training figures."""

    classifier: HistGradientBoostingClassifier
    rows: int
    churn_rate: float

    @classmethod
    def train(cls, features: pd.DataFrame, churned: np.ndarray, spec: Churn) -> ChurnModel | None:
        """Fit on snapshot rows; None when they are too few for a model."""
        events = int(churned.sum())
        if len(features) < spec.min_rows or min(events, len(churned) - events) < spec.min_events:
            return None
        if len(features) > spec.max_train_rows:
            pick = np.random.default_rng(spec.seed).choice(
                len(features), spec.max_train_rows, replace=False
            )
            features, churned = features.iloc[np.sort(pick)], churned[np.sort(pick)]
        classifier = HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
            random_state=spec.seed,
        )  # fmt: skip
        classifier.fit(features.to_numpy(dtype=float), churned.astype(int))
        return cls(
            classifier=classifier,
            rows=len(features),
            churn_rate=float(churned.mean()),
        )

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """P(no purchase in the horizon) per row."""
        if not len(features):
            return np.zeros(0)
        return np.asarray(self.classifier.predict_proba(features.to_numpy(dtype=float))[:, 1])

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """How much each group of features adds to each customer's risk (probability
        points; negative where the group lowers it): the model's path attribution in
        log-odds (`analytics.attribution`), rescaled so that a customer's groups add up
        to their risk minus the model's expected risk."""
        columns = list(features.columns)
        groups = [[columns.index(c) for c in cols] for cols in GROUPS.values()]
        credit = path_contributions(
            self.classifier, features.to_numpy(dtype=float), groups, n_threads=1
        )
        raw0 = expected_raw(self.classifier)
        shift = credit.sum(axis=1)
        p0 = float(expit(raw0))
        moved = np.abs(shift) > 1e-9
        scale = np.where(
            moved, (expit(raw0 + shift) - p0) / np.where(moved, shift, 1.0), p0 * (1 - p0)
        )
        return pd.DataFrame(credit * scale[:, None], index=features.index, columns=list(GROUPS))


def rule_risk(expected_purchases: np.ndarray) -> np.ndarray:
    """P(no purchase) when purchases in the horizon are Poisson with BG/NBD's expectation."""
    return np.asarray(np.exp(-np.clip(expected_purchases, 0, None)))


def _plural(n: float, word: str) -> str:
    k = round(n)
    return f"{k} {word}{'' if k == 1 else 's'}"


def _text(group: str, row: Mapping[str, float]) -> str:
    if group == "volume":
        now, before = row["revenue_365d"], row["revenue_prev_365d"]
        if before > 0 and now < before:
            return f"purchases down {round(100 * (1 - max(now, 0) / before))} % year on year"
        now, before = row["revenue_90d"], row["revenue_prev_90d"]
        if before > 0 and now < before:
            return (
                f"purchases down {round(100 * (1 - max(now, 0) / before))} % on the 90 days before"
            )
        return "low purchase volume"
    if group == "complaints":
        if row["complaints_90d"] > 0:
            before = row["complaints_prev_90d"]
            tail = "none before" if before == 0 else f"{round(before)} in the 90 days before"
            return f"{_plural(row['complaints_90d'], 'complaint')} in 90 days, {tail}"
        return (
            f"{_plural(row['complaints_365d'], 'complaint')} in the last year against "
            f"{round(row['complaints_prev_365d'])} the year before"
        )
    if group == "recency":
        gap = row["mean_gap"]
        usual = f" (usually every {round(gap)} days)" if gap == gap and gap > 0 else ""
        return f"no purchase for {round(row['recency_days'])} days{usual}"
    if group == "payments":
        return f"{_plural(row['payment_delays_365d'], 'late payment')} in the last year"
    if group == "tickets":
        return f"{_plural(row['open_tickets'], 'ticket')} still open"
    if group == "alive":
        return f"probability still active {row['p_alive']:.2f}"
    return "only one purchase so far" if row["frequency"] <= 1 else "short purchase history"


def reasons(
    features: pd.DataFrame,
    contributions: pd.DataFrame | None,
    risk: np.ndarray,
    *,
    top: int = 3,
    floor: float = 0.02,
    explain_from: float = EXPLAIN_FROM,
) -> list[str]:
    """Per customer its top reasons, `;`-separated, the strongest first. Without
    contributions (rules stood in) the reasons are the rules' own signs, and say so."""
    out = ["low risk"] * len(features)
    columns = {c: features[c].to_numpy(dtype=float) for c in features.columns}
    groups = list(GROUPS)
    if contributions is not None:
        matrix = contributions[groups].to_numpy(dtype=float)
        order = np.argsort(-matrix, axis=1, kind="stable")[:, :top]
    for i in np.flatnonzero(np.asarray(risk) >= explain_from):
        row = {c: v[i] for c, v in columns.items()}
        if contributions is None:
            found = [g for g in ("recency", "volume", "complaints") if _rule_applies(g, row)]
            out[i] = "; ".join([*(_text(g, row) for g in found[:top]), RULES_NOTE])
            continue
        picked = [groups[j] for j in order[i] if matrix[i, j] >= floor]
        out[i] = "; ".join(_text(g, row) for g in picked) or "no single strong sign"
    return out


def _rule_applies(group: str, row: Mapping[str, float]) -> bool:
    if group == "recency":
        return bool(row["recency_ratio"] > 2 or row["recency_days"] > 180)
    if group == "volume":
        return bool(row["revenue_365d"] < row["revenue_prev_365d"])
    return bool(row["complaints_90d"] > row["complaints_prev_90d"])
