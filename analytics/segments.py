"""Segment value for any segmentation: share of customers against share of revenue and of
operating profit, segments with negative profit flagged, and the Lorenz/Pareto curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SEGMENT_COLUMNS", "lorenz", "pareto_share", "segment_value"]

SEGMENT_COLUMNS = (
    "segmentation", "segment", "customers", "customers_share", "revenue_share",
    "profit_share", "revenue", "profit", "negative_profit",
)  # fmt: skip


def _share(part: pd.Series, total: float) -> pd.Series:
    return part / total if total else part * 0.0


def segment_value(
    name: str, labels: pd.Series, revenue: pd.Series, profit: pd.Series
) -> pd.DataFrame:
    """One row per segment of `labels` (aligned with `revenue` and `profit`), largest first.
    Shares are of the totals over all customers, so they add up to 1 per segmentation."""
    frame = pd.DataFrame({"segment": labels.astype(str), "revenue": revenue, "profit": profit})
    grouped = frame.groupby("segment", sort=True)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["revenue"].sum(),
            "profit": grouped["profit"].sum(),
        }
    ).reset_index()
    out.insert(0, "segmentation", name)
    out["customers_share"] = out["customers"] / max(len(frame), 1)
    out["revenue_share"] = _share(out["revenue"], float(frame["revenue"].sum()))
    out["profit_share"] = _share(out["profit"], float(frame["profit"].sum()))
    out["negative_profit"] = out["profit"] < 0
    out = out.sort_values(["customers", "segment"], ascending=[False, True])
    return out[list(SEGMENT_COLUMNS)].reset_index(drop=True)


def lorenz(values: pd.Series, points: int = 20) -> pd.DataFrame:
    """The Pareto/Lorenz curve: customers ranked by value, highest first; at each share of
    customers, the share of the total value they bring (can pass 1 when some lose money)."""
    ranked = np.sort(values.to_numpy(dtype=float))[::-1]
    total = ranked.sum()
    cumulative = np.cumsum(ranked) / total if total else np.zeros_like(ranked)
    shares = np.linspace(0, 1, points + 1)[1:]
    # round first: 0.6 * 5 is 3.0000000000000004 in floating point, and its ceiling 4
    counts = np.ceil(np.round(shares * len(ranked), 9)).astype(int)
    idx = np.clip(counts - 1, 0, max(len(ranked) - 1, 0))
    value_share = cumulative[idx] if len(ranked) else np.zeros_like(shares)
    return pd.DataFrame({"customers_share": shares, "value_share": value_share})


def pareto_share(values: pd.Series, value_share: float = 0.8) -> float:
    """The smallest share of customers (highest value first) that brings `value_share` of
    the total."""
    ranked = np.sort(values.to_numpy(dtype=float))[::-1]
    total = ranked.sum()
    if total <= 0 or not len(ranked):
        return float("nan")
    hit = int(np.searchsorted(np.cumsum(ranked) / total, value_share))
    return min(hit + 1, len(ranked)) / len(ranked)
