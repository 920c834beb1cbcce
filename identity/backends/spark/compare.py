"""Compare on Spark: the model's own vectorised comparisons on pandas batches of pairs.

Each candidate pair is joined with both records' standardised columns; every Arrow batch
becomes a small frame (the batch's left records, then its right records) on which
`identity.compare.compare_pairs` runs unchanged, with the spec's comparisons — so a
comparison added or changed in `identity/` runs here as it runs in process.

One comparison step reads the whole table: an e-mail or phone held by records of different
given initials is a household's (`identity.compare.household_values`). Spark finds
those values once; each batch that holds one gets two witness rows (the value under two
initials, nothing else) that no pair points at, so the batch's frame tells the truth about
the whole table.

When the table is small enough to hold in each Python worker (`compare_broadcast`; a
million records take ~0.4 GB there), no record is shuffled at all: the columns the
comparisons read go to every worker once, as a Spark broadcast (each column as codes and
its distinct values), and each task compares its share of the pairs on the whole table
with `compare_pairs` — exactly the call the embedded backend makes, household values
included, so nothing needs a witness. A table the driver never held (`FileTable`) goes to
the workers the same way without passing the driver: Spark writes its compared columns as
Parquet under the run directory (shared storage on a cluster), and each worker reads them
once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark import Broadcast
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType

from identity.backends.spark.standardise import ROW
from identity.compare import _SHARED_COLUMNS, compare_pairs, holder_words, two_people
from identity.levels import Comparison, Memo

__all__ = [
    "COMPARED",
    "TASK_PAIRS",
    "FileTable",
    "SharedTable",
    "compare",
    "compare_broadcast",
    "compared_columns",
    "household_values",
    "in_record_order",
    "level_columns",
    "packed",
    "unpacked",
]

_HELD = "__held_by_household_"

# the standardised and derived columns `compare_pairs` reads, besides the comparisons' own
# `columns` (tests/identity/backends/spark/test_compare.py checks that none is missing)
COMPARED = (
    "source",
    "given",
    "given_canon",
    "given_initial",
    "family",
    "birth_date",
    "birth_year",
    "birth_yy",
    "email",
    "email_local",
    "email_letters",
    "email_year",
    "phone",
    "phone_tail",
    "tax_id",
    "postal_code",
    "city",
    "street",
    "street_name",
    "house_number",
    "org",
)

Packed = dict[str, tuple[np.ndarray, np.ndarray]]  # column -> (codes, distinct values)

TASK_PAIRS = 4_000_000  # candidate pairs a compare or score call takes at most (~100 MB)


@dataclass(frozen=True)
class FileTable:
    """The table's compared columns as Parquet files every worker can read (`rid` and
    `columns`, in any order): a broadcast the driver never holds."""

    paths: tuple[str, ...]
    columns: tuple[str, ...]


SharedTable = Broadcast[Packed] | FileTable  # the whole table, in every Python worker


def level_columns(comparisons: Sequence[Comparison] | int) -> list[str]:
    """The level column of each comparison (or of that many): lv0, lv1, …"""
    width = comparisons if isinstance(comparisons, int) else len(comparisons)
    return [f"lv{k}" for k in range(width)]


def household_values(records: DataFrame) -> DataFrame:
    """Per record, for each shared-by-household column, whether its value is one (rid,
    flags): values that two people hold (`identity.compare.two_people` of the holders'
    names, as `identity.compare.household_values` finds them)."""
    flagged = records.select(ROW)
    name = F.struct(
        *(
            (F.col(c) if c in records.columns else F.lit(None)).cast("string").alias(c)
            for c in ("given", "middle", "family")
        )
    )
    two = F.udf(
        lambda holders: two_people(holder_words(h[0], h[1], h[2]) for h in holders),
        BooleanType(),
    )
    for column in _SHARED_COLUMNS.values():
        if column not in records.columns:
            continue
        named = records.where(F.col(column).isNotNull() & F.col("given_initial").isNotNull())
        shared = (
            named.groupBy(column)
            .agg(
                F.countDistinct("given_initial").alias("initials"),
                F.collect_set(name).alias("holders"),
            )
            .where((F.col("initials") > 1) & two(F.col("holders")))
            .select(column, F.lit(True).alias(_HELD + column))
        )
        held = records.select(ROW, column).join(shared, column, "left").drop(column)
        flagged = flagged.join(held, ROW)
    return flagged


def compare(
    records: DataFrame,
    pairs: DataFrame,
    comparisons: tuple[Comparison, ...],
    household: DataFrame | None = None,
) -> DataFrame:
    """(l, r, i, lv0..lvk): the agreement levels of each pair (l, r, i) of `pairs`; `i` is
    carried through (the order the driver wants the levels in)."""
    columns = [c for c in records.columns if c != ROW]
    table = records if household is None else records.join(household, ROW)
    flags = [c for c in table.columns if c.startswith(_HELD)]
    side = [*columns, *flags]
    left = table.select(F.col(ROW).alias("l"), *(F.col(f"`{c}`").alias(f"a_{c}") for c in side))
    right = table.select(F.col(ROW).alias("r"), *(F.col(f"`{c}`").alias(f"b_{c}") for c in side))
    joined = pairs.join(left, "l").join(right, "r")
    names = level_columns(comparisons)
    schema = ", ".join(["l long", "r long", "i long", *(f"{n} byte" for n in names)])

    def levels(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            size = len(batch)
            frame = _frame(batch, columns, flags)
            found = compare_pairs(frame, np.arange(size), np.arange(size, 2 * size), comparisons)
            out = pd.DataFrame(found, columns=names)
            out.insert(0, "i", batch["i"].to_numpy())
            out.insert(0, "r", batch["r"].to_numpy())
            out.insert(0, "l", batch["l"].to_numpy())
            yield out

    return joined.mapInPandas(levels, schema)


def _frame(batch: pd.DataFrame, columns: Sequence[str], flags: Sequence[str]) -> pd.DataFrame:
    """The batch's left records, its right records, then the household witness rows."""
    parts = []
    for prefix in ("a_", "b_"):
        part = batch[[prefix + c for c in columns]]
        part.columns = pd.Index(columns)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True).astype(object)
    frame = frame.where(frame.notna(), None)
    witnesses: list[dict[str, str]] = []
    for flag in flags:
        column = flag.removeprefix(_HELD)
        held = set()
        for prefix in ("a_", "b_"):
            hit = (batch[prefix + flag] == True).to_numpy(dtype=bool)  # noqa: E712 — None is False
            held.update(batch[prefix + column].to_numpy(dtype=object)[hit].tolist())
        for value in held:  # two initials hold it: a household's, as across the table
            witnesses += [
                {column: value, "given_initial": "\u0000"},
                {column: value, "given_initial": "\u0001"},
            ]
    if witnesses:
        extra = pd.DataFrame(witnesses, columns=list(columns)).astype(object)
        frame = pd.concat([frame, extra.where(extra.notna(), None)], ignore_index=True)
    return frame


