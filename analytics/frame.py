"""The prepared interaction frame: validated, in one currency, in UTC, coded by customer.

`prepare` takes the columns of canonical `Interaction` records plus `customer_id` (and the
optional extra keys `category`, `product`, `margin`, `days_late`, `complaint`,
`renewal_at`) and returns the frame every other stage reads. Unusable rows — no customer,
no or absurd date, unknown type, unreadable, negative or absurd amount, unknown currency —
are counted by reason and left out; they never stop the run. Rows on or after the cut-off
are left out too (counted as `after_as_of`): nothing from the future leaks in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
TYPES = tuple(sorted(KNOWN_TYPES))
NUMBERS = ("amount", "margin", "days_late")


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


def _text(col: pd.Series, case: str = "") -> pd.Series:
    """Stripped text (missing stays missing), lower- or upper-cased when `case` says so, as
    a categorical: a column of ten million rows holds a few distinct values, so the string
    work is done once per distinct value and the rows keep small integer codes."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        values = pd.Series(col.cat.categories)
    else:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)  # by Arrow when Arrow-backed
        values = pd.Series(uniques.astype(object), dtype=object)
    values = values.astype(object).map(str).astype(_string_dtype()).str.strip()
    if case == "lower":
        values = values.str.lower()
    elif case == "upper":
        values = values.str.upper()
    merged, names = pd.factorize(values, sort=True)  # " a" and "a" are one value once stripped
    codes = np.where(codes >= 0, merged[codes] if len(merged) else -1, -1)
    categories = pd.Index(np.asarray(names, dtype=object), dtype=object)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=categories), index=col.index, copy=False
    )


def _mapped(col: pd.Series, mapping: Mapping[str, float]) -> np.ndarray:
    """A categorical's values looked up in `mapping` (NaN where missing or unknown)."""
    per_value = np.array([mapping.get(c, np.nan) for c in col.cat.categories], dtype=float)
    codes = col.cat.codes.to_numpy()
    return np.where(codes >= 0, np.append(per_value, np.nan)[codes], np.nan)


def _in(col: pd.Series, values: Collection[str]) -> np.ndarray:
    """Where a categorical's value is one of `values` (False where missing)."""
    hit = np.append(np.asarray([c in values for c in col.cat.categories], dtype=bool), False)
    return np.asarray(hit[col.cat.codes.to_numpy()], dtype=bool)


def _numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats, and where a value was given but is not a number."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        numbers = col.to_numpy(dtype=float, na_value=np.nan)
        return numbers, np.zeros(len(col), dtype=bool)
    given = col.notna() & (col.astype(str).str.strip() != "")
    numbers = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    return numbers, np.asarray(given) & np.isnan(numbers)


