"""Stable golden ids as joins: `identity.ids.assign_ids` on DataFrames.

The same rules, table against table (the previous crosswalk read as a table, never a
dict on the driver):
- each old id stays with the cluster holding most of its members (tie: the cluster part
  with the smallest key), a window per old id;
- a cluster claiming several old ids keeps the oldest (`created`, else string order) and
  the others are merged into it (a `merge` event, a `retired` one per absorbed id);
- a cluster claiming none gets `golden_id_for(its smallest key)`, the SHA-256 computed by
  Spark; only the clusters whose id is already taken (or shared, or that could take one
  another's alternative) come to the driver, where `golden_id_for`'s `attempt` loop runs
  in the order `assign_ids` runs it — astronomically rare, so a handful of rows;
- old ids whose members went elsewhere give `split` events, old ids no record carries
  any more `retired` ones.

`assign_ids_on_spark(members, previous, created)` returns the crosswalk (rid, source,
source_id, golden_id) and the events (kind, golden_id, related, members) as DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from identity.ids import golden_id_for

__all__ = ["IdFrames", "assign_ids_on_spark", "events_in_order"]

_KIND_ORDER = {"new": 0, "merge": 1, "split": 2, "retired": 3}
_KEY = "struct<source:string,source_id:string>"


@dataclass(frozen=True, kw_only=True)
class IdFrames:
    """`crosswalk`: (rid, source, source_id, golden_id) per record; `events`: (kind,
    golden_id, related: array<string>, members: array<struct<source, source_id>>), each
    array sorted as `identity.ids.IdEvent` holds it; `collisions`: clusters whose first
    id was taken and that the driver gave another."""

    crosswalk: DataFrame
    events: DataFrame
    collisions: int


def _key() -> Column:
    return F.struct(
        F.col("source").cast("string").alias("source"),
        F.col("source_id").cast("string").alias("source_id"),
    )


def _first_id(source: Column, source_id: Column) -> Column:
    """`golden_id_for` of a cluster whose smallest key is (source, source_id), attempt 0."""
    text = F.concat(source, F.lit("\x1f"), source_id)
    return F.concat(F.lit("G"), F.substring(F.sha2(text, 256), 1, 16))


def assign_ids_on_spark(
    spark: SparkSession,
    members: DataFrame,
    previous: DataFrame | None,
    created: DataFrame | None = None,
) -> IdFrames:
    """Golden ids for `members` (rid, source, source_id, label) given the previous
    crosswalk (source, source_id, golden_id) and the old ids' creation order (golden_id,
    created: older is smaller): `identity.ids.assign_ids`, as joins."""
    if previous is None:
        previous = spark.createDataFrame([], "source string, source_id string, golden_id string")
    members = members.select("rid", "source", "source_id", "label")
    keyed = members.withColumn("key", _key())
    clusters = keyed.groupBy("label").agg(
        F.min("key").alias("first"), F.array_sort(F.collect_list("key")).alias("members")
    )
    old = previous.select("source", "source_id", F.col("golden_id").alias("old"))
    carriers = keyed.join(old, ["source", "source_id"])  # rid, source, source_id, label, key, old
    parts = carriers.groupBy("old", "label").agg(
        F.count(F.lit(1)).alias("size"), F.min("key").alias("first_key")
    )
    by_old = Window.partitionBy("old").orderBy(F.col("size").desc(), F.col("first_key"))
    holder = (
        parts.withColumn("_n", F.row_number().over(by_old))
        .where(F.col("_n") == 1)
        .select("old", F.col("label").alias("home"))
    )
    claims = holder.select("old", F.col("home").alias("label"))
    if created is not None:
        claims = claims.join(
            created.select(F.col("golden_id").alias("old"), "created"), "old", "left"
        )
        age = [F.col("created").isNull(), F.col("created"), F.col("old")]
    else:
        age = [F.col("old")]
    by_age = Window.partitionBy("label").orderBy(*age)
    ranked = claims.withColumn("_n", F.row_number().over(by_age))
    kept = ranked.where(F.col("_n") == 1).select("label", F.col("old").alias("kept"))
    absorbed = ranked.where(F.col("_n") > 1).select("label", "old")

    unclaimed = clusters.join(kept, "label", "left_anti").withColumn(
        "new", _first_id(F.col("first.source"), F.col("first.source_id"))
    )
    taken = previous.select(F.col("golden_id").alias("id"))
    if created is not None:
        taken = taken.unionByName(created.select(F.col("golden_id").alias("id")))
    taken = taken.distinct()
    renamed, collisions = _collisions(spark, unclaimed, taken)
    if renamed is not None:
        unclaimed = (
            unclaimed.join(renamed, "label", "left")
            .withColumn("new", F.coalesce("renamed", "new"))
            .drop("renamed")
        )
    ids = kept.select("label", F.col("kept").alias("golden_id")).unionByName(
        unclaimed.select("label", F.col("new").alias("golden_id"))
    )
    crosswalk = members.join(ids, "label").select("rid", "source", "source_id", "golden_id")

    had = (
        previous.withColumn("key", _key())
        .groupBy(F.col("golden_id").alias("old"))
        .agg(F.array_sort(F.collect_list("key")).alias("had"))
    )
    empty = F.array().cast("array<string>")
    events = [
        unclaimed.select(
            F.lit("new").alias("kind"),
            F.col("new").alias("golden_id"),
            empty.alias("related"),
            "members",
        )
    ]
    merged = absorbed.groupBy("label").agg(F.array_sort(F.collect_list("old")).alias("related"))
    events.append(
        merged.join(kept, "label")
        .join(clusters, "label")
        .select(
            F.lit("merge").alias("kind"), F.col("kept").alias("golden_id"), "related", "members"
        )
    )
    events.append(
        absorbed.join(kept, "label")
        .join(had, "old")
        .select(
            F.lit("retired").alias("kind"),
            F.col("old").alias("golden_id"),
            F.array("kept").alias("related"),
            F.col("had").alias("members"),
        )
    )
    moved = carriers.join(holder, "old").where(F.col("label") != F.col("home"))
    events.append(
        moved.join(ids, "label")
        .groupBy("old")
        .agg(
            F.array_sort(F.collect_set("golden_id")).alias("related"),
            F.array_sort(F.collect_list("key")).alias("members"),
        )
        .select(F.lit("split").alias("kind"), F.col("old").alias("golden_id"), "related", "members")
    )
    gone = had.join(carriers.select("old").distinct(), "old", "left_anti")
    events.append(
        gone.select(
            F.lit("retired").alias("kind"),
            F.col("old").alias("golden_id"),
            empty.alias("related"),
            F.col("had").alias("members"),
        )
    )
    found = reduce(DataFrame.unionByName, events).select(
        "kind",
        "golden_id",
        "related",
        F.col("members").cast(f"array<{_KEY}>").alias("members"),
    )
    return IdFrames(crosswalk=crosswalk, events=found, collisions=collisions)


def events_in_order(events: DataFrame) -> DataFrame:
    """The events in `assign_ids`' order: kind (new, merge, split, retired), golden id,
    related ids, members."""
    order = F.create_map(*(x for k, v in _KIND_ORDER.items() for x in (F.lit(k), F.lit(v))))
    return events.orderBy(order[F.col("kind")], "golden_id", "related", "members")


def _collisions(
    spark: SparkSession, unclaimed: DataFrame, taken: DataFrame
) -> tuple[DataFrame | None, int]:
    """(label, renamed) for the clusters whose first id is not theirs to take, and their
    number. `assign_ids` walks the new clusters in the order of their smallest keys, each
    taking the first of `golden_id_for(key, 0), (key, 1), …` not yet taken (by the
    previous ids, the created ids or a cluster before it). A cluster takes its first id
    unless that id is taken, shared with another cluster, or one of a suspect cluster's
    alternatives: those clusters (the suspects, grown until no other cluster's first id
    is among their alternatives) are walked on the driver, in that order."""
    firsts = unclaimed.select("label", "first", "new")
    shared = firsts.groupBy("new").count().where(F.col("count") > 1).select("new")
    blocked = firsts.join(taken.select(F.col("id").alias("new")), "new", "left_semi")
    suspects = _rows(blocked.unionByName(firsts.join(shared, "new", "left_semi")).distinct())
    if not suspects:
        return None, 0
    attempts = 4
    while True:
        alternatives = {
            golden_id_for([key], attempt)
            for _, key in suspects.items()
            for attempt in range(attempts)
        }
        asked = spark.createDataFrame(pd.DataFrame({"new": sorted(alternatives)}))
        more = _rows(firsts.join(asked, "new", "left_semi"))
        grown = {**suspects, **more}
        hit = {
            row.new
            for row in taken.select(F.col("id").alias("new"))
            .join(asked, "new", "left_semi")
            .collect()
        }
        if len(grown) != len(suspects):
            suspects = grown
            continue
        chosen: dict[object, str] = {}
        used = set(hit)
        exhausted = False
        for label, key in sorted(suspects.items(), key=lambda item: item[1]):
            attempt = 0
            while (new_id := golden_id_for([key], attempt)) in used:
                attempt += 1
            if attempt >= attempts:
                exhausted = True
                break
            used.add(new_id)
            chosen[label] = new_id
        if exhausted:
            attempts *= 2
            continue
        renamed = spark.createDataFrame(
            pd.DataFrame({"label": list(chosen), "renamed": list(chosen.values())}),
            "label long, renamed string",
        )
        return renamed, len(chosen)


def _rows(frame: DataFrame) -> dict[object, tuple[str, str]]:
    """label -> smallest key of the clusters in `frame` (few rows)."""
    return {row.label: (row.first.source, row.first.source_id) for row in frame.collect()}
