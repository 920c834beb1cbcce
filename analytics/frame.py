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
    """Usable interactions before the cut-off, sorted by customer and time (column `code`
    indexes `customer_ids`; the id texts are not repeated per row), the
    customers (sorted ids; those from a customer list may have no interactions) and the
    count of rows left out by reason."""

    frame: pd.DataFrame
    customer_ids: np.ndarray
    as_of: pd.Timestamp
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)


def _string_dtype() -> pd.StringDtype:
    """Arrow-backed strings when pyarrow is there (vectorised strip/lower/isin), else
    pandas' own."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover
        return pd.StringDtype()
    return pd.StringDtype("pyarrow")


def _text(col: pd.Series) -> pd.Series:
    """Stripped text (missing stays missing)."""
    dtype = _string_dtype()
    if col.dtype != dtype:
        col = col.astype(object).where(col.notna(), None).astype(dtype)
    return col.str.strip()


def _numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats, and where a value was given but is not a number."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        numbers = col.to_numpy(dtype=float, na_value=np.nan)
        return numbers, np.zeros(len(col), dtype=bool)
    given = col.notna() & (col.astype(str).str.strip() != "")
    numbers = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return numbers, np.asarray(given) & np.isnan(numbers)


def _dates(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(col):
        return col.dt.tz_localize("UTC")
    if col.dtype == _string_dtype() and _string_dtype().storage == "pyarrow":
        fast = _arrow_dates(col)
        if fast is not None:
            return fast
    return pd.to_datetime(col, utc=True, errors="coerce", format="ISO8601")


def _arrow_dates(col: pd.Series) -> pd.Series | None:
    """ISO 8601 texts with a zone (or none: UTC) parsed by Arrow, or None when any one is
    not of that form (pandas then parses them one by one and marks the unreadable)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(col.array)
    try:
        zoned = pc.cast(array, pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:
            zoned = pc.cast(pc.cast(array, pa.timestamp("ns")), pa.timestamp("ns", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return pd.Series(zoned.to_pandas(), index=col.index).dt.tz_convert("UTC")


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

    ids = _text(get["customer_id"])
    reject(np.asarray(ids.isna() | (ids == "")), "missing customer_id")
    ts = _dates(get["occurred_at"])
    reject(np.asarray(ts.isna()), "missing or unreadable date")
    reject(np.asarray(ts < pd.Timestamp(earliest, tz="UTC")), f"date before {earliest}")
    reject(np.asarray(ts > now), "date in the future")
    kind = _text(get["type"]).str.lower()
    reject(np.asarray(~kind.isin(KNOWN_TYPES)), "unknown interaction type")
    amount, bad_amount = _numbers(get["amount"])
    reject(bad_amount, "unreadable amount")
    is_refund = np.asarray(kind == "refund")
    amount = np.where(is_refund, np.abs(amount), amount)
    reject(amount < 0, "negative amount")
    currency = _text(get["currency"]).str.upper()
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
    # customer codes first, so that the frame is built once, already in (customer, time)
    # order: at ten million rows every extra copy of the frame is gigabytes
    kept = np.flatnonzero(keep)
    codes, uniques = pd.factorize(ids.iloc[kept])
    known = np.union1d(np.asarray(uniques, dtype=str), np.asarray(customers, dtype=str))
    code = np.searchsorted(known, np.asarray(uniques, dtype=str))[codes].astype(np.int64)
    ts_kept = ts.iloc[kept]
    order = np.lexsort((ts_kept.array.asi8, code))
    rows = kept[order]
    del codes, uniques, ts_kept

    def take(col: pd.Series) -> pd.Series:
        return col.iloc[rows].reset_index(drop=True)

    frame = pd.DataFrame(
        {
            "code": code[order],
            "type": pd.Categorical(kind.to_numpy()[rows], categories=sorted(KNOWN_TYPES)),
            "ts": take(ts),
            "amount": amount[rows],
            "margin": (margin * rate)[rows],
            "days_late": days_late[rows],
        }
    )
    for name in TEXT:
        frame[name] = take(_text(get[name]))
    status = frame["status"].str.lower()
    cancelled_now = np.asarray(status.isin(cancelled).fillna(False), dtype=bool)
    purchase = np.asarray(frame["type"].isin(purchase_types), dtype=bool) & ~cancelled_now
    frame["purchase"] = purchase
    is_refund_kept = np.asarray(frame["type"] == "refund", dtype=bool)
    value = np.where(purchase, frame["amount"], np.where(is_refund_kept, -frame["amount"], np.nan))
    frame["value"] = np.where(purchase & np.isnan(value), 0.0, value)
    flagged = np.asarray(
        _text(get["complaint"]).str.lower().isin(("true", "1", "yes")).fillna(False), dtype=bool
    )
    subject = frame["subject"].str.lower().fillna("")
    is_ticket = np.asarray(frame["type"] == "ticket", dtype=bool)
    frame["complaint"] = np.asarray(frame["type"] == "complaint", dtype=bool) | (
        is_ticket & (flagged[rows] | np.asarray(subject.str.startswith("complaint"), dtype=bool))
    )
    frame["renewal_at"] = take(_dates(get["renewal_at"]))
    return Prepared(frame=frame, customer_ids=known, as_of=as_of, rejected=rejected)
