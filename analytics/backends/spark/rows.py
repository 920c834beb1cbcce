"""The prepared interactions in Spark: the contract's columns read, validated by the local
`analytics.frame.prepare` on chunks of each input partition, coded by customer and
partitioned by that code; and each partition's rows put back as the local frame.

A chunk's usable rows keep where they stood in the input (the first input row id of the
chunk, and their position in `prepare`'s output, which keeps the input order among rows of
one customer and time), so a partition sorts back to the local backend's order: customer,
time, input order. The counts of rows left out come back as side rows and are summed.
Times are UTC nanoseconds (Spark's timestamps stop at microseconds).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from analytics.frame import COLUMNS, NUMBERS, TEXT, TYPES, prepare
from analytics.model import AnalysisSpec

__all__ = [
    "FIELDS",
    "ORDER",
    "ROWS_PER_PARTITION",
    "Staged",
    "empty_rows",
    "local_frame",
    "read_interactions",
    "stage",
    "unpack",
]

# usable interactions per partition of the prepared rows: a packed partition is one binary
# value the JVM holds whole while it caches it (at 500,000 rows, 1M customers / 10M
# interactions ran the 2 GB driver heap out of memory)
ROWS_PER_PARTITION = 200_000
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


def local_frame(rows: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
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


PACKED = T.StructType([T.StructField("payload", T.BinaryType())])


def _pack(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """One partition's rows as the local frame, pickled with the customers' global codes:
    every later pass unpickles it instead of moving and re-sorting the rows again."""
    frames = [b for b in batches if len(b)]
    if frames:
        packed = local_frame(pd.concat(frames, ignore_index=True))
        yield pd.DataFrame({"payload": [pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL)]})


def unpack(payload: bytes) -> tuple[np.ndarray, pd.DataFrame]:
    """A partition packed by `stage`: the global codes and the local frame."""
    # the payloads are this backend's own workers' pickles, not outside data
    return cast(tuple[np.ndarray, pd.DataFrame], pickle.loads(payload))  # noqa: S301


def empty_rows(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, with the columns (and after `_local`, the dtypes) of the prepared rows."""
    kinds = {
        "code": np.int64, "ts": np.int64, "renewal_at": np.int64, "purchase": bool,
        "complaint": bool, _BATCH: np.int64, _POS: np.int64,
    }  # fmt: skip
    out = {c: np.zeros(0, dtype=kinds.get(c, float if c in (*NUMBERS, "value") else object))
           for c in columns}  # fmt: skip
    return pd.DataFrame(out)


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


@dataclass(frozen=True, kw_only=True)
class Staged:
    """The usable rows (persisted, `partitions` partitions by `code`, each one row: its
    local frame packed, see `unpack`), the sorted customer ids the codes index, and the
    count of rows left out by reason."""

    rows: DataFrame
    customer_ids: np.ndarray
    partitions: int
    rejected: dict[str, int]
    interactions: int  # rows read, usable or not


def stage(
    spark: SparkSession,
    raw: pd.DataFrame | DataFrame,
    spec: AnalysisSpec,
    as_of: pd.Timestamp,
    customers: Sequence[str],
    partitions: int | None = None,
) -> Staged:
    """`raw` validated and coded in Spark (see the module docstring); `partitions` by
    default one per `ROWS_PER_PARTITION` usable rows, at least the default parallelism."""
    cfg = spec.input
    now = pd.Timestamp.now(tz="UTC")
    options: dict[str, Any] = {
        "purchase_types": tuple(cfg.purchase_types),
        "cancelled": tuple(cfg.cancelled_statuses),
        "rates": dict(cfg.rates),
        "max_amount": cfg.max_amount,
        "earliest": cfg.earliest,
    }
    source = _spark_input(spark, raw)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _prepare_chunks(batches, as_of, now, options)

    staged = source.mapInPandas(run, PREPARED).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = staged.groupBy(_REASON).agg(F.sum(_COUNT), F.count(F.lit(1))).collect()
        rejected = {r[0]: int(r[1]) for r in counts if r[0] is not None}
        usable = sum(int(r[2]) for r in counts if r[0] is None)
        kept = staged.where(F.col(_REASON).isNull())
        used = _to_pandas(kept.select("customer_id").distinct())["customer_id"]
        used_ids = np.asarray(used.to_numpy(), dtype=str)
        known = np.union1d(used_ids, np.asarray(customers, dtype=str))
        codes = pd.DataFrame({"customer_id": used_ids, "code": np.searchsorted(known, used_ids)})
        schema = T.StructType(
            [T.StructField("customer_id", T.StringType()), T.StructField("code", T.LongType())]
        )
        table = spark.createDataFrame(codes, schema)
        n = partitions or max(
            spark.sparkContext.defaultParallelism, -(-usable // ROWS_PER_PARTITION)
        )
        by_code = (
            kept.join(F.broadcast(table), "customer_id")  # ids and codes: per customer, small
            .select(*FIELDS, *ORDER)
            .repartition(n, "code")
        )
        # on disk, not in the JVM's heap: at 1M customers / 10M interactions the packed
        # partitions held in a 2 GB driver heap (local[N]) left no room to read them back
        rows = by_code.mapInPandas(_pack, PACKED).persist(StorageLevel.DISK_ONLY)
        rows.count()  # materialised before the staged rows go
    finally:
        staged.unpersist()
    return Staged(
        rows=rows,
        customer_ids=known,
        partitions=n,
        rejected=_ordered(rejected, cfg.earliest),
        interactions=usable + sum(rejected.values()),
    )
