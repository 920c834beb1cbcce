"""The store's live interactions as a Parquet file, written by the driver in batches, for
the analytics engine on Spark to read (`crmhub analyse --engine spark`).

The rows are those of `hub.analyse.run.load_interactions`, in the same order and with the
same values, with one type per column as Parquet needs: the amount as a double; the
other canonical columns and every extra key as text, as the engine reads them (it strips,
cases and parses text itself: `str` of a number, a flag or a date gives what it reads
from the value), except the extra numbers `margin` and `days_late`, which are read as
numbers here (what the engine's `pandas.to_numeric` makes of the value; a missing or
unreadable one is missing). A batch is one row group: Spark splits the file over its
cores by row group.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Connection

from analytics.frame import COLUMNS, NUMBERS
from hub.analyse.run import stream_interactions

__all__ = ["BATCH_ROWS", "SCHEMA", "write_interactions"]

BATCH_ROWS = 100_000
"""Interactions per batch (and row group): at most this many are Python objects at once."""
SCHEMA = pa.schema(
    [pa.field(name, pa.float64() if name in NUMBERS else pa.string()) for name in COLUMNS]
)


def write_interactions(
    conn: Connection, path: Path, batch_rows: int = BATCH_ROWS
) -> tuple[int, int]:
    """Write the store's live interactions that have a golden id to `path`; returns how
    many were written and how many name a record without a golden id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with pq.ParquetWriter(path, SCHEMA) as writer:

        def sink(columns: dict[str, list[Any]]) -> None:
            nonlocal written
            arrays = [_array(name, columns[name]) for name in COLUMNS]
            writer.write_table(pa.Table.from_arrays(arrays, schema=SCHEMA))
            written += len(columns["customer_id"])

        unmapped = stream_interactions(conn, sink, batch_rows)
    return written, unmapped


def _array(name: str, values: list[Any]) -> pa.Array:
    if name == "amount":  # float or None from the store
        return pa.array(values, type=pa.float64())
    if name in NUMBERS:
        numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        return pa.array(
            [None if math.isnan(v) else v for v in numbers.to_numpy(dtype=float)],
            type=pa.float64(),
        )
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())
