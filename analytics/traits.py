"""Profile traits declared as data: name, interaction kinds, aggregation, window, condition.

A `TraitSpec` says what a trait is (as Segment's computed traits or Dynamics' measures
do); `compute_traits` evaluates a tuple of them over the prepared interaction frame
(`analytics.frame`) for every customer at once, with pandas group-bys on integer codes.
Windows end at the cut-off (`as_of`, exclusive) minus `offset_days`, so "complaints in the
90 days before the last 90" is `window_days=90, offset_days=90`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_TRAITS", "Aggregation", "Condition", "TraitSpec", "compute_traits"]

Aggregation = Literal[
    "count", "sum", "mean", "max", "nunique", "first", "last", "days_since_first",
    "days_since_last", "last_value", "values", "mix",
]  # fmt: skip

CONTACT = ("ticket", "complaint", "call", "visit", "note")
OPEN = ("open", "new", "pending", "in_progress", "waiting")


@dataclass(frozen=True, kw_only=True)
class Condition:
    """A test on one column of the prepared frame: `in` / `not_in` a set of values, `true`,
    `notna`, or `gt` / `lt` a number."""

    field: str
    op: Literal["in", "not_in", "true", "notna", "gt", "lt"]
    values: tuple[str, ...] = ()
    number: float = 0.0

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        col = frame[self.field]
        if self.op == "in":
            return np.asarray(col.isin(self.values))
        if self.op == "not_in":
            return np.asarray(~col.isin(self.values))
        if self.op == "true":
            return np.asarray(col.fillna(False).astype(bool))
        if self.op == "notna":
            return np.asarray(col.notna())
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            hit = values > self.number if self.op == "gt" else values < self.number
        return np.asarray(hit, dtype=bool)


@dataclass(frozen=True, kw_only=True)
class TraitSpec:
    """One profile trait: `aggregation` of `field` over the interactions of `kinds` (all
    kinds when empty) that meet `condition`, inside the window."""

    name: str
    aggregation: Aggregation
    kinds: tuple[str, ...] = ()
    field: str = "value"
    window_days: int | None = None
    offset_days: int = 0
    condition: Condition | None = None
    description: str = ""


PURCHASE = Condition(field="purchase", op="true")
COMPLAINT = Condition(field="complaint", op="true")


def _window(name: str, days: int, offset: int, kind: str, desc: str) -> TraitSpec:
    if kind == "complaints":
        return TraitSpec(
            name=name, aggregation="count", window_days=days, offset_days=offset,
            condition=COMPLAINT, description=desc,
        )  # fmt: skip
    return TraitSpec(
        name=name, aggregation="sum", field="value", window_days=days, offset_days=offset,
        condition=Condition(field="value", op="notna"), description=desc,
    )  # fmt: skip


DEFAULT_TRAITS: tuple[TraitSpec, ...] = (
    TraitSpec(name="first_purchase", aggregation="first", condition=PURCHASE,
              description="date of the first purchase"),
    TraitSpec(name="last_purchase", aggregation="last", condition=PURCHASE,
              description="date of the last purchase"),
    TraitSpec(name="recency_days", aggregation="days_since_last", condition=PURCHASE,
              description="days since the last purchase"),
    TraitSpec(name="frequency", aggregation="count", condition=PURCHASE,
              description="purchases (cancelled orders left out)"),
    TraitSpec(name="monetary", aggregation="sum", condition=Condition(field="value", op="notna"),
              description="purchases net of refunds and cancellations"),
    TraitSpec(name="average_order", aggregation="mean", condition=PURCHASE,
              description="average purchase value"),
    TraitSpec(name="tenure_days", aggregation="days_since_first",
              description="days since the first interaction of any kind"),
    TraitSpec(name="channel_mix", aggregation="mix", field="channel", condition=PURCHASE,
              description="share of purchases by channel"),
    TraitSpec(name="categories_bought", aggregation="values", field="category",
              condition=PURCHASE, description="categories bought"),
    TraitSpec(name="categories", aggregation="nunique", field="category", condition=PURCHASE,
              description="number of categories bought"),
    TraitSpec(name="open_tickets", aggregation="count", kinds=("ticket", "complaint"),
              condition=Condition(field="status", op="in", values=OPEN),
              description="tickets still open"),
    _window("complaints_90d", 90, 0, "complaints", "complaints in the last 90 days"),
    _window("complaints_prev_90d", 90, 90, "complaints", "complaints in the 90 days before"),
    _window("complaints_365d", 365, 0, "complaints", "complaints in the last 365 days"),
    _window("complaints_prev_365d", 365, 365, "complaints", "complaints in the year before"),
    _window("revenue_90d", 90, 0, "value", "net purchases in the last 90 days"),
    _window("revenue_prev_90d", 90, 90, "value", "net purchases in the 90 days before"),
    _window("revenue_365d", 365, 0, "value", "net purchases in the last 365 days"),
    _window("revenue_prev_365d", 365, 365, "value", "net purchases in the year before"),
    TraitSpec(name="purchases_365d", aggregation="count", window_days=365, condition=PURCHASE,
              description="purchases in the last 365 days"),
    TraitSpec(name="purchases_prev_365d", aggregation="count", window_days=365,
              offset_days=365, condition=PURCHASE, description="purchases in the year before"),
    TraitSpec(name="purchases_90d", aggregation="count", window_days=90, condition=PURCHASE,
              description="purchases in the last 90 days"),
    TraitSpec(name="purchases_prev_90d", aggregation="count", window_days=90, offset_days=90,
              condition=PURCHASE, description="purchases in the 90 days before"),
    TraitSpec(name="days_since_complaint", aggregation="days_since_last", condition=COMPLAINT,
              description="days since the last complaint"),
    TraitSpec(name="payment_delays_prev_365d", aggregation="count", kinds=("payment", "invoice"),
              window_days=365, offset_days=365,
              condition=Condition(field="days_late", op="gt", number=0.0),
              description="late payments in the year before"),
    TraitSpec(name="payment_delays_365d", aggregation="count", kinds=("payment", "invoice"),
              window_days=365, condition=Condition(field="days_late", op="gt", number=0.0),
              description="late payments in the last 365 days"),
    TraitSpec(name="last_contact", aggregation="last", kinds=CONTACT,
              description="date of the last ticket, complaint, call, visit or note"),
    TraitSpec(name="last_contact_topic", aggregation="last_value", kinds=CONTACT,
              field="subject", description="subject of the last contact"),
    TraitSpec(name="contracts", aggregation="count", kinds=("contract",),
              description="contracts held"),
    TraitSpec(name="equipment", aggregation="values", kinds=("equipment",), field="subject",
              description="equipment held"),
    TraitSpec(name="next_renewal", aggregation="first", kinds=("contract",), field="renewal_at",
              condition=Condition(field="renewal_at", op="notna"),
              description="earliest renewal date of a contract held"),
)  # fmt: skip


def _selected(frame: pd.DataFrame, spec: TraitSpec) -> np.ndarray:
    """The rows of the spec's kinds that meet its condition, whatever the window."""
    mask = np.ones(len(frame), dtype=bool)
    if spec.kinds:
        mask &= np.asarray(frame["type"].isin(spec.kinds))
    if spec.condition is not None and spec.condition.field in frame:
        mask &= spec.condition.mask(frame)
    elif spec.condition is not None:
        mask[:] = False
    if spec.field not in frame:
        mask[:] = False
    return mask


