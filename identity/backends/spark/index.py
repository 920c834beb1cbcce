"""What an incremental run builds on, from a native Spark run's frames.

A store's incremental run (`identity.incremental`) needs, per record, its blocking-key
hashes and identifying-value hashes (`KeyIndex`), and the pairs that scored at least the
review threshold but ended in different clusters (`bridges_of`). The embedded run
computes both from the frame on the driver; here they are computed where the records are:

- `key_index_frame`: one `mapInArrow` pass over the standardised table calls the
  embedded `key_hashes` (on the table as blanked) and `identifying_hashes` (on the values
  before blanking) batch by batch — both are per row, so batches give what one frame gives;
- `bridge_frame`: the weighed pairs joined to their clusters' labels.

Hashes leave Spark as signed 64-bit columns holding the unsigned hashes' bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.backends.spark.backend import SparkTable
from identity.backends.spark.standardise import ROW, blanked
from identity.blocking import BlockingRule
from identity.frame import IDENTIFYING
from identity.incremental import identifying_hashes, key_hashes

__all__ = ["bridge_frame", "hash_arrays", "key_index_frame"]

_PLAIN = "__plain__"  # prefix of an identifying column's copy taken before blanking


def key_index_frame(table: SparkTable, rules: Sequence[BlockingRule]) -> DataFrame:
    """(rid, k0.., i0..): per record of `table` its key hash under each of `rules` and
    the hash of each identifying value (e-mail, phone, tax id) before blanking."""
    if table.plain is None:
        raise ValueError("key_index_frame needs the table before blanking (SparkTable.plain)")
    copies = [F.col(c).alias(_PLAIN + c) for c in IDENTIFYING]
    both = blanked(table.plain.select("*", *copies), table.shared)
    columns = [c for c in table.records.columns if c != ROW]
    held = tuple(rules)
    keys = [f"k{r}" for r in range(len(held))]
    idents = [f"i{k}" for k in range(len(IDENTIFYING))]
    schema = pa.schema([(ROW, pa.int64()), *((name, pa.int64()) for name in (*keys, *idents))])

    def hashed(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            part = pa.Table.from_batches([batch])
            frame = part.drop_columns([ROW]).to_pandas(split_blocks=True)
            key = key_hashes(frame[columns], held).view(np.int64)
            before = frame[[_PLAIN + c for c in IDENTIFYING]]
            ident = identifying_hashes(before.set_axis(list(IDENTIFYING), axis=1))
            arrays = [part.column(ROW).combine_chunks()]
            arrays += [pa.array(key[:, r]) for r in range(len(keys))]
            arrays += [pa.array(ident.view(np.int64)[:, k]) for k in range(len(idents))]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return both.mapInArrow(hashed, ", ".join(f"{f.name} long" for f in schema))


def hash_arrays(frame: pa.Table, rules: int) -> tuple[np.ndarray, np.ndarray]:
    """`key_index_frame`'s key and identifying hashes (as collected) as the uint64 arrays
    `KeyIndex` holds: (n x rules) and (n x identifying columns)."""
    n = frame.num_rows

    def stacked(names: Sequence[str]) -> np.ndarray:
        out = np.zeros((n, len(names)), dtype=np.int64)
        for j, name in enumerate(names):
            out[:, j] = frame.column(name).to_numpy()
        return out.view(np.uint64)

    keys = stacked([f"k{r}" for r in range(rules)])
    ident = stacked([f"i{k}" for k in range(len(IDENTIFYING))])
    return keys, ident


def bridge_frame(pairs: DataFrame, labels: DataFrame, lower: float) -> DataFrame:
    """(l, r): the weighed `pairs` scoring at least `lower` whose records ended in
    different clusters of `labels` (rid, label) — `identity.incremental.bridges_of`."""
    on_left = labels.select(F.col(ROW).alias("l"), F.col("label").alias("_label_l"))
    on_right = labels.select(F.col(ROW).alias("r"), F.col("label").alias("_label_r"))
    return (
        pairs.where(F.col("probability") >= lower)
        .select("l", "r")
        .join(on_left, "l")
        .join(on_right, "r")
        .where(F.col("_label_l") != F.col("_label_r"))
        .select("l", "r")
    )
