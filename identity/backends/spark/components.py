"""Connected components in DataFrame operations: large-star / small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014): alternate two
rounds over the edge list until it stops changing; each round only joins an edge list with
a per-vertex minimum, so nothing but the edge list itself is ever shuffled, and the number
of rounds grows with log² of the largest component's diameter, not with its size. At the
end every vertex points at its component's smallest vertex. Each round's edges are
checkpointed (`cut`: Parquet or Spark's local checkpoint) so the plan does not grow with
the rounds.

Before the first round each partition's own edges are contracted to stars
(`local_stars`: the embedded engine's connected components on that partition's edges), so
the rounds only have to join what partitions share: at a million records two rounds or
none, instead of one per doubling of a chain's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from identity.cluster import components

__all__ = ["component_labels", "large_star", "local_stars", "small_star"]


def _undirected(edges: DataFrame) -> DataFrame:
    """Each edge once as (u, v) with u > v, self-loops dropped."""
    return (
        edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v"))
        .where(F.col("u") != F.col("v"))
        .distinct()
    )


def large_star(edges: DataFrame) -> DataFrame:
    """Every vertex's larger neighbours re-pointed at the smallest of its closed
    neighbourhood: (v, m(u)) for each neighbour v > u."""
    both = edges.select("u", "v").unionAll(
        edges.select(F.col("v").alias("u"), F.col("u").alias("v"))
    )
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    out = both.join(smallest, "u").where(F.col("v") > F.col("u"))
    return _undirected(out.select(F.col("v").alias("u"), F.col("m").alias("v")))


def small_star(edges: DataFrame) -> DataFrame:
    """Every vertex and its smaller neighbours re-pointed at the smallest of them."""
    down = _undirected(edges)  # (u, v): v < u, v among u's smaller neighbours
    smallest = down.groupBy("u").agg(F.min("v").alias("m"))
    joined = down.join(smallest, "u")
    out = joined.select(F.col("v").alias("u"), F.col("m").alias("v")).unionAll(
        smallest.select("u", F.col("m").alias("v"))
    )
    return _undirected(out)


def _stars(edges: DataFrame) -> bool:
    """Every edge (u, v) points from a leaf at a root: no root is also a leaf, and no leaf
    points at two roots. Then no round changes anything any more. One aggregation."""
    marks = edges.select(F.col("u").alias("x"), F.lit(1).alias("leaf")).unionAll(
        edges.select(F.col("v").alias("x"), F.lit(0).alias("leaf"))
    )
    per_vertex = marks.groupBy("x").agg(
        F.sum("leaf").alias("as_leaf"), F.min("leaf").alias("lowest")
    )
    # edges are distinct: a vertex that is u of two edges points at two roots
    broken = (F.col("as_leaf") > 1) | ((F.col("as_leaf") >= 1) & (F.col("lowest") == 0))
    return per_vertex.where(broken).limit(1).count() == 0


def local_stars(edges: DataFrame) -> DataFrame:
    """Each partition's edges (u, v) replaced by stars: every vertex of a component the
    partition's edges form points at that component's smallest vertex
    (`identity.cluster.components` on the partition). The graph keeps its components, and
    the rounds after start from stars that only partitions' overlaps still join."""

    def stars(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        held = list(batches)
        if not held:
            return
        table = pa.Table.from_batches(held)
        u = table.column("u").to_numpy()
        v = table.column("v").to_numpy()
        vertices, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
        labels = components(vertices.size, inverse[: u.size], inverse[u.size :])
        leaf = labels != np.arange(vertices.size)
        yield pa.RecordBatch.from_arrays(
            [pa.array(vertices[leaf], pa.int64()), pa.array(vertices[labels[leaf]], pa.int64())],
            names=["u", "v"],
        )

    typed = edges.select(F.col("u").cast("long"), F.col("v").cast("long"))
    return typed.mapInArrow(stars, "u long, v long")


def component_labels(
    edges: DataFrame,
    *,
    cut: Callable[[DataFrame, int], DataFrame] | None = None,
    max_rounds: int = 100,
) -> tuple[DataFrame, int]:
    """(vertex, label) for every vertex of `edges` (columns u, v): the smallest vertex of
    its component. Vertices in no edge are not listed (each is its own component). Also
    the rounds it took."""
    cut = cut or (lambda frame, _round: frame.localCheckpoint())
    current = cut(_undirected(local_stars(edges)), 0)
    for round_ in range(max_rounds + 1):
        if round_:
            current = cut(small_star(large_star(current)), round_)
        if _stars(current):
            # converged: a star per component, every vertex (u) pointing at its root (v)
            roots = current.select(F.col("v").alias("vertex"), F.col("v").alias("label"))
            leaves = current.select(F.col("u").alias("vertex"), F.col("v").alias("label"))
            return leaves.unionAll(roots).distinct(), round_
    raise RuntimeError(
        f"connected components did not converge in {max_rounds} rounds — a bug, please "
        "report it with the edge list"
    )
