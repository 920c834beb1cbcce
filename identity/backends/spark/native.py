"""The whole batch run on Spark, to the end: the driver's memory does not grow with the
records.

`run_on_spark` is `identity.resolve.run` for records Spark read (`SparkRecords`) with
the record table kept in Spark (`SparkBackend`, more records than `driver_records`):
standardise, block, compare, estimate and score as `SparkBackend` runs them, then
- clusters as a DataFrame (`spark.labels.cluster_frame`: components in Spark, only the
  components that need cutting cut on the driver);
- stable ids as joins against the previous crosswalk read as a table
  (`spark.ids.assign_ids_on_spark`);
- golden records built on the executors (`spark.golden.golden_frame`);
- the review pairs kept in Spark.
What reaches the driver: the model and its pattern counts, the steward links' records,
the components being cut with their pairs, the colliding new ids (if any), and counts.
The results are DataFrames; `hub.resolve.batch` writes the batch contract's files from
them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.backends import Decisions
from identity.backends.spark.backend import SparkBackend, SparkTable
from identity.backends.spark.golden import Render, golden_frame, json_line
from identity.backends.spark.ids import assign_ids_on_spark
from identity.backends.spark.labels import Links, cluster_frame
from identity.backends.spark.records import SparkRecords
from identity.backends.spark.standardise import ROW
from identity.blocking import BlockingReport
from identity.model import ModelSpec
from identity.score import Model
from identity.survivorship import Override

__all__ = ["NativeResolution", "SparkHistory", "run_on_spark"]

Key = tuple[str, str]


@dataclass(frozen=True, kw_only=True)
class SparkHistory:
    """What a run builds on, as tables: the previous crosswalk (source, source_id,
    golden_id), the old ids' creation order (golden_id, created; older is smaller), the
    stewards' links (few: by key) and their per-golden-record field overrides."""

    previous: DataFrame | None = None
    created: DataFrame | None = None
    must_link: Sequence[tuple[Key, Key]] = ()
    cannot_link: Sequence[tuple[Key, Key]] = ()
    overrides: Mapping[str, Mapping[str, Override]] | None = None


@dataclass(kw_only=True)
class NativeResolution:
    """Everything one run decided, in Spark: `crosswalk` (rid, source, source_id,
    golden_id), `labels` (rid, label), `events` (kind, golden_id, related, members),
    `golden` (golden_id, line; None without golden records), `review` (left_source,
    left_source_id, right_source, right_source_id, l, r, lv.., w.., total,
    probability), `pairs` (every pair weighed: l, r, .., probability) and the standardised
    `table`; on the driver the model, the blocking report, the counts and the links
    the cut removed. The DataFrames are read from Parquet under `backend`'s run (or
    scratch) directory: they stay readable as long as this object lives."""

    crosswalk: DataFrame
    labels: DataFrame
    events: DataFrame
    golden: DataFrame | None
    review: DataFrame
    pairs: DataFrame
    table: SparkTable
    model: Model
    blocking: BlockingReport
    stats: dict[str, int]
    cut_edges: list[tuple[int, int, float]]
    backend: SparkBackend  # holds the scratch directory the DataFrames are read from
    times: dict[str, float] = field(default_factory=dict)


