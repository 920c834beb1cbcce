"""The prepared interaction frame: validated, in one currency, in UTC, coded by customer.

`prepare` takes the columns of canonical `Interaction` records plus `customer_id` (and the
optional extra keys `category`, `product`, `margin`, `days_late`, `complaint`,
`renewal_at`) and returns the frame every other stage reads. Unusable rows — no customer,
no or absurd date, unknown type, unreadable, negative or absurd amount, unknown currency —
are counted by reason and left out; they never stop the run. Rows on or after the cut-off
are left out too (counted as `after_as_of`): nothing from the future leaks in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schemas.interaction import InteractionType

__all__ = ["COLUMNS", "Prepared", "prepare"]

COLUMNS = (
    "customer_id", "type", "occurred_at", "amount", "currency", "status", "channel",
    "subject", "category", "product", "margin", "days_late", "complaint", "renewal_at",
)  # fmt: skip
TEXT = ("status", "channel", "subject", "category", "product")
KNOWN_TYPES = frozenset(t.value for t in InteractionType)


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """Usable interactions before the cut-off (column `code` indexes `customer_ids`), the
    customers (sorted ids; those from a customer list may have no interactions) and the
    count of rows left out by reason."""

    frame: pd.DataFrame
    customer_ids: np.ndarray
    as_of: pd.Timestamp
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)


def _numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats, and where a value was given but is not a number."""
    given = col.notna() & (col.astype(str).str.strip() != "")
    numbers = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return numbers, np.asarray(given) & np.isnan(numbers)


def _dates(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.dt.tz_localize("UTC")
    return pd.to_datetime(col, utc=True, errors="coerce", format="ISO8601")


def prepare(
    raw: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    purchase_types: Sequence[str] = ("order",),
    cancelled: Sequence[str] = ("cancelled", "canceled"),
    rates: dict[str, float] | None = None,
    max_amount: float = 1e6,
    earliest: str = "1990-01-01",
    customers: Sequence[str] = (),
    now: pd.Timestamp | None = None,
) -> Prepared:
    """Validate and normalise `raw` (see the module docstring); `as_of` is the cut-off."""
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    rates = rates or {"EUR": 1.0}
    n = len(raw)
    get = {c: (raw[c] if c in raw else pd.Series([None] * n, index=raw.index)) for c in COLUMNS}
    reason = np.full(n, "", dtype=object)

    def reject(mask: np.ndarray, why: str) -> None:
        reason[(reason == "") & mask] = why

    ids = get["customer_id"].astype("string").str.strip()
    reject(np.asarray(ids.isna() | (ids == "")), "missing customer_id")
    ts = _dates(get["occurred_at"])
    reject(np.asarray(ts.isna()), "missing or unreadable date")
    reject(np.asarray(ts < pd.Timestamp(earliest, tz="UTC")), f"date before {earliest}")
    reject(np.asarray(ts > now), "date in the future")
    kind = get["type"].astype("string").str.strip().str.lower()
    reject(np.asarray(~kind.isin(KNOWN_TYPES)), "unknown interaction type")
    amount, bad_amount = _numbers(get["amount"])
    reject(bad_amount, "unreadable amount")
    is_refund = np.asarray(kind == "refund")
    amount = np.where(is_refund, np.abs(amount), amount)
    reject(amount < 0, "negative amount")
    currency = get["currency"].astype("string").str.strip().str.upper()
    rate = currency.map(rates).astype(float).to_numpy()
    has_currency = np.asarray(currency.notna() & (currency != ""))
    reject(has_currency & np.isnan(rate), "unknown currency")
    rate = np.where(has_currency, rate, 1.0)
    amount = amount * rate
    reject(amount > max_amount, "absurd amount")
    margin, _ = _numbers(get["margin"])
    days_late, _ = _numbers(get["days_late"])

    ok = reason == ""
    rejected = pd.Series(reason[~ok]).value_counts().to_dict()
    future = ok & np.asarray(ts >= as_of)
    if future.any():
        rejected["after_as_of"] = int(future.sum())
    keep = ok & ~future
    frame = pd.DataFrame(
        {
            "customer_id": ids.to_numpy()[keep],
            "type": kind.to_numpy()[keep].astype(str),
            "ts": ts[keep].reset_index(drop=True),
            "amount": amount[keep],
            "margin": (margin * rate)[keep],
            "days_late": days_late[keep],
        }
    )
    for name in TEXT:
        frame[name] = get[name].astype("string").str.strip().to_numpy()[keep]
    status = frame["status"].str.lower()
    purchase = frame["type"].isin(purchase_types) & ~status.isin(cancelled).fillna(False)
    frame["purchase"] = purchase.to_numpy(dtype=bool)
    frame["value"] = np.where(
        frame["purchase"],
        frame["amount"],
        np.where(frame["type"] == "refund", -frame["amount"], np.nan),
    )
    frame.loc[frame["purchase"] & frame["value"].isna(), "value"] = 0.0
    flagged = get["complaint"].astype("string").str.lower().isin(("true", "1", "yes"))
    subject = frame["subject"].str.lower().fillna("")
    frame["complaint"] = (frame["type"] == "complaint") | (
        (frame["type"] == "ticket")
        & (np.asarray(flagged)[keep] | subject.str.startswith("complaint").to_numpy())
    )
    frame["renewal_at"] = _dates(get["renewal_at"])[keep].reset_index(drop=True)
    known = np.union1d(frame["customer_id"].unique().astype(str), np.asarray(customers, dtype=str))
    frame["code"] = np.searchsorted(known, frame["customer_id"].to_numpy(dtype=str)).astype(
        np.int64
    )
    order = np.lexsort((frame["ts"].array.asi8, frame["code"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    return Prepared(frame=frame, customer_ids=known, as_of=as_of, rejected=rejected)
