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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks.analytics import common
from benchmarks.analytics.common import Figure, run_generated
from benchmarks.analytics.generator import AS_OF

__all__ = ["names_cause", "run"]

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
    joined = run_generated(n, seed).joined
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
    extra = {"auc_recency": recency, "auc_p_alive": p_alive, "customers": float(len(scored))}
    return figures, extra


def main() -> int:
    return common.main((__doc__ or "").splitlines()[0], run)


if __name__ == "__main__":
    raise SystemExit(main())
