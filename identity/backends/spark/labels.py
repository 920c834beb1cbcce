"""Clusters as a Spark DataFrame: `LocalBackend.cluster`'s labels without the pairs on
the driver.

`cluster_frame` does what `spark.cluster.cluster_on_spark` does, with the scored pairs
left in Spark: the draft components of the strong pairs, every pair inside the small
draft clusters that blocking did not propose (compared and scored by joins), the links
`identity.cluster.cluster` starts from (strong pairs, pairs the previous run kept together
down to the lower threshold, steward must-links, never a cannot-link) and their connected
components — all in Spark. Only the components `cluster` may cut (`needing_cuts`: over
`max_size` records, or holding a pair marked against or a steward's cannot-link) reach the
driver, with their own pairs in the order `cluster_on_spark` gives them; they are cut by
`identity.cluster.cluster` unchanged, on their records renumbered in order, and their
labels joined back. The review pairs (between the thresholds, across clusters) stay in
Spark.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from identity.backends.local import collector_paused
from identity.backends.spark.compare import (
    TASK_PAIRS,
    SharedTable,
    compare,
    compare_broadcast,
    compared_columns,
)
from identity.backends.spark.components import component_labels
from identity.backends.spark.score import scored_joined, scored_pairs
from identity.backends.spark.standardise import ROW
from identity.cluster import cluster
from identity.model import ModelSpec
from identity.score import Model

__all__ = ["ClusterFrames", "Links", "cluster_frame"]

_MAX_SIZE: int = inspect.signature(cluster).parameters["max_size"].default

Save = Callable[[str, DataFrame], DataFrame]
"""Materialises a stage's DataFrame (Parquet) and reads it back: a plan starts there."""


@dataclass(frozen=True, kw_only=True)
class Links:
    """The stewards' decisions by record index (few: on the driver), and per record its
    previous golden id (`previous`: rid, previous; None on a first run)."""

    must_link: Sequence[tuple[int, int]] = ()
    cannot_link: Sequence[tuple[int, int]] = ()
    previous: DataFrame | None = None


@dataclass(frozen=True, kw_only=True)
class ClusterFrames:
    """`labels`: (rid, label) for every record 0..n-1; `review`: the uncertain pairs
    (l, r, lv.., w.., total, probability); `pairs`: every pair weighed (the scored
    candidates and those added inside small clusters: l, r, .., probability);
    `cut_edges`: the links `cluster` cut (global record indexes); `cut_records`: the
    records of the components it was given."""

    labels: DataFrame
    review: DataFrame
    pairs: DataFrame
    cut_edges: list[tuple[int, int, float]]
    cut_records: int


def cluster_frame(
    spark: SparkSession,
    records: DataFrame,
    household: DataFrame | None,
    size: int,
    scored: DataFrame | None,
    model: Model,
    spec: ModelSpec,
    links: Links,
    save: Save,
    shared: SharedTable | None = None,
) -> ClusterFrames:
    """The clusters of records 0..size-1 from the scored candidates (`scored`, in Spark),
    equal to `cluster_on_spark`'s (so to the embedded backend's). With `shared` (the
    table in every worker) the pairs added inside small clusters are compared and scored
    on it; without, by joins."""
    thresholds = spec.thresholds
    width = len(model.comparisons)
    if scored is None:
        scored = _no_pairs(spark, width)
    scored = scored.withColumn("extra", F.lit(False)).withColumn("draft", F.lit(None).cast("long"))
    strong = scored.where(F.col("probability") >= thresholds.upper)
    draft = _labels(
        save, "native_draft", strong.select(F.col("l").alias("u"), F.col("r").alias("v"))
    )
    extra = _inside_small_clusters(
        spark, records, household, scored, draft, model, spec, save, shared
    )
    weighed = save("native_pairs", scored.unionByName(extra))
    pairs = _with_kept(weighed, links.previous)
    must = sorted({(min(a, b), max(a, b)) for a, b in links.must_link if a != b})
    cannot = sorted({(min(a, b), max(a, b)) for a, b in links.cannot_link if a != b})
    link = (F.col("probability") >= thresholds.upper) | (
        F.col("kept") & (F.col("probability") >= thresholds.lower)
    )
    edges = pairs.where(link).select(F.col("l").alias("u"), F.col("r").alias("v"))
    if must:
        edges = edges.unionByName(_pair_frame(spark, must, "u", "v"))
    if cannot:
        edges = edges.join(_pair_frame(spark, cannot, "u", "v"), ["u", "v"], "left_anti")
    components = _labels(save, "native_components", edges)
    needy = _needing_cuts(spark, pairs, components, cannot)
    members_frame = components.join(needy, "label").select("vertex")
    members = np.sort(members_frame.toArrow().column("vertex").to_numpy().astype(np.int64))
    cut_labels, cut_edges = _cut(spark, pairs, components, members, must, cannot, spec, width)
    labels = (
        spark.range(size)
        .select(F.col("id").alias(ROW))
        .join(components.select(F.col("vertex").alias(ROW), F.col("label").alias("c")), ROW, "left")
        .join(cut_labels, ROW, "left")
        .select(ROW, F.coalesce("cut", "c", ROW).alias("label"))
    )
    labels = save("native_labels", labels)
    on_left = labels.select(F.col(ROW).alias("l"), F.col("label").alias("label_l"))
    on_right = labels.select(F.col(ROW).alias("r"), F.col("label").alias("label_r"))
    between = (F.col("probability") >= thresholds.lower) & (F.col("probability") < thresholds.upper)
    review = (
        pairs.where(between)
        .join(on_left, "l")
        .join(on_right, "r")
        .where(F.col("label_l") != F.col("label_r"))
        .select(
            "l",
            "r",
            *(f"lv{k}" for k in range(width)),
            *(f"w{k}" for k in range(width)),
            "total",
            "probability",
        )
    )
    return ClusterFrames(
        labels=labels,
        review=save("native_review", review),
        pairs=weighed,
        cut_edges=cut_edges,
        cut_records=int(members.size),
    )