def compared_columns(available: Sequence[str], comparisons: Sequence[Comparison]) -> list[str]:
    """The columns of `available` that the comparisons read, in `available`'s order."""
    wanted = set(COMPARED).union(*(c.columns for c in comparisons))
    wanted |= {c.tf_column for c in comparisons if c.tf_column}  # scoring's term frequencies
    return [c for c in available if c in wanted]


def packed(frame: pd.DataFrame, columns: Sequence[str]) -> Packed:
    """`frame`'s `columns`, each as int32 codes (-1: missing) and its distinct values: a
    fraction of the pickled size of the strings themselves (names, cities repeat)."""
    out: Packed = {}
    for column in columns:
        codes, uniques = pd.factorize(frame[column].to_numpy(dtype=object))
        out[column] = (codes.astype(np.int32), np.asarray(uniques, dtype=object))
    return out


def unpacked(table: Packed) -> pd.DataFrame:
    """The frame `packed` made (missing values None; equal values one object)."""
    columns = {}
    for column, (codes, uniques) in table.items():
        values = np.empty(uniques.size + 1, dtype=object)  # the last slot: None, for -1
        values[: uniques.size] = uniques
        columns[column] = values[codes]
    return pd.DataFrame(columns)


# in a Python worker: the shared table it last unpacked, its frame (once per worker) and what
# compare_pairs computes on the whole frame (column codes, household values: once per worker,
# not once per call — at 5M records that was half the compare stage)
_WORKER_TABLE: list[tuple[SharedTable, pd.DataFrame, Memo]] = []


