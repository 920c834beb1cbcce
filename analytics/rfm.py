"""The classic RFM segments: recency, frequency and monetary scored 1-5 by quintile, and
the (recency, frequency) score map of `analytics.model.DEFAULT_RFM_SEGMENTS` naming them
(champions, loyal, at risk, hibernating…). Customers who never bought are `prospect`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.model import RfmSegment

__all__ = ["rfm_scores", "rfm_segments"]


def _quintile(values: pd.Series, higher_is_better: bool) -> pd.Series:
    ranks = values.rank(method="average", pct=True, ascending=higher_is_better)
    return np.ceil(ranks * 5).clip(1, 5).astype(int)


def rfm_scores(recency_days: pd.Series, frequency: pd.Series, monetary: pd.Series) -> pd.DataFrame:
    """Scores 1-5 (5 best) among the customers who bought; 0 for those who never did."""
    bought = frequency > 0
    out = pd.DataFrame(0, index=recency_days.index, columns=["r", "f", "m"])
    if bought.any():
        out.loc[bought, "r"] = _quintile(recency_days[bought], higher_is_better=False)
        out.loc[bought, "f"] = _quintile(frequency[bought], higher_is_better=True)
        out.loc[bought, "m"] = _quintile(monetary[bought], higher_is_better=True)
    return out


def rfm_segments(scores: pd.DataFrame, segments: tuple[RfmSegment, ...]) -> pd.Series:
    """Each customer's segment name: the first whose ranges hold its r and f scores."""
    names = pd.Series("other", index=scores.index, dtype=object)
    unset = np.ones(len(scores), dtype=bool)
    r, f = scores["r"].to_numpy(), scores["f"].to_numpy()
    for seg in segments:
        hit = unset & (r >= seg.recency[0]) & (r <= seg.recency[1])
        hit &= (f >= seg.frequency[0]) & (f <= seg.frequency[1])
        names[hit] = seg.name
        unset &= ~hit
    names[r == 0] = "prospect"
    return names