def _labels(save: Save, stage: str, edges: DataFrame) -> DataFrame:
    """(vertex, label) of the vertices in `edges`: the smallest vertex of the component."""
    found, _rounds = component_labels(edges)
    return save(stage, found)


def _inside_small_clusters(
    spark: SparkSession,
    records: DataFrame,
    household: DataFrame | None,
    scored: DataFrame,
    draft: DataFrame,
    model: Model,
    spec: ModelSpec,
    save: Save,
    shared: SharedTable | None,
) -> DataFrame:
    """Every pair inside a draft cluster of 3..`complete_clusters_up_to` records that is
    not a candidate (`_complete_clusters`), compared and scored on Spark; `draft` holds
    its draft cluster (the order `cluster_on_spark` appends them in: cluster, l, r)."""
    limit = spec.blocking.complete_clusters_up_to
    sizes = draft.groupBy("label").count()
    small = draft.join(
        sizes.where((F.col("count") >= 3) & (F.col("count") <= limit)), "label"
    ).select("vertex", "label")
    a = small.select(F.col("vertex").alias("l"), "label")
    b = small.select(F.col("vertex").alias("r"), "label")
    wanted = (
        a.join(b, "label")
        .where(F.col("l") < F.col("r"))
        .select("l", "r", F.col("label").alias("draft"))
        .join(scored.select("l", "r"), ["l", "r"], "left_anti")
    )
    wanted = save("native_wanted", wanted)
    held = spark.sparkContext.broadcast(model)
    bits = spec.thresholds.conflict_bits
    if shared is not None:
        # compared, then saved before scoring: chained in one stage, the two Python steps
        # run in two workers per task, each holding the whole table (at 5M records on
        # local[2], four workers of 5 GB); apart, the idle workers and their table serve both
        found = save(
            "native_wanted_levels",
            compare_broadcast(
                wanted.select("l", "r"), shared, spec.comparisons, batch_pairs=TASK_PAIRS
            ),
        )
        weighed = scored_pairs(found, shared, held, conflict_bits=bits, batch_pairs=TASK_PAIRS)
    else:
        levels = compare(
            records, wanted.withColumn("i", F.lit(0).cast("long")), spec.comparisons, household
        )
        columns = compared_columns(records.columns, spec.comparisons)
        weighed = scored_joined(levels.drop("i"), records, columns, held, conflict_bits=bits)
    return weighed.join(wanted, ["l", "r"]).withColumn("extra", F.lit(True)).select(*scored.columns)


def _with_kept(pairs: DataFrame, previous: DataFrame | None) -> DataFrame:
    """`kept`: the pair's records shared a golden id in the previous run."""
    if previous is None:
        return pairs.withColumn("kept", F.lit(False))
    on_left = previous.select(F.col(ROW).alias("l"), F.col("previous").alias("p_l"))
    on_right = previous.select(F.col(ROW).alias("r"), F.col("previous").alias("p_r"))
    return (
        pairs.join(on_left, "l", "left")
        .join(on_right, "r", "left")
        .withColumn("kept", F.coalesce(F.col("p_l") == F.col("p_r"), F.lit(False)))
        .drop("p_l", "p_r")
    )