def in_record_order(table: pa.Table) -> pd.DataFrame:
    """A standardised table (`rid` 0..n-1 and columns, rows in any order) as the embedded
    backend's frame: in record order, text columns of str or None, no per-value conversion."""
    rid = table.column(ROW).to_numpy()
    if rid.size and not bool(np.all(rid[1:] > rid[:-1])):
        table = table.take(pa.array(np.argsort(rid, kind="stable")))
        rid = table.column(ROW).to_numpy()
    if not np.array_equal(rid, np.arange(rid.size)):
        raise ValueError("a standardised table's record numbers are not 0..n-1")
    frame: pd.DataFrame = table.drop_columns([ROW]).to_pandas(split_blocks=True)
    return frame


def _worker_table(table: SharedTable) -> pd.DataFrame:
    return _held(table)[1]


def _worker_memo(table: SharedTable) -> Memo:
    """What `compare_pairs` keeps about the worker's table across calls."""
    return _held(table)[2]


def _held(table: SharedTable) -> tuple[SharedTable, pd.DataFrame, Memo]:
    if not _WORKER_TABLE or not _same_table(_WORKER_TABLE[0][0], table):
        _WORKER_TABLE.clear()  # a later run's table replaces an earlier one's
        _WORKER_TABLE.append((table, _unpacked_table(table), {}))
    return _WORKER_TABLE[0]


def _same_table(held: SharedTable, table: SharedTable) -> bool:
    if isinstance(table, FileTable):  # unpickled per task: equal, not the same object
        return held == table
    return held is table


def _unpacked_table(table: SharedTable) -> pd.DataFrame:
    """The frame of the shared table, as the driver's broadcast gives it: from the files,
    in record order, through `packed` and `unpacked` (the same values, the same types)."""
    if not isinstance(table, FileTable):
        return unpacked(table.value)
    import pyarrow.parquet as pq

    parts = [pq.read_table(path, columns=[ROW, *table.columns]) for path in table.paths]
    frame = in_record_order(pa.concat_tables(parts))
    return unpacked(packed(frame, table.columns))


def compare_broadcast(
    pairs: DataFrame,
    table: SharedTable,
    comparisons: tuple[Comparison, ...],
    *,
    batch_pairs: int = 500_000,
) -> DataFrame:
    """`pairs`' columns (l, r and any others, such as i) and the levels lv0..lvk of each
    pair, compared by `compare_pairs` on the broadcast table, `batch_pairs` pairs a call
    (the call's fixed cost — coding the table's columns — is paid per call, not per pair)."""
    names = level_columns(comparisons)
    carried = [f.name for f in pairs.schema.fields]
    schema = ", ".join([*(f"{c} long" for c in carried), *(f"{n} byte" for n in names)])

    def compared(held: list[pd.DataFrame]) -> pd.DataFrame:
        batch = pd.concat(held, ignore_index=True) if len(held) > 1 else held[0]
        frame = _worker_table(table)
        left, right = batch["l"].to_numpy(np.int64), batch["r"].to_numpy(np.int64)
        found = compare_pairs(frame, left, right, comparisons, memo=_worker_memo(table))
        out = pd.DataFrame(found, columns=names)
        for position, column in enumerate(carried):
            out.insert(position, column, batch[column].to_numpy(np.int64))
        return out

    def levels(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        held: list[pd.DataFrame] = []
        size = 0
        for batch in batches:
            held.append(batch)
            size += len(batch)
            if size >= batch_pairs:
                yield compared(held)
                held, size = [], 0
        if held:
            yield compared(held)

    return pairs.mapInPandas(levels, schema)
