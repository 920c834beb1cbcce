"""Standardise on Spark: the embedded standardiser on Arrow batches, in one pass.

The records reach Spark as Arrow columns (`records_table`: one string column per field the
standardiser reads, the input position `rid`), never as a document per record. One
`mapInArrow` pass runs `identity.standardise.standardise` and `add_derived_keys` — the
embedded engine's own vectorised functions, row by row in effect, so partitions give the
rows one run over all records gives — on chunks of `chunk_records` records.

What needs the whole table — which e-mails, phones and tax ids more than `max_shared`
records hold — is one Spark aggregation over that pass's output; only those few values
reach the driver (`shared_values`). Blanking them (and the derived keys read from them) is
then a column projection (`blanked`), not a second pass through Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from identity.blocking import DERIVED, add_derived_keys
from identity.frame import IDENTIFYING
from identity.standardise import standardise
from schemas import CustomerRecord

__all__ = [
    "FIELDS",
    "ROW",
    "blanked",
    "derived_columns",
    "records_table",
    "shared_values",
    "standardised_records",
]

ROW = "rid"  # a record's position in the input: its index in every array the backend returns

# the fields `identity.standardise.standardise` reads: the CustomerRecord's (a record's
# other keys change nothing, which a test checks)
FIELDS: tuple[str, ...] = tuple(CustomerRecord.model_fields)

_JSON = "json:"  # prefix of a field sent as JSON text: it holds values other than text
_FLAGGED = "__placeholder__"  # not a column: the rows with a placeholder


def derived_columns() -> list[str]:
    """The standardised columns and the derived blocking keys, in the local frame's order."""
    sample = standardise([{"source": "s", "source_id": "1"}])
    return [str(c) for c in add_derived_keys(sample).columns]


def _values(records: Sequence[Mapping[str, Any]], field: str) -> list[Any]:
    try:  # dict.get mapped in C
        return list(map(dict.get, records, repeat(field)))  # type: ignore[arg-type]
    except TypeError:  # a Mapping that is not a dict
        return [r.get(field) for r in records]


def records_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The records as Arrow columns: `rid`, then each field as text. A field holding
    anything but text (a date, a number) goes as JSON text (`json:<field>`) and is read
    back as the JSON value — what a record written as JSON Lines and read again holds."""
    columns: dict[str, pa.Array] = {ROW: pa.array(range(len(records)), pa.int64())}
    for field in FIELDS:
        values = _values(records, field)
        if set(map(type, values)) <= {str, type(None)}:
            columns[field] = pa.array(values, pa.string())
        else:
            columns[_JSON + field] = pa.array(
                [None if v is None else orjson.dumps(v, default=str).decode() for v in values],
                pa.string(),
            )
    return pa.table(columns)


def _records(batch: pa.Table) -> list[dict[str, Any]]:
    """The records of a chunk of `records_table`, JSON fields decoded."""
    names, columns = [], []
    for name in batch.column_names:
        if name == ROW:
            continue
        values = batch.column(name).to_pylist()
        if name.startswith(_JSON):
            name = name.removeprefix(_JSON)
            values = [None if v is None else orjson.loads(v) for v in values]
        names.append(name)
        columns.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _text(values: Any) -> pa.Array:
    """A column as Arrow text (`source_id` may come as a number: it becomes its str)."""
    try:
        return pa.array(values, pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([v if v is None or type(v) is str else str(v) for v in values], pa.string())


def standardised_records(records: DataFrame, *, chunk_records: int = 100_000) -> DataFrame:
    """(rid, the local frame's columns): each record standardised, derived keys added,
    identifying values not yet blanked (`blanked` does that). One `mapInArrow` pass; a
    worker standardises `chunk_records` records a call (repeats within a chunk are
    standardised once)."""
    columns = derived_columns()
    schema = pa.schema([(ROW, pa.int64()), *((c, pa.string()) for c in columns)])

    def chunk(held: list[pa.RecordBatch]) -> pa.RecordBatch:
        table = pa.Table.from_batches(held)
        frame: pd.DataFrame = add_derived_keys(standardise(_records(table)))
        arrays = [
            table.column(ROW).combine_chunks(),
            *(_text(frame[c].to_numpy()) for c in columns),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def standardised(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        held: list[pa.RecordBatch] = []
        size = 0
        for batch in batches:
            held.append(batch)
            size += batch.num_rows
            if size >= chunk_records:
                yield chunk(held)
                held, size = [], 0
        if held:
            yield chunk(held)

    ddl = ", ".join([f"{ROW} long", *(f"`{c}` string" for c in columns)])
    return records.mapInArrow(standardised, ddl)


def shared_values(
    plain: DataFrame, *, max_shared: int
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """The stats standardising reports (as the embedded backend counts them) and, per
    identifying column, the values more than `max_shared` records hold — one aggregation."""
    flagged = F.col("placeholder_fields").isNotNull() & (F.col("placeholder_fields") != "")
    entries = [
        F.when(F.col(c).isNotNull(), F.struct(F.lit(c).alias("column"), F.col(c).alias("value")))
        for c in IDENTIFYING
    ]
    entries.append(
        F.when(flagged, F.struct(F.lit(_FLAGGED).alias("column"), F.lit("").alias("value")))
    )
    held = F.filter(F.array(*entries), lambda entry: entry.isNotNull())
    # one scan: each record's identifying values (and its placeholder flag) as rows
    counts = (
        plain.select(F.explode(held).alias("e"))
        .select("e.column", "e.value")
        .groupBy("column", "value")
        .count()
    )
    found = counts.where((F.col("column") == _FLAGGED) | (F.col("count") > max_shared)).collect()
    stats: dict[str, int] = {}
    shared: dict[str, list[str]] = {}
    for column in IDENTIFYING:  # the embedded backend's order
        rows = sorted((r for r in found if r["column"] == column), key=lambda r: r["value"])
        if rows:
            shared[column] = [str(r["value"]) for r in rows]
            stats[f"non_identifying_{column}"] = sum(int(r["count"]) for r in rows)
    stats["placeholder_values"] = sum(int(r["count"]) for r in found if r["column"] == _FLAGGED)
    return stats, shared


def blanked(plain: DataFrame, shared: Mapping[str, Sequence[str]]) -> DataFrame:
    """`plain` with the shared identifying values blanked, and the derived keys read from
    them (the phone's tail): what the embedded backend blanks before deriving its keys."""
    if not shared:
        return plain
    hit: dict[str, Column] = {c: F.col(c).isin(list(v)) for c, v in shared.items() if v}
    reads = {name: source for name, (source, _) in DERIVED.items()}
    out = []
    for column in plain.columns:
        source = column if column in hit else reads.get(column)
        if source in hit:
            out.append(F.when(hit[source], F.lit(None)).otherwise(F.col(column)).alias(column))
        else:
            out.append(F.col(f"`{column}`"))
    return plain.select(*out)