def _in_window(ts: np.ndarray, spec: TraitSpec, as_of: pd.Timestamp) -> np.ndarray:
    """The rows (nanoseconds `ts`) inside the spec's window before `as_of`."""
    end = as_of - pd.Timedelta(days=spec.offset_days)
    inside = ts < end.value
    if spec.window_days is not None:
        inside &= ts >= (end - pd.Timedelta(days=spec.window_days)).value
    return np.asarray(inside & (ts != NAT))


NAT = np.iinfo(np.int64).min  # NaT as nanoseconds


def _fast(
    frame: pd.DataFrame, codes: np.ndarray, mask: np.ndarray, spec: TraitSpec, n: int
) -> pd.Series | None:
    """Counts, sums, means, first and last dates with NumPy on the customer codes (no
    group-by, no copy of the rows); None for the other aggregations."""
    agg, index = spec.aggregation, pd.RangeIndex(n, name="code")
    where = codes[mask]
    if agg == "count":
        return pd.Series(np.bincount(where, minlength=n).astype(float), index=index)
    if agg in ("sum", "mean"):
        col = frame[spec.field]
        if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            return None
        values = col.to_numpy(dtype=float, na_value=np.nan)[mask]
        present = ~np.isnan(values)
        total = np.bincount(where[present], values[present], minlength=n)
        if agg == "sum":
            return pd.Series(total, index=index)
        k = np.bincount(where[present], minlength=n)
        return pd.Series(np.where(k > 0, total / np.maximum(k, 1), np.nan), index=index)
    if agg not in ("first", "last", "days_since_first", "days_since_last"):
        return None
    col = frame[spec.field if spec.field != "value" else "ts"]
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        return None
    stamps = col.dt.as_unit("ns").array.asi8[mask]
    known = stamps != NAT
    if agg in ("first", "days_since_first"):
        found = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(found, where[known], stamps[known])
        found[found == np.iinfo(np.int64).max] = NAT
    else:
        found = np.full(n, NAT)
        np.maximum.at(found, where[known], stamps[known])
    dates = pd.DatetimeIndex(found.view("M8[ns]")).tz_localize("UTC").tz_convert(col.dt.tz)
    return pd.Series(dates, index=index)


def _days(as_of: pd.Timestamp, ts: pd.Series) -> pd.Series:
    return (as_of - ts).dt.total_seconds() / 86_400.0


def _aggregate(rows: pd.DataFrame, spec: TraitSpec, as_of: pd.Timestamp) -> pd.Series:
    grouped = rows.groupby("code", sort=False)
    agg, field = spec.aggregation, spec.field
    if agg == "count":
        return grouped.size()
    if agg in ("sum", "mean", "max"):
        return getattr(grouped[field], agg)()
    if agg == "nunique":
        return grouped[field].nunique()
    if agg in ("first", "last", "days_since_first", "days_since_last"):
        column = field if field != "value" else "ts"
        first = agg in ("first", "days_since_first")
        ts = grouped[column].min() if first else grouped[column].max()
        return _days(as_of, ts) if agg.startswith("days") else ts
    if agg == "last_value":
        ordered = rows.sort_values(["code", "ts"], kind="stable")
        return ordered.dropna(subset=[field]).groupby("code", sort=False)[field].last()
    counts = rows.groupby(["code", field], sort=True, observed=True).size()
    if agg == "values":
        flat = counts.reset_index()
        return _joined(flat["code"].to_numpy(), flat[field].astype(str).to_numpy(), ";")
    shares = (counts / counts.groupby(level=0).transform("sum")).reset_index(name="share")
    shares = shares.sort_values(["code", "share", field], ascending=[True, False, True])
    percent = (100 * shares["share"]).round().astype(int).astype(str)
    text = (shares[field].astype(str) + " " + percent + " %").to_numpy()
    return _joined(shares["code"].to_numpy(), text, "; ")


def _joined(codes: np.ndarray, texts: np.ndarray, sep: str) -> pd.Series:
    """Texts joined with `sep` per code (`codes` sorted), without a Python call per group."""
    if not len(codes):
        return pd.Series(dtype=object)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    joined = np.add.reduceat((texts.astype(object) + sep).astype(object), starts)
    return pd.Series([t[: -len(sep)] for t in joined], index=codes[starts], dtype=object)


ZERO_WHEN_EMPTY = ("count", "sum", "nunique")


def _spread(series: pd.Series, n_customers: int) -> pd.Series:
    """A per-code result laid out on codes 0..n_customers-1 (missing where absent)."""
    if series.dtype.kind in "fiu":
        values = np.full(n_customers, np.nan)
        values[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(dtype=float)
        return pd.Series(values, index=pd.RangeIndex(n_customers, name="code"))
    if isinstance(series.dtype, pd.CategoricalDtype):  # texts per customer: plain objects
        series = series.astype(object)
    return series.reindex(pd.RangeIndex(n_customers, name="code"))


def compute_traits(
    frame: pd.DataFrame, n_customers: int, traits: tuple[TraitSpec, ...], as_of: pd.Timestamp
) -> pd.DataFrame:
    """One row per customer code (0..n_customers-1), one column per trait. Counts and sums
    are 0 where nothing qualifies; dates, means and texts are missing."""
    out = pd.DataFrame(index=pd.RangeIndex(n_customers, name="code"))
    codes = frame["code"].to_numpy()
    ts = frame["ts"].dt.as_unit("ns").array.asi8
    selected: dict[tuple[object, ...], np.ndarray] = {}  # shared by traits of one selection
    for spec in traits:
        key = (spec.kinds, spec.condition, spec.field)
        if key not in selected:
            selected[key] = _selected(frame, spec)
        mask = selected[key] & _in_window(ts, spec, as_of)
        series = _fast(frame, codes, mask, spec, n_customers)
        if series is None:
            columns = ["code", "ts"] + ([spec.field] if spec.field not in ("code", "ts") else [])
            series = _spread(_aggregate(frame.loc[mask, columns], spec, as_of), n_customers)
        elif spec.aggregation.startswith("days_since"):
            series = _days(as_of, series)
        if spec.aggregation in ZERO_WHEN_EMPTY:
            series = series.fillna(0).astype(float)  # one dtype however many are empty
        out[spec.name] = series
    return out
