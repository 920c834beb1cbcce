"""The Spark backend: the analytics engine's row-level stages on Apache Spark.

The interactions stay in Spark. `prepare` validates them there with the local
`analytics.frame.prepare`, run by `mapInPandas` on chunks of each input partition (the same
reasons, the same counts: a chunk's counts come back as side rows and are summed); the
usable rows get their global customer code from one join with the sorted customer ids and
are kept `repartition`ed by that code, so every customer's rows sit in one partition. Each
per-customer stage then runs the local function (`compute_traits`, `summarise`,
`customer_value`, `repeat_ages`, `holdings`, the local backend's mix) on one partition's
customers at a time, re-coded 0..k-1 in customer order, and the driver lays the per-
customer results back on the global codes. Only per-customer frames reach the driver; the
models are fitted there by `analytics.analyse`, which runs unchanged.

A partition's rows are put back in the order the local backend has them: by customer, then
time, then input order (the input's `monotonically_increasing_id`), so that sums, "last
value" traits and tie-breaks come out the same. Results cross from the Python workers to
the driver pickled, one object per partition: per-customer frames keep their exact pandas
dtypes (time-zoned dates, texts with missing values) without a Spark schema per trait.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from scipy import sparse

from analytics.backends.local import LocalBackend
from analytics.btyd import summarise
from analytics.frame import COLUMNS, NUMBERS, TEXT, TYPES, Prepared, prepare
from analytics.model import AnalysisSpec, Value
from analytics.offers import holdings
from analytics.regime import repeat_ages
from analytics.traits import TraitSpec, compute_traits
from analytics.value import customer_value

__all__ = ["ROWS_PER_PARTITION", "SparkBackend", "SparkPrepared", "read_interactions"]

ROWS_PER_PARTITION = 500_000  # usable interactions per partition of the prepared rows
CHUNK = 200_000  # input rows per `prepare` call
NAT = np.iinfo(np.int64).min  # NaT as nanoseconds (what `asi8` gives)
DATES = ("occurred_at", "renewal_at")  # input columns that may arrive as Spark timestamps
_ROW, _BATCH, _POS, _REASON, _COUNT = "_row", "_batch", "_pos", "_reason", "_count"

# The prepared rows as Spark holds them: times as UTC nanoseconds (Spark's timestamps stop
# at microseconds), texts as strings, and where each row stood in the input.
PREPARED = T.StructType(
    [
        T.StructField("customer_id", T.StringType()),
        T.StructField("type", T.StringType()),
        T.StructField("ts", T.LongType()),
        *(T.StructField(name, T.DoubleType()) for name in NUMBERS),
        *(T.StructField(name, T.StringType()) for name in TEXT),
        T.StructField("purchase", T.BooleanType()),
        T.StructField("value", T.DoubleType()),
        T.StructField("complaint", T.BooleanType()),
        T.StructField("renewal_at", T.LongType()),
        T.StructField(_BATCH, T.LongType()),
        T.StructField(_POS, T.LongType()),
        T.StructField(_REASON, T.StringType()),
        T.StructField(_COUNT, T.LongType()),
    ]
)
FIELDS = ("code", "type", "ts", *NUMBERS, *TEXT, "purchase", "value", "complaint", "renewal_at")
ORDER = (_BATCH, _POS)

R = TypeVar("R")


@dataclass(frozen=True, kw_only=True)
class SparkPrepared(Prepared):
    """Prepared interactions that stay in Spark: `rows` (a persisted DataFrame partitioned
    by the global customer `code`); `frame` is empty (the local frame's columns and
    dtypes, no rows). `SparkBackend.release` lets the rows go."""

    rows: DataFrame
    partitions: int


def read_interactions(spark: SparkSession, path: Path | str) -> DataFrame:
    """The batch contract's interactions as a Spark DataFrame: Parquet (a file or a
    folder; Spark reads timestamps of up to microseconds: write them so, as pandas'
    `to_parquet(..., coerce_timestamps="us")` does), else Interaction JSON Lines (.jsonl,
    .jsonl.gz) read with every field as text, as given (the backend validates them as the
    local engine does)."""
    text = str(path)
    if text.endswith(".parquet") or Path(text).is_dir():
        return spark.read.parquet(text)
    schema = T.StructType([T.StructField(name, T.StringType()) for name in COLUMNS])
    return spark.read.schema(schema).json(text)


def _spark_input(spark: SparkSession, raw: pd.DataFrame | DataFrame) -> DataFrame:
    """`raw` with the contract's columns only: numbers as doubles, dates as UTC
    nanoseconds, everything else as text (missing stays missing), plus the input order."""
    if isinstance(raw, pd.DataFrame):
        columns: dict[str, pd.Series] = {}
        for name in (c for c in COLUMNS if c in raw):
            col = raw[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype(object)
            if pd.api.types.is_datetime64_any_dtype(col.dtype):
                utc = col.dt.tz_convert("UTC") if col.dt.tz else col.dt.tz_localize("UTC")
                columns[name] = pd.Series(utc.dt.as_unit("ns").array.asi8, index=col.index)
            elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(
                col.dtype
            ):
                columns[name] = col.astype(float)
            else:
                columns[name] = pd.Series(
                    [None if _missing(v) else str(v) for v in col], index=col.index, dtype=object
                )
        frame = pd.DataFrame(columns, index=raw.index).reset_index(drop=True)
        fields = []
        for name, col in frame.items():
            if name in DATES and col.dtype == np.int64:
                kind: T.DataType = T.LongType()
            elif col.dtype == float:
                kind = T.DoubleType()
            else:
                kind = T.StringType()
            fields.append(T.StructField(str(name), kind))
        df = spark.createDataFrame(frame, T.StructType(fields))  # slices keep the order
    else:
        df = raw
        for name in [c for c in df.columns if c in COLUMNS]:
            kind = df.schema[name].dataType
            if isinstance(kind, T.TimestampType | T.TimestampNTZType | T.DateType):
                micros = F.unix_micros(F.col(name).cast(T.TimestampType()))
                df = df.withColumn(name, (micros * F.lit(1000)).cast(T.LongType()))
            elif isinstance(kind, T.NumericType):
                df = df.withColumn(name, F.col(name).cast(T.DoubleType()))
            else:
                df = df.withColumn(name, F.col(name).cast(T.StringType()))
        df = df.select(*[c for c in df.columns if c in COLUMNS])
    return df.withColumn(_ROW, F.monotonically_increasing_id())


def _to_pandas(frame: DataFrame) -> pd.DataFrame:
    """`frame` on the driver as pandas (through Arrow)."""
    return cast(pd.DataFrame, frame.toPandas())


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _prepare_chunks(
    batches: Iterator[pd.DataFrame], as_of: pd.Timestamp, now: pd.Timestamp, options: dict[str, Any]
) -> Iterator[pd.DataFrame]:
    """`prepare` on chunks of one input partition: the usable rows (with their customer
    id and where they stood) and, as side rows, the count left out per reason."""
    pending: list[pd.DataFrame] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += len(batch)
        if size >= CHUNK:
            yield from _prepare_chunk(pd.concat(pending, ignore_index=True), as_of, now, options)
            pending, size = [], 0
    if pending:
        yield from _prepare_chunk(pd.concat(pending, ignore_index=True), as_of, now, options)


def _prepare_chunk(
    chunk: pd.DataFrame, as_of: pd.Timestamp, now: pd.Timestamp, options: dict[str, Any]
) -> Iterator[pd.DataFrame]:
    if chunk.empty:
        return
    start = int(chunk[_ROW].iloc[0])  # rows arrive in input order within a partition
    raw = chunk.drop(columns=[_ROW])
    for name in DATES:
        if name in raw and raw[name].dtype == np.int64:
            raw[name] = pd.Series(pd.to_datetime(raw[name].to_numpy(), unit="ns", utc=True))
    data = prepare(raw, as_of, now=now, **options)
    frame = data.frame
    out = pd.DataFrame(
        {
            "customer_id": data.customer_ids[frame["code"].to_numpy()].astype(object),
            "type": frame["type"].astype(object),
            "ts": frame["ts"].dt.as_unit("ns").array.asi8,
        }
    )
    for name in NUMBERS:
        out[name] = frame[name].to_numpy(dtype=float)
    for name in TEXT:
        out[name] = frame[name].astype(object).where(frame[name].notna(), None)
    out["purchase"] = frame["purchase"].to_numpy(dtype=bool)
    out["value"] = frame["value"].to_numpy(dtype=float)
    out["complaint"] = frame["complaint"].to_numpy(dtype=bool)
    out["renewal_at"] = frame["renewal_at"].dt.as_unit("ns").array.asi8
    out[_BATCH] = start
    out[_POS] = np.arange(len(out), dtype=np.int64)
    out[_REASON] = None
    out[_COUNT] = np.int64(0)
    yield out
    if data.rejected:
        side = pd.DataFrame({name: pd.Series([None] * len(data.rejected), dtype=object)
                             for name in PREPARED.fieldNames()})  # fmt: skip
        side[_REASON] = list(data.rejected)
        side[_COUNT] = np.asarray(list(data.rejected.values()), dtype=np.int64)
        side[_BATCH] = start
        side[_POS] = np.int64(-1)
        for name in ("ts", "renewal_at"):
            side[name] = np.int64(NAT)
        for name in ("purchase", "complaint"):
            side[name] = False
        for name in (*NUMBERS, "value"):
            side[name] = np.nan
        yield side


def _local(rows: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """One partition's prepared rows as the local frame: sorted by customer, time and input
    order, customers re-coded 0..k-1 in code order; and the global codes of those k."""
    keys = [rows[c].to_numpy() for c in reversed(("code", "ts", *ORDER)) if c in rows]
    rows = rows.iloc[np.lexsort(keys)] if len(rows) else rows
    codes, local = np.unique(rows["code"].to_numpy(dtype=np.int64), return_inverse=True)
    frame = pd.DataFrame({"code": local.astype(np.int64)})
    for name in FIELDS[1:]:
        if name not in rows:
            continue
        col = rows[name]
        if name == "type":
            frame[name] = pd.Categorical(col.to_numpy(dtype=object), categories=TYPES)
        elif name in ("ts", "renewal_at"):
            stamps = col.to_numpy(dtype=np.int64).view("M8[ns]")
            frame[name] = pd.Series(pd.DatetimeIndex(stamps).tz_localize("UTC"))
        elif name in TEXT:
            found, names = pd.factorize(col.to_numpy(dtype=object), sort=True)
            frame[name] = pd.Categorical.from_codes(
                found, categories=pd.Index(np.asarray(names, dtype=object), dtype=object)
            )
        elif name in ("purchase", "complaint"):
            frame[name] = col.to_numpy(dtype=bool)
        else:
            frame[name] = col.to_numpy(dtype=float)
    return codes, frame


def _empty_rows(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, with the columns (and after `_local`, the dtypes) of the prepared rows."""
    kinds = {
        "code": np.int64, "ts": np.int64, "renewal_at": np.int64, "purchase": bool,
        "complaint": bool, _BATCH: np.int64, _POS: np.int64,
    }  # fmt: skip
    out = {c: np.zeros(0, dtype=kinds.get(c, float if c in (*NUMBERS, "value") else object))
           for c in columns}  # fmt: skip
    return pd.DataFrame(out)