def _needing_cuts(
    spark: SparkSession,
    pairs: DataFrame,
    components: DataFrame,
    cannot: list[tuple[int, int]],
) -> DataFrame:
    """(label) of the components `cluster` may cut (`spark.cluster.needing_cuts`)."""
    sizes = components.groupBy("label").count()
    found = [sizes.where(F.col("count") > _MAX_SIZE).select("label")]
    on_left = components.select(F.col("vertex").alias("l"), F.col("label").alias("label"))
    on_right = components.select(F.col("vertex").alias("r"), F.col("label").alias("label_r"))
    inside = (
        pairs.where(F.col("against"))
        .join(on_left, "l")
        .join(on_right, "r")
        .where(F.col("label") == F.col("label_r"))
    )
    found.append(inside.select("label"))
    if cannot:
        linked = (
            _pair_frame(spark, cannot, "l", "r")
            .join(on_left, "l")
            .join(on_right, "r")
            .where(F.col("label") == F.col("label_r"))
        )
        found.append(linked.select("label"))
    return reduce(DataFrame.unionByName, found).distinct()


def _cut(
    spark: SparkSession,
    pairs: DataFrame,
    components: DataFrame,
    members: np.ndarray,
    must: list[tuple[int, int]],
    cannot: list[tuple[int, int]],
    spec: ModelSpec,
    width: int,
) -> tuple[DataFrame, list[tuple[int, int, float]]]:
    """`identity.cluster.cluster` over the components that need it, on the driver: their
    pairs as `cluster_on_spark` hands them over (candidates at or above the lower
    threshold, or against inside one component, in (l, r) order; then the pairs added
    inside small clusters, by draft cluster), their records renumbered 0..m-1 in order."""
    schema = f"{ROW} long, cut long"
    if members.size == 0:
        return spark.createDataFrame([], schema), []
    thresholds = spec.thresholds
    member_frame = spark.createDataFrame(pd.DataFrame({"vertex": members}))
    labelled = components.join(member_frame, "vertex")
    on_left = labelled.select(F.col("vertex").alias("l"), F.col("label").alias("label_l"))
    on_right = labelled.select(F.col("vertex").alias("r"), F.col("label").alias("label_r"))
    inside = F.col("label_l") == F.col("label_r")
    wanted = (
        (F.col("probability") >= thresholds.lower) | F.col("extra") | (F.col("against") & inside)
    )
    pairs_wanted = (
        pairs.join(on_left, "l")
        .join(on_right, "r")
        .where(wanted)
        .select("l", "r", "probability", "against", "kept", "extra", "draft")
    )
    got: pd.DataFrame = pairs_wanted.toPandas()
    got["draft"] = got["draft"].fillna(-1).astype(np.int64)
    got = got.sort_values(["extra", "draft", "l", "r"], kind="stable")
    left = np.searchsorted(members, got["l"].to_numpy(np.int64))
    right = np.searchsorted(members, got["r"].to_numpy(np.int64))
    held = set(members.tolist())
    local = {int(v): i for i, v in enumerate(members.tolist())}
    with collector_paused():
        part = cluster(
            int(members.size),
            left,
            right,
            got["probability"].to_numpy(np.float64),
            upper=thresholds.upper,
            lower=thresholds.lower,
            must_link=[(local[a], local[b]) for a, b in must if a in held and b in held],
            cannot_link=[(local[a], local[b]) for a, b in cannot if a in held and b in held],
            against=got["against"].to_numpy(bool),
            kept=got["kept"].to_numpy(bool),
        )
    labels = members[part.labels]
    cut_edges = [(int(members[a]), int(members[b]), float(p)) for a, b, p in part.cut_edges]
    frame = spark.createDataFrame(pd.DataFrame({ROW: members, "cut": labels.astype(np.int64)}))
    return frame, cut_edges


def _pair_frame(
    spark: SparkSession, pairs: Sequence[tuple[int, int]], first: str, second: str
) -> DataFrame:
    return spark.createDataFrame(
        pd.DataFrame({first: [a for a, _ in pairs], second: [b for _, b in pairs]}, dtype=np.int64)
    )


def _no_pairs(spark: SparkSession, width: int) -> DataFrame:
    schema = ", ".join(
        [
            "l long",
            "r long",
            *(f"lv{k} byte" for k in range(width)),
            *(f"w{k} float" for k in range(width)),
            "total double",
            "probability double",
            "against boolean",
        ]
    )
    return spark.createDataFrame([], schema)
