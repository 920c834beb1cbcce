"""Churn risk on generated data with planted truth (`python -m benchmarks.analytics.churn`).

The generator plants who leaves and why: in the half year before leaving a churner's
purchases fall (`decline`), complaints rise (`complaints`), or both. `crmhub analyse`'s
engine scores every customer who bought before the cut-off with P(no purchase in the next
90 days), trained only on snapshots of the history before the cut-off; the truth is whether
they bought in the 90 days after. Figures:

- ROC AUC of the churn risk, against two naive baselines in the same run: recency alone
  (days since the last purchase) and 1 - P(alive) from BG/NBD. Goal: >= 0.85 and >= 0.05
  above the better baseline.
- Reasons: among the true churners in the top risk decile whose planted cause is known, the
  share whose stated reasons name it (decline: "purchases down…" or "low purchase volume";
  complaints: "…complaint…"; both: either). Goal: >= 80 %. Reported for all of them and for
  the recent leavers (planted leave date in the half year before the cut-off or the
  horizon after it), whose cause is still visible in the data.
- The in-period ceiling: the same kind of model cross-validated on the true outcomes after
  the cut-off, with the whole monthly history as features; the engine cannot know those
  outcomes, so a goal above this ceiling is beyond what the observable data carries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from analytics.analyse import _btyd
from analytics.backends.local import LocalBackend
from analytics.churn import churn_features
from analytics.model import AnalysisSpec
from analytics.traits import COMPLAINT, PURCHASE, TraitSpec
from benchmarks.analytics import common
from benchmarks.analytics.common import Figure, run_generated
from benchmarks.analytics.generator import AS_OF, Generated

__all__ = ["in_period_auc", "names_cause", "run"]

VOLUME_WORDS = ("purchases down", "purchase volume")


def names_cause(cause: str, reasons: str) -> bool:
    """Whether the stated `reasons` name the planted `cause`."""
    volume = any(w in reasons for w in VOLUME_WORDS)
    complaints = "complaint" in reasons
    if cause == "decline":
        return volume
    if cause == "complaints":
        return complaints
    return volume or complaints


def run(n: int = 20_000, seed: int = 1) -> tuple[list[Figure], dict[str, float]]:
    """The churn figures on `n` generated customers."""
    result = run_generated(n, seed)
    joined = result.joined
    scored = joined.loc[joined["churn_risk"].notna()]
    y = scored["true_churned"].to_numpy(dtype=bool)
    auc = float(roc_auc_score(y, scored["churn_risk"]))
    recency = float(roc_auc_score(y, scored["recency_days"]))
    p_alive = float(roc_auc_score(y, 1.0 - scored["p_alive"]))
    better = max(recency, p_alive)
    top = scored["churn_risk"].rank(ascending=False, method="first") <= len(scored) / 10
    churners = scored.loc[top & scored["true_churned"] & (scored["true_cause"] != "none")]
    named = np.array(
        [
            names_cause(c, r)
            for c, r in zip(churners["true_cause"], churners["churn_reasons"], strict=True)
        ],
        dtype=bool,
    )
    leave = churners["true_leaves_at"]
    recent = (
        (leave >= AS_OF - pd.Timedelta(days=180)) & (leave < AS_OF + pd.Timedelta(days=90))
    ).to_numpy()
    share = float(named.mean()) if len(named) else float("nan")
    share_recent = float(named[recent].mean()) if recent.any() else float("nan")
    figures = [
        Figure("churn_auc", auc, ">= 0.85 and >= better baseline + 0.05",
               auc >= 0.85 and auc >= better + 0.05,
               f"recency alone {recency:.3f}, 1 - p_alive {p_alive:.3f}; "
               f"{len(scored):,} customers, {y.mean():.1%} churned"),
        Figure("churn_reasons_name_cause", share, ">= 0.80", share >= 0.80,
               f"{int(named.sum())} of {len(named)} true churners with a planted cause "
               "in the top risk decile"),
        Figure("churn_reasons_name_cause_recent", share_recent, ">= 0.80", share_recent >= 0.80,
               f"{int(named[recent].sum())} of {int(recent.sum())} who left in the half year "
               "before the cut-off or the horizon after"),
    ]  # fmt: skip
    ceiling = in_period_auc(result.data)
    figures.append(
        Figure("churn_auc_in_period_ceiling", ceiling, "", None,
               "5-fold cross-validated on the cut-off's TRUE outcomes (which the engine "
               "never sees), the engine's features plus 24 monthly purchase and 12 monthly "
               "complaint counts: what the observable history carries")
    )  # fmt: skip
    extra = {"auc_recency": recency, "auc_p_alive": p_alive, "customers": float(len(scored))}
    return figures, extra


def in_period_auc(data: Generated, folds: int = 5) -> float:
    """ROC AUC of the same gradient boosting, cross-validated on the outcomes after the
    cut-off themselves, on the engine's churn features plus the customer's month-by-month
    purchases (24 months) and complaints (12): no train/test shift between snapshots and
    the cut-off, and the whole recent history as features. A ceiling on what the data
    observable before the cut-off says about who buys in the horizon."""
    spec, backend = AnalysisSpec(), LocalBackend()
    cut = AS_OF.tz_localize(None)
    prepared = backend.prepare(data.interactions, spec, cut, data.customers["customer_id"])
    traits = backend.traits(prepared, spec.traits, prepared.as_of)
    summary = backend.summary(prepared, prepared.as_of)
    bought = summary["n_days"].to_numpy() > 0
    _, p_alive, expected = _btyd(summary, bought, spec.churn.horizon_days / 7.0)
    features = churn_features(traits, summary, p_alive, expected)
    monthly = tuple(
        TraitSpec(name=f"{name}_month_{k}", aggregation="count", window_days=30,
                  offset_days=30 * k, condition=condition)
        for name, condition, months in (("purchases", PURCHASE, 24), ("complaints", COMPLAINT, 12))
        for k in range(months)
    )  # fmt: skip
    history = backend.traits(prepared, monthly, prepared.as_of)
    x = pd.concat([features, history], axis=1).loc[bought].to_numpy(dtype=float)
    truth = data.truth.set_index("customer_id").reindex(prepared.customer_ids[bought])
    y = truth["churned"].to_numpy(dtype=bool)
    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
        random_state=spec.churn.seed,
    )  # fmt: skip
    proba = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def main() -> int:
    return common.main((__doc__ or "").splitlines()[0], run)


if __name__ == "__main__":
    raise SystemExit(main())