class SparkBackend:
    """Runs an `AnalysisSpec`'s row-level stages on Spark (`spark`: a session, e.g. from
    `identity.backends.spark.spark_session`). `partitions` fixes the number of partitions
    of the prepared rows (default: one per `ROWS_PER_PARTITION` usable rows, at least the
    session's default parallelism)."""

    def __init__(self, spark: SparkSession, *, partitions: int | None = None) -> None:
        self.spark = spark
        self.partitions = partitions

    # -- preparing -------------------------------------------------------------------------

    def prepare(
        self,
        raw: pd.DataFrame | DataFrame,
        spec: AnalysisSpec,
        as_of: pd.Timestamp,
        customers: Sequence[str],
    ) -> SparkPrepared:
        """Validate and code `raw` (pandas, or a Spark DataFrame of the contract's columns)
        in Spark; see the module docstring."""
        cfg = spec.input
        as_of = pd.Timestamp(as_of)
        as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
        now = pd.Timestamp.now(tz="UTC")
        options: dict[str, Any] = {
            "purchase_types": tuple(cfg.purchase_types),
            "cancelled": tuple(cfg.cancelled_statuses),
            "rates": dict(cfg.rates),
            "max_amount": cfg.max_amount,
            "earliest": cfg.earliest,
        }
        source = _spark_input(self.spark, raw)

        def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return _prepare_chunks(batches, as_of, now, options)

        staged = source.mapInPandas(run, PREPARED).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            counts = staged.groupBy(_REASON).agg(F.sum(_COUNT), F.count(F.lit(1))).collect()
            rejected_by = {r[0]: int(r[1]) for r in counts if r[0] is not None}
            usable = sum(int(r[2]) for r in counts if r[0] is None)
            kept = staged.where(F.col(_REASON).isNull())
            used = _to_pandas(kept.select("customer_id").distinct())["customer_id"]
            used_ids = np.asarray(used.to_numpy(), dtype=str)
            known = np.union1d(used_ids, np.asarray(customers, dtype=str))
            codes = pd.DataFrame(
                {"customer_id": used_ids, "code": np.searchsorted(known, used_ids)}
            )
            table = self.spark.createDataFrame(
                codes,
                T.StructType(
                    [
                        T.StructField("customer_id", T.StringType()),
                        T.StructField("code", T.LongType()),
                    ]
                ),
            )
            n = self.partitions or max(
                self.spark.sparkContext.defaultParallelism, -(-usable // ROWS_PER_PARTITION)
            )
            rows = (
                kept.join(F.broadcast(table) if len(codes) < 200_000 else table, "customer_id")
                .select(*FIELDS, *ORDER)
                .repartition(n, "code")
                .persist(StorageLevel.MEMORY_AND_DISK)
            )
            rows.count()  # materialised before the staged rows go
        finally:
            staged.unpersist()
        _, template = _local(_empty_rows((*FIELDS, *ORDER)))
        return SparkPrepared(
            frame=template.drop(columns=list(ORDER), errors="ignore"),
            customer_ids=known,
            as_of=as_of,
            rejected=_ordered(rejected_by, cfg.earliest),
            rows=rows,
            partitions=n,
        )

    def release(self, data: Prepared) -> None:
        """Let the prepared rows of `data` go from Spark's memory and disk."""
        if isinstance(data, SparkPrepared):
            data.rows.unpersist()

    # -- per-customer stages ---------------------------------------------------------------

    def traits(
        self, data: Prepared, traits: tuple[TraitSpec, ...], as_of: pd.Timestamp
    ) -> pd.DataFrame:
        def task(d: Prepared) -> pd.DataFrame:
            return compute_traits(d.frame, d.n_customers, traits, as_of)

        return self._frames(data, FIELDS, task)

    def summary(self, data: Prepared, as_of: pd.Timestamp) -> pd.DataFrame:
        def task(d: Prepared) -> pd.DataFrame:
            return summarise(d.frame, d.n_customers, as_of)

        return self._frames(data, ("code", "ts", "purchase", "value"), task)

    def repeat_ages(self, data: Prepared, as_of: pd.Timestamp) -> np.ndarray:
        def task(d: Prepared) -> tuple[np.ndarray, np.ndarray]:
            ages = repeat_ages(d.frame, as_of)
            per_customer = summarise(d.frame, d.n_customers, as_of)["x"].to_numpy(np.int64)
            return ages, per_customer  # a customer's ages are consecutive, in code order

        parts = self._run(_rows(data), ("code", "ts", "purchase", "value"), data.as_of, task)
        if not parts:
            return np.zeros(0)
        ages = np.concatenate([a for _, (a, _) in parts])
        owner = np.concatenate([np.repeat(codes, k) for codes, (_, k) in parts])
        return np.asarray(ages[np.argsort(owner, kind="stable")], dtype=float)

    def value(self, data: Prepared, spec: Value, as_of: pd.Timestamp) -> pd.DataFrame:
        def task(d: Prepared) -> pd.DataFrame:
            return customer_value(d.frame, d.n_customers, spec, as_of)

        columns = ("code", "ts", "type", "value", "margin", "category")
        return self._frames(data, columns, task)

    def mix(self, data: Prepared, fields: Sequence[str], as_of: pd.Timestamp) -> pd.DataFrame:
        local = LocalBackend()

        def task(d: Prepared) -> tuple[pd.DataFrame, list[bool]]:
            real = [
                isinstance(d.frame[f].dtype, pd.CategoricalDtype)
                and "unknown" in d.frame[f].cat.categories
                for f in fields
            ]
            return local.mix(d, fields, as_of), real

        columns = ("code", "ts", "purchase", *fields)
        parts = self._run(_rows(data), columns, data.as_of, task)
        frames = [(codes, frame) for codes, (frame, _) in parts]
        real = [any(flags[i] for _, (_, flags) in parts) for i in range(len(fields))]
        nobody = lambda k: local.mix(_nobody(data, k), fields, as_of)  # noqa: E731
        out = _assemble(frames, data.n_customers, nobody).fillna(0.0)
        order: list[str] = []
        for field, unknown_is_value in zip(fields, real, strict=True):
            named = [c for c in out.columns if c.startswith(f"{field}:")]
            values = sorted(c[len(field) + 1 :] for c in named)
            if not unknown_is_value and "unknown" in values:  # added after the real values
                values = [v for v in values if v != "unknown"] + ["unknown"]
            order += [f"{field}:{v}" for v in values]
        return out[order].astype(float)

    def holdings(
        self, data: Prepared, field: str, as_of: pd.Timestamp, *, counts: bool = False
    ) -> tuple[sparse.csr_matrix, np.ndarray]:
        def task(d: Prepared) -> tuple[sparse.coo_matrix, np.ndarray]:
            matrix, items = holdings(d.frame, d.n_customers, field, as_of, counts=True)
            return sparse.coo_matrix(matrix), items

        parts = self._run(_rows(data), ("code", "ts", "purchase", field), data.as_of, task)
        names = [items for _, (_, items) in parts]
        items = np.unique(np.concatenate(names)) if names else np.zeros(0, dtype=object)
        items = np.asarray(items, dtype=object)
        rows, cols, values = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], []
        for codes, (coo, local_items) in parts:
            where = np.searchsorted(items, local_items).astype(np.int64)
            rows.append(codes[coo.row])
            cols.append(where[coo.col])
            values.append(coo.data)
        data_values = np.concatenate(values) if values else np.zeros(0, dtype=np.float32)
        matrix = sparse.csr_matrix(
            (data_values.astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(data.n_customers, len(items)),
        )
        if not counts:
            matrix.data[:] = 1.0
        return matrix, items

    # -- machinery -------------------------------------------------------------------------

    def _frames(
        self, data: Prepared, columns: Sequence[str], task: Callable[[Prepared], pd.DataFrame]
    ) -> pd.DataFrame:
        """`task`'s per-customer frame on every partition, laid out on the global codes;
        customers without usable rows get what `task` gives a customer with none."""
        parts = self._run(_rows(data), columns, data.as_of, task)
        return _assemble(parts, data.n_customers, lambda k: task(_nobody(data, k)))

    def _run(
        self,
        rows: DataFrame,
        columns: Sequence[str],
        as_of: pd.Timestamp,
        task: Callable[[Prepared], R],
    ) -> list[tuple[np.ndarray, R]]:
        """`task` on each partition's customers (a local `Prepared` of `columns`), with the
        global codes of those customers, collected on the driver."""
        wanted = [c for c in columns if c != "code"]

        def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            frames = [b for b in batches if len(b)]
            if not frames:
                return
            codes, frame = _local(pd.concat(frames, ignore_index=True))
            local = Prepared(
                frame=frame.drop(columns=list(ORDER), errors="ignore"),
                customer_ids=np.arange(len(codes)).astype(str),
                as_of=as_of,
            )
            payload = pickle.dumps((codes, task(local)), protocol=pickle.HIGHEST_PROTOCOL)
            yield pd.DataFrame({"payload": [payload]})

        selected = rows.select("code", *wanted, *ORDER)
        out = selected.mapInPandas(run, "payload binary").collect()
        # the payloads are this backend's own workers' results, not outside data
        return [pickle.loads(r["payload"]) for r in out]  # noqa: S301


def _rows(data: Prepared) -> DataFrame:
    if not isinstance(data, SparkPrepared):
        raise TypeError(
            "SparkBackend: these interactions were prepared by another backend - prepare "
            "them with SparkBackend.prepare"
        )
    return data.rows


def _nobody(data: Prepared, k: int) -> Prepared:
    """`k` customers without a single usable row (the local frame's columns, no rows)."""
    return Prepared(frame=data.frame.iloc[:0], customer_ids=np.arange(k).astype(str),
                    as_of=data.as_of)  # fmt: skip


def _assemble(
    parts: list[tuple[np.ndarray, pd.DataFrame]],
    n_customers: int,
    nobody: Callable[[int], pd.DataFrame],
) -> pd.DataFrame:
    """Per-partition frames (indexed by local code) placed on the global codes 0..n-1;
    `nobody(k)` gives the rows of the k codes no partition holds."""
    frames = []
    seen = np.zeros(n_customers, dtype=bool)
    for codes, frame in parts:
        frames.append(frame.set_axis(pd.Index(codes, name="code")))
        seen[codes] = True
    missing = np.flatnonzero(~seen)
    if len(missing) or not frames:
        frames.append(nobody(len(missing)).set_axis(pd.Index(missing, name="code")))
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    out = out.sort_index()
    return out.set_axis(pd.RangeIndex(n_customers, name="code"))


REASONS = (
    "missing customer_id", "missing or unreadable date", "date before {earliest}",
    "date in the future", "unknown interaction type", "unreadable amount", "negative amount",
    "unknown currency", "absurd amount", "after_as_of",
)  # fmt: skip


def _ordered(counts: dict[str, int], earliest: str) -> dict[str, int]:
    """The counts in the order `analytics.frame.prepare` gives them."""
    known = [r.format(earliest=earliest) for r in REASONS]
    rank = {r: i for i, r in enumerate(known)}
    return {
        k: counts[k] for k in sorted(counts, key=lambda r: (rank.get(r, len(rank)), r)) if counts[k]
    }
