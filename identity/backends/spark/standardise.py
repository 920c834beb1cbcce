"""Standardise on Spark: the local standardiser on pandas partitions, then the same blanking
of shared identifying values and the same derived blocking keys.

Records travel as JSON documents with their input position (`rid`); each partition runs
`identity.standardise.standardise` (row by row, so partitions give the rows one run over
all records gives). What needs the whole table — which e-mails, phones and tax ids more
than `max_shared` records hold — is a Spark aggregation, and only those few values reach
the driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import reduce
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.blocking import add_derived_keys
from identity.frame import COLUMNS, IDENTIFYING
from identity.standardise import standardise

__all__ = ["ROW", "derived_columns", "records_frame", "standardised_frame"]

_FLAGGED = "__placeholder__"  # not a column: the rows with a placeholder

ROW = "rid"  # a record's position in the input: its index in every array the backend returns


def derived_columns() -> list[str]:
    """The standardised columns and the derived blocking keys, in the local frame's order."""
    sample = standardise([{"source": "s", "source_id": "1"}])
    return [str(c) for c in add_derived_keys(sample).columns]


def _schema(columns: Sequence[str]) -> str:
    return ", ".join([f"{ROW} long", *(f"`{c}` string" for c in columns)])


def records_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The records as (rid, JSON document) rows, for Spark to read."""
    return pd.DataFrame(
        {
            ROW: np.arange(len(records), dtype=np.int64),
            "doc": [orjson.dumps(r, default=str).decode() for r in records],
        }
    )


def _text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Every column as str or None (`source_id` may come as a number)."""
    out = {}
    for column in columns:
        values = frame[column].to_numpy(dtype=object)
        out[column] = [v if v is None or type(v) is str else str(v) for v in values]
    return pd.DataFrame(out)


def standardised_frame(
    records: DataFrame, *, max_shared: int
) -> tuple[DataFrame, dict[str, int], DataFrame]:
    """The standardised records (rid + the local frame's columns), identifying values held
    by more than `max_shared` records blanked (counted in the stats, as locally), and the
    persisted unblanked table they are read from (unpersist it once they are written)."""
    base = list(COLUMNS)

    def standardised(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            docs = [orjson.loads(d) for d in batch["doc"].tolist()]
            out = _text(standardise(docs), base)
            out.insert(0, ROW, batch[ROW].to_numpy())
            yield out

    plain = records.mapInPandas(standardised, _schema(base)).persist()
    # one aggregation: the identifying values held too often, and the placeholder count
    counted = [
        plain.where(F.col(c).isNotNull()).select(F.lit(c).alias("column"), F.col(c).alias("value"))
        for c in IDENTIFYING
    ]
    flagged = F.col("placeholder_fields").isNotNull() & (F.col("placeholder_fields") != "")
    counted.append(
        plain.where(flagged).select(F.lit(_FLAGGED).alias("column"), F.lit("").alias("value"))
    )
    counts = reduce(DataFrame.unionAll, counted).groupBy("column", "value").count()
    found = counts.where((F.col("column") == _FLAGGED) | (F.col("count") > max_shared)).collect()
    stats: dict[str, int] = {}
    shared: dict[str, set[str]] = {}
    for row in found:
        if row["column"] == _FLAGGED:
            continue
        shared.setdefault(row["column"], set()).add(row["value"])
        key = f"non_identifying_{row['column']}"
        stats[key] = stats.get(key, 0) + int(row["count"])
    stats["placeholder_values"] = sum(int(r["count"]) for r in found if r["column"] == _FLAGGED)
    columns = derived_columns()

    def keyed(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frame = batch[base].astype(object).where(batch[base].notna(), None)
            for column, values in shared.items():
                frame.loc[frame[column].isin(values), column] = None
            out = _text(add_derived_keys(frame), columns)
            out.insert(0, ROW, batch[ROW].to_numpy())
            yield out

    return plain.mapInPandas(keyed, _schema(columns)), stats, plain
