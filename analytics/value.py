"""Customer value: revenue and operating profit per customer over a window.

Revenue is purchases net of refunds and cancellations. Margin is the interaction's own
(`margin`, in the base currency), else its category's rate from the spec, else the default
rate; a refund takes back the margin of what it refunds. Cost to serve is each ticket,
complaint, call and visit at its unit cost. Operating profit = margin - cost to serve.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics.model import Value

__all__ = ["customer_value"]


def _lookup(column: pd.Series, mapping: Mapping[str, float]) -> np.ndarray:
    """Each row's value looked up in `mapping` (NaN where missing or not there); a
    categorical is looked up once per distinct value."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        per_value = [mapping.get(str(c), np.nan) for c in column.cat.categories]
        table = np.append(np.asarray(per_value, dtype=float), np.nan)
        return np.asarray(table[column.cat.codes.to_numpy()])
    return np.asarray(column.map(dict(mapping)).astype(float).to_numpy())


def customer_value(
    frame: pd.DataFrame,
    n_customers: int,
    spec: Value,
    as_of: pd.Timestamp,
    window_days: int | None = 365,
) -> pd.DataFrame:
    """Per customer code: revenue, margin, cost_to_serve, profit over the window before
    `as_of` (all history when `window_days` is None)."""
    inside = np.asarray(frame["ts"] < as_of)
    if window_days is not None:
        inside &= np.asarray(frame["ts"] >= as_of - pd.Timedelta(days=window_days))
    rows = frame.loc[inside]
    value = rows["value"].to_numpy(dtype=float)
    counted = ~np.isnan(value)
    rate = _lookup(rows["category"], spec.category_margin_rates)
    rate = np.where(np.isnan(rate), spec.default_margin_rate, rate)
    own = rows["margin"].to_numpy(dtype=float)
    sign = np.where(value < 0, -1.0, 1.0)
    margin = np.where(np.isnan(own), value * rate, sign * own)
    cost = np.nan_to_num(_lookup(rows["type"], spec.unit_costs))
    codes = rows["code"].to_numpy()
    out = pd.DataFrame(index=pd.RangeIndex(n_customers, name="code"))
    out["revenue"] = np.bincount(codes[counted], value[counted], minlength=n_customers)
    out["margin"] = np.bincount(codes[counted], margin[counted], minlength=n_customers)
    out["cost_to_serve"] = np.bincount(codes, cost, minlength=n_customers)
    out["profit"] = out["margin"] - out["cost_to_serve"]
    return out
