"""Compare on Spark: the model's own vectorised comparisons on pandas batches of pairs.

Each candidate pair is joined with both records' standardised columns; every Arrow batch
becomes a small frame (the batch's left records, then its right records) on which
`identity.compare.compare_pairs` runs unchanged, with the spec's comparisons — so a
comparison added or changed in `identity/` runs here as it runs in process.

One comparison step reads the whole table: an e-mail or phone held by records of different
given initials is a household's (`identity.compare._shared_by_household`). Spark finds
those values once; each batch that holds one gets two witness rows (the value under two
initials, nothing else) that no pair points at, so the batch's frame tells the truth about
the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.backends.spark.standardise import ROW
from identity.compare import _SHARED_COLUMNS, compare_pairs
from identity.levels import Comparison

__all__ = ["compare", "household_values", "level_columns"]

_HELD = "__held_by_household_"


def level_columns(comparisons: Sequence[Comparison]) -> list[str]:
    return [f"lv{k}" for k in range(len(comparisons))]


def household_values(records: DataFrame) -> DataFrame:
    """Per record, for each shared-by-household column, whether its value is one (rid,
    flags): values that records of more than one given initial hold."""
    flagged = records.select(ROW)
    for column in _SHARED_COLUMNS.values():
        if column not in records.columns:
            continue
        named = records.where(F.col(column).isNotNull() & F.col("given_initial").isNotNull())
        shared = (
            named.groupBy(column)
            .agg(F.countDistinct("given_initial").alias("initials"))
            .where(F.col("initials") > 1)
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
