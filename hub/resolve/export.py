"""A store's inputs to a full resolve that stays in Spark, written by the driver a batch at
a time (`hub.resolve.spark_store`): Spark has no JDBC driver to ask the store with, and the
driver never holds the records as a list.

- `records.jsonl`: the live customer records as the batch contract's CustomerRecord lines,
  in `load_customer_records`' order (so record i is record i of an in-process run);
- `ids.parquet`: (source, source_id, record_id) — each record's `customer_records.id`;
- `previous.parquet`: the crosswalk before this run (source, source_id, golden_id);
- `created.parquet`: every golden id and when it was created (golden_id, created).

`digest` is a SHA-256 over all of it: a run's checkpoints are of these inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.resolve.records import stream_customer_records
from hub.store.tables import crosswalk, golden_records

__all__ = ["BATCH_ROWS", "StoreExport", "export_store"]

BATCH_ROWS = 50_000
"""Rows per batch (and Parquet row group): at most this many are Python objects at once."""

_IDS = pa.schema([("source", pa.string()), ("source_id", pa.string()), ("record_id", pa.int64())])
_PREVIOUS = pa.schema(
    [("source", pa.string()), ("source_id", pa.string()), ("golden_id", pa.string())]
)
_CREATED = pa.schema([("golden_id", pa.string()), ("created", pa.timestamp("us"))])


@dataclass(frozen=True)
class StoreExport:
    """The exported files (`previous`/`created` None when the store has no such rows), the
    number of live records and a digest of everything written."""

    records: Path
    ids: Path
    previous: Path | None
    created: Path | None
    count: int
    digest: str


def export_store(conn: Connection, folder: Path, batch_rows: int = BATCH_ROWS) -> StoreExport:
    """Write the store's resolve inputs under `folder` (replacing what an earlier export
    left there)."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    records, ids = folder / "records.jsonl", folder / "ids.parquet"
    count = 0
    with records.open("wb") as fh, pq.ParquetWriter(ids, _IDS) as writer:
        for batch in stream_customer_records(conn, batch_rows):
            lines = b"".join(
                orjson.dumps(record, default=str, option=orjson.OPT_SORT_KEYS) + b"\n"
                for _, record in batch
            )
            fh.write(lines)
            digest.update(lines)
            columns = {
                "source": [str(r["source"]) for _, r in batch],
                "source_id": [str(r["source_id"]) for _, r in batch],
                "record_id": [rid for rid, _ in batch],
            }
            writer.write_table(pa.table(columns, schema=_IDS))
            count += len(batch)
    x, g = crosswalk.c, golden_records.c
    previous = _rows(
        conn,
        sa.select(x.source, x.source_id, x.golden_id).order_by(x.source, x.source_id),
        folder / "previous.parquet",
        _PREVIOUS,
        digest,
        batch_rows,
    )
    created = _rows(
        conn,
        sa.select(g.golden_id, g.created_at).order_by(g.golden_id),
        folder / "created.parquet",
        _CREATED,
        digest,
        batch_rows,
        convert=lambda row: (row[0], _naive(row[1])),
    )
    return StoreExport(records, ids, previous, created, count, digest.hexdigest())


def _rows(
    conn: Connection,
    query: sa.Select[Any],
    path: Path,
    schema: pa.Schema,
    digest: Any,
    batch_rows: int,
    convert: Callable[[Sequence[Any]], Sequence[Any]] = tuple,
) -> Path | None:
    """The query's rows as Parquet at `path` (None, and no file, when there are none)."""
    path.unlink(missing_ok=True)
    result = conn.execute(query.execution_options(yield_per=batch_rows))
    writer: pq.ParquetWriter | None = None
    try:
        for rows in result.partitions():
            converted = [convert(row) for row in rows]
            digest.update(orjson.dumps(converted, default=str))
            if writer is None:
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(_table(converted, schema))
    finally:
        if writer is not None:
            writer.close()
    return path if writer is not None else None


def _table(rows: Iterable[Sequence[Any]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    return pa.table({f.name: list(c) for f, c in zip(schema, columns, strict=True)}, schema=schema)


def _naive(stamp: Any) -> Any:
    """A creation stamp as UTC without its zone (older is smaller either way)."""
    if isinstance(stamp, dt.datetime) and stamp.tzinfo is not None:
        return stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp
