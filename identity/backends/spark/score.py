"""Estimate and score on Spark: what EM needs of the pairs is counted there, and every
pair is weighed where its levels are.

- `pattern_table`: the candidate pairs' distinct level rows with their counts (one
  `GROUP BY` over the level columns: a few thousand rows for millions of pairs) and the
  levels of the steward-labelled pairs — `identity.score.Patterns`, all that
  `identity.score.estimate_from_patterns` needs of the pairs on the driver.
- `scored_pairs`: `identity.score.score` (with its term-frequency adjustment, which reads
  the pair's values) and `identity.backends.local.conflicting` on Arrow batches of pairs,
  the table's columns and the model broadcast to the workers — the embedded backend's own
  functions, so a pair's weights are the same numbers on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from identity.backends.local import conflicting
from identity.backends.spark.compare import SharedTable, _frame, _worker_table, level_columns
from identity.backends.spark.standardise import ROW
from identity.score import Model, Patterns, Scored, pattern_counts, score

__all__ = [
    "collected_scored",
    "pattern_table",
    "scored_joined",
    "scored_pairs",
    "weight_columns",
]


def weight_columns(width: int) -> list[str]:
    return [f"w{k}" for k in range(width)]


def pattern_table(
    spark: SparkSession,
    levels: DataFrame,
    width: int,
    labelled: dict[tuple[int, int], bool],
) -> Patterns:
    """The patterns of the pairs in `levels` (l, r, lv0..): counted in Spark; the
    `labelled` pairs (l < r -> is_match) that are candidates as rows of their own."""
    names = level_columns(width)
    counted = levels.groupBy(*names).count().toArrow()
    rows = _level_matrix(counted, names)
    counts = counted.column("count").to_numpy().astype(np.float64)
    found = np.empty((0, width), np.int8)
    labels: list[bool] = []
    if labelled:
        asked = pd.DataFrame(
            {"l": [a for a, _ in labelled], "r": [b for _, b in labelled]}, dtype=np.int64
        )
        hits = levels.join(spark.createDataFrame(asked), ["l", "r"]).toArrow()
        at = {
            (a, b): i
            for i, (a, b) in enumerate(
                zip(hits.column("l").to_pylist(), hits.column("r").to_pylist(), strict=True)
            )
        }
        present = [pair for pair in labelled if pair in at]  # the decisions' order
        if present:
            matrix = _level_matrix(hits, names)
            found = matrix[[at[pair] for pair in present]]
            labels = [labelled[pair] for pair in present]
    return pattern_counts(rows, counts, found, labels)


def scored_pairs(
    levels: DataFrame,
    table: SharedTable,
    model: Broadcast[Model],
    *,
    conflict_bits: float,
    batch_pairs: int,
) -> DataFrame:
    """(l, r, lv0.., w0.., total, probability, against) of every pair of `levels`, by
    `identity.score.score` on the broadcast table and model, `batch_pairs` pairs a call."""
    width = len(model.value.comparisons)
    names, weights = level_columns(width), weight_columns(width)
    schema = ", ".join(
        [
            "l long",
            "r long",
            *(f"{n} byte" for n in names),
            *(f"{w} float" for w in weights),
            "total double",
            "probability double",
            "against boolean",
        ]
    )

    def weighed(held: list[pa.RecordBatch]) -> pa.RecordBatch:
        batch = pa.Table.from_batches(held)
        left = batch.column("l").to_numpy().astype(np.int64, copy=False)
        right = batch.column("r").to_numpy().astype(np.int64, copy=False)
        found = score(model.value, _worker_table(table), left, right, _level_matrix(batch, names))
        against = conflicting(found, model.value, conflict_bits)
        return _scored_batch(found, against, names, weights)

    def batches(parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        held: list[pa.RecordBatch] = []
        size = 0
        for part in parts:
            held.append(part)
            size += part.num_rows
            if size >= batch_pairs:
                yield weighed(held)
                held, size = [], 0
        if held:
            yield weighed(held)

    return levels.select("l", "r", *names).mapInArrow(batches, schema)


def scored_joined(
    levels: DataFrame,
    records: DataFrame,
    columns: Sequence[str],
    model: Broadcast[Model],
    *,
    conflict_bits: float,
) -> DataFrame:
    """`scored_pairs` without the table on the driver: both records' `columns` (what
    `identity.score.score` reads: `spark.compare.compared_columns`) joined to each pair of
    `levels` (l, r, lv0..); each Arrow batch becomes a frame of its left records, then its
    right records, on which `score` and `conflicting` run unchanged (a pair's weights read
    only its own two records' values and the model's frequencies)."""
    width = len(model.value.comparisons)
    names, weights = level_columns(width), weight_columns(width)
    schema = ", ".join(
        [
            "l long",
            "r long",
            *(f"{n} byte" for n in names),
            *(f"{w} float" for w in weights),
            "total double",
            "probability double",
            "against boolean",
        ]
    )
    side = list(columns)
    left = records.select(F.col(ROW).alias("l"), *(F.col(f"`{c}`").alias(f"a_{c}") for c in side))
    right = records.select(F.col(ROW).alias("r"), *(F.col(f"`{c}`").alias(f"b_{c}") for c in side))
    joined = levels.select("l", "r", *names).join(left, "l").join(right, "r")

    def weighed(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            size = len(batch)
            frame = _frame(batch, side, ())
            found = score(
                model.value,
                frame,
                np.arange(size),
                np.arange(size, 2 * size),
                batch[names].to_numpy(np.int8).reshape(size, width),
            )
            against = conflicting(found, model.value, conflict_bits)
            out = pd.DataFrame(
                {
                    "l": batch["l"].to_numpy(np.int64),
                    "r": batch["r"].to_numpy(np.int64),
                    **{n: found.levels[:, k] for k, n in enumerate(names)},
                    **{w: found.weights[:, k] for k, w in enumerate(weights)},
                    "total": found.total,
                    "probability": found.probability,
                    "against": against,
                }
            )
            yield out

    return joined.mapInPandas(weighed, schema)


def collected_scored(frame: DataFrame, width: int, n: int) -> Scored:
    """The scored pairs of `frame` on the driver, in the candidates' order (l, then r)."""
    names, weights = level_columns(width), weight_columns(width)
    got = frame.select("l", "r", *names, *weights, "total", "probability").toArrow()
    left = got.column("l").to_numpy().astype(np.int64, copy=False)
    right = got.column("r").to_numpy().astype(np.int64, copy=False)
    order = np.argsort(left * max(n, 1) + right, kind="stable")
    level_matrix = _level_matrix(got, names)[order]
    weight_matrix = np.column_stack(
        [got.column(w).to_numpy().astype(np.float32, copy=False) for w in weights]
    ).reshape(-1, width)[order]
    return Scored(
        left=left[order],
        right=right[order],
        levels=level_matrix,
        weights=weight_matrix,
        total=got.column("total").to_numpy()[order],
        probability=got.column("probability").to_numpy()[order],
    )


def _level_matrix(table: pa.Table | pa.RecordBatch, names: Sequence[str]) -> np.ndarray:
    columns = [table.column(c).to_numpy().astype(np.int8, copy=False) for c in names]
    if not columns:
        return np.empty((table.num_rows, 0), np.int8)
    return np.column_stack(columns)


def _scored_batch(
    found: Scored, against: np.ndarray, names: Sequence[str], weights: Sequence[str]
) -> pa.RecordBatch:
    arrays: list[pa.Array] = [pa.array(found.left), pa.array(found.right)]
    arrays += [pa.array(found.levels[:, k]) for k in range(len(names))]
    arrays += [pa.array(found.weights[:, k]) for k in range(len(weights))]
    arrays += [pa.array(found.total), pa.array(found.probability), pa.array(against)]
    return pa.RecordBatch.from_arrays(
        arrays, names=["l", "r", *names, *weights, "total", "probability", "against"]
    )