def _dates(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):  # each distinct text parsed once
        values = _dates(pd.Series(col.cat.categories, dtype=object))
        codes = col.cat.codes.to_numpy()
        parsed = pd.Series(pd.DatetimeIndex(values).append(pd.DatetimeIndex([pd.NaT], tz="UTC")))
        return pd.Series(parsed.array.take(codes), index=col.index)
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

    def get(name: str) -> pd.Series:
        if name in raw:
            return raw[name]
        if name in NUMBERS:
            return pd.Series(np.full(n, np.nan), index=raw.index)
        none = pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=[])
        return pd.Series(none, index=raw.index)

    reasons: list[str] = []
    reason = np.zeros(n, dtype=np.int8)  # 0: usable, k: reasons[k - 1]

    def reject(mask: np.ndarray, why: str) -> None:
        reasons.append(why)
        reason[(reason == 0) & mask] = len(reasons)

    ids = _text(get("customer_id"))
    id_codes = ids.cat.codes.to_numpy()
    empty_id = _in(ids, ("",))
    reject((id_codes < 0) | empty_id, "missing customer_id")
    ts = _dates(get("occurred_at"))
    reject(np.asarray(ts.isna()), "missing or unreadable date")
    reject(np.asarray(ts < pd.Timestamp(earliest, tz="UTC")), f"date before {earliest}")
    reject(np.asarray(ts > now), "date in the future")
    kind = _text(get("type"), "lower")
    reject(~_in(kind, KNOWN_TYPES), "unknown interaction type")
    amount, bad_amount = _numbers(get("amount"))
    reject(bad_amount, "unreadable amount")
    is_refund = _in(kind, ("refund",))
    amount = np.where(is_refund, np.abs(amount), amount)
    reject(amount < 0, "negative amount")
    currency = _text(get("currency"), "upper")
    rate = _mapped(currency, rates)
    has_currency = (currency.cat.codes.to_numpy() >= 0) & ~_in(currency, ("",))
    reject(has_currency & np.isnan(rate), "unknown currency")
    rate = np.where(has_currency, rate, 1.0)
    amount = amount * rate
    reject(amount > max_amount, "absurd amount")
    margin, _ = _numbers(get("margin"))
    days_late, _ = _numbers(get("days_late"))

    ok = reason == 0
    counted = np.bincount(reason, minlength=len(reasons) + 1)[1:]
    rejected = {why: int(k) for why, k in zip(reasons, counted, strict=True) if k}
    future = ok & np.asarray(ts >= as_of)
    if future.any():
        rejected["after_as_of"] = int(future.sum())
    keep = ok & ~future
    del ok, future
    # customer codes first, so that the frame is built once, already in (customer, time)
    # order: at ten million rows every extra copy of the frame is gigabytes
    kept = np.flatnonzero(keep)
    names = np.asarray(ids.cat.categories, dtype=str)
    used = np.unique(id_codes[kept])
    known = np.union1d(names[used], np.asarray(customers, dtype=str))
    code_of = np.full(len(names), -1, dtype=np.int64)
    code_of[used] = np.searchsorted(known, names[used])
    code = code_of[id_codes[kept]]
    del ids, id_codes
    order = np.lexsort((ts.array.asi8[kept], code))
    rows = kept[order]
    del kept

    # every kept row's type is a known one: its code among the sorted known types
    type_code = np.searchsorted(TYPES, np.asarray(kind.cat.categories, dtype=str))
    type_code = np.minimum(type_code, len(TYPES) - 1).astype(np.int8)

    def take(col: pd.Series) -> pd.Series:
        return col.iloc[rows].reset_index(drop=True)

    frame = pd.DataFrame(
        {
            "code": code[order],
            "type": pd.Categorical.from_codes(
                type_code[kind.cat.codes.to_numpy()[rows]], categories=TYPES
            ),
            "ts": take(ts),
            "amount": amount[rows],
            "margin": (margin * rate)[rows],
            "days_late": days_late[rows],
        }
    )
    del code, order, ts, amount, margin, rate, days_late
    for name in TEXT:
        frame[name] = take(_text(get(name)))
    cancelled_now = _in(_text(frame["status"], "lower"), tuple(cancelled))
    purchase = np.asarray(frame["type"].isin(purchase_types), dtype=bool) & ~cancelled_now
    frame["purchase"] = purchase
    is_refund_kept = np.asarray(frame["type"] == "refund", dtype=bool)
    value = np.where(purchase, frame["amount"], np.where(is_refund_kept, -frame["amount"], np.nan))
    frame["value"] = np.where(purchase & np.isnan(value), 0.0, value)
    flagged = _in(take(_text(get("complaint"), "lower")), ("true", "1", "yes"))
    subject = _text(frame["subject"], "lower")
    said = np.asarray([s.startswith("complaint") for s in subject.cat.categories], dtype=bool)
    is_ticket = np.asarray(frame["type"] == "ticket", dtype=bool)
    frame["complaint"] = np.asarray(frame["type"] == "complaint", dtype=bool) | (
        is_ticket & (flagged | np.append(said, False)[subject.cat.codes.to_numpy()])
    )
    frame["renewal_at"] = take(_dates(get("renewal_at")))
    return Prepared(frame=frame, customer_ids=known, as_of=as_of, rejected=rejected)