def run_on_spark(
    records: SparkRecords,
    spec: ModelSpec,
    *,
    backend: SparkBackend,
    history: SparkHistory | None = None,
    progress: Callable[[str], None] | None = None,
    build_golden: bool = True,
    render: Render = json_line,
) -> NativeResolution:
    """Run the model `spec` over `records` on `backend`, every per-record result left in
    Spark (see the module's docstring). The table must be one `backend` keeps in Spark:
    more records than its `driver_records`."""
    history = history or SparkHistory()
    step = progress or (lambda _msg: None)
    spark = backend.spark
    times: dict[str, float] = {}
    started = time.monotonic()

    def lap(name: str) -> None:
        nonlocal started
        now = time.monotonic()
        times[name] = round(now - started, 2)
        started = now

    prefix = _history_prefix(history)

    def stage(name: str, compute: Callable[[], DataFrame]) -> DataFrame:
        """A stage after scoring, checkpointed as the earlier ones are: a run over the
        same input, model and history in the same run directory reads it back."""
        return backend.checkpoints.frame(spark, prefix + name, compute)

    def save(name: str, frame: DataFrame) -> DataFrame:
        return stage(name, lambda: frame)

    def finished(*names: str) -> bool:
        return all(backend.checkpoints.done(prefix + name) for name in names)

    keys = records.key_frame
    step("standardising")
    table = backend.standardise(records, spec)
    if not isinstance(table, SparkTable) or table.collected:
        raise ValueError(
            f"run_on_spark: {len(records):,} records are within driver_records "
            f"({backend.driver_records:,}), so the table was collected — use "
            "identity.resolve.run, or SparkBackend(driver_records=...) below the input size"
        )
    lap("standardise")
    step("blocking")
    pairs = backend.block(table, spec)
    lap("block")
    step(f"comparing {pairs.count():,} candidate pairs")
    levels = backend.compare(table, pairs, spec)
    lap("compare")
    index = _steward_index(backend, keys, history)
    decisions = Decisions(
        must_link=_by_index(history.must_link, index),
        cannot_link=_by_index(history.cannot_link, index),
    )
    step("estimating the model (EM, no labels needed)")
    model = backend.estimate(table, pairs, levels, spec, decisions)
    lap("estimate")
    step("scoring")
    scored = backend.scored_frame(model, table, levels)
    lap("score")
    step("clustering")
    previous = None
    if (before := history.previous) is not None:
        previous = stage(
            "native_previous",
            lambda: keys.join(before, ["source", "source_id"]).select(
                ROW, F.col("golden_id").alias("previous")
            ),
        )
    links = Links(
        must_link=decisions.must_link, cannot_link=decisions.cannot_link, previous=previous
    )
    if finished(
        "native_labels", "native_review", "native_pairs", "native_cut"
    ):  # resumed: read back
        labels = stage("native_labels", _unreachable)
        review_pairs = stage("native_review", _unreachable)
        weighed = stage("native_pairs", _unreachable)
        cut_edges = backend.checkpoints.value(prefix + "native_cut", _unreachable)
    else:
        clusters = cluster_frame(
            spark,
            table.records,
            table.household,
            table.size,
            scored,
            model,
            spec,
            links,
            save,
            shared=backend.worker_table(table, spec),
        )
        labels, review_pairs, weighed = clusters.labels, clusters.review, clusters.pairs
        cut_edges = backend.checkpoints.value(prefix + "native_cut", lambda: clusters.cut_edges)
    lap("cluster")
    step("assigning golden ids")
    if finished("native_crosswalk", "native_events"):
        crosswalk = stage("native_crosswalk", _unreachable)
        events = stage("native_events", _unreachable)
    else:
        ids = assign_ids_on_spark(spark, keys.join(labels, ROW), history.previous, history.created)
        crosswalk = save("native_crosswalk", ids.crosswalk)
        events = save("native_events", ids.events)
    lap("ids")
    golden = None
    if build_golden:
        step("golden records")
        how = f"{render.__module__}.{render.__qualname__}"  # part of what the stage is of
        golden = stage(
            "native_golden_" + hashlib.sha256(how.encode()).hexdigest()[:8],
            lambda: golden_frame(
                records.frame, crosswalk, spec, overrides=history.overrides, render=render
            ),
        )
        lap("survive")
    left = keys.select(
        F.col(ROW).alias("l"),
        F.col("source").alias("left_source"),
        F.col("source_id").alias("left_source_id"),
    )
    right = keys.select(
        F.col(ROW).alias("r"),
        F.col("source").alias("right_source"),
        F.col("source_id").alias("right_source_id"),
    )
    review = stage(
        "native_review_keys",
        lambda: (
            review_pairs.join(left, "l")
            .join(right, "r")
            .select(
                "left_source",
                "left_source_id",
                "right_source",
                "right_source_id",
                *review_pairs.columns,
            )
        ),
    )
    n = table.size
    golden_ids = int(crosswalk.select("golden_id").distinct().count())
    stats = dict(table.stats)
    stats.update(
        records=n,
        candidate_pairs=pairs.count(),
        golden_records=golden_ids,
        merged_records=int(n - golden_ids),
        review_pairs=int(review.count()),
        split_links=len(cut_edges),
    )
    lap("counts")
    return NativeResolution(
        crosswalk=crosswalk,
        labels=labels,
        events=events,
        golden=golden,
        review=review,
        pairs=weighed,
        table=table,
        model=model,
        blocking=pairs.report,
        stats=stats,
        cut_edges=cut_edges,
        backend=backend,
        times=times,
    )


def _unreachable() -> Any:
    raise AssertionError("a finished stage is read back, never computed")


def _history_prefix(history: SparkHistory) -> str:
    """What the stages after scoring are named by besides the input, the model and the
    stewards' links (the backend's checkpoint scope, set when the model is fitted): the
    rest of the history (empty: no prefix; else a digest of the overrides and an
    order-free hash of the previous crosswalk and creation order, one pass each)."""
    parts: list[object] = [
        sorted((g, sorted(f.items())) for g, f in (history.overrides or {}).items()),
    ]
    for frame in (history.previous, history.created):
        if frame is None:
            parts.append(None)
            continue
        row = frame.select(
            F.count(F.lit(1)).alias("n"),
            F.sum(F.pmod(F.xxhash64(*frame.columns), F.lit(2**31))).alias("h"),
        ).collect()[0]
        parts.append((int(row["n"]), None if row["h"] is None else int(row["h"])))
    if parts == [[], None, None]:
        return ""
    return "h" + hashlib.sha256(repr(parts).encode()).hexdigest()[:12] + "_"


def _steward_index(backend: SparkBackend, keys: DataFrame, history: SparkHistory) -> dict[Key, int]:
    """The record index of every key a steward's link names (few: looked up by a join)."""
    wanted = {k for pair in (*history.must_link, *history.cannot_link) for k in pair}
    if not wanted:
        return {}
    asked = backend.spark.createDataFrame(
        pd.DataFrame(sorted(wanted), columns=["source", "source_id"]),
        "source string, source_id string",
    )
    found = keys.join(asked, ["source", "source_id"]).collect()
    return {(row.source, row.source_id): int(row[ROW]) for row in found}


def _by_index(pairs: Sequence[tuple[Key, Key]], index: Mapping[Key, int]) -> list[tuple[int, int]]:
    return [(index[a], index[b]) for a, b in pairs if a in index and b in index]
