"""Connected components in DataFrame operations: large-star / small-star.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014): alternate two
rounds over the edge list until it stops changing; each round only joins an edge list with
a per-vertex minimum, so nothing but the edge list itself is ever shuffled, and the number
of rounds grows with log² of the largest component's diameter, not with its size. At the
end every vertex points at its component's smallest vertex. Each round's edges are
checkpointed (`cut`: Parquet or Spark's local checkpoint) so the plan does not grow with
the rounds.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

__all__ = ["component_labels", "large_star", "small_star"]


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
    points at two roots. Then no round changes anything any more."""
    per_leaf = edges.groupBy("u").agg(F.count(F.lit(1)).alias("roots"))
    roots = edges.select(F.col("v").alias("u")).distinct()
    flags = per_leaf.join(roots, "u", "left_semi").count()
    return flags == 0 and per_leaf.where(F.col("roots") > 1).limit(1).count() == 0


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
    current = cut(_undirected(edges), 0)
    for round_ in range(1, max_rounds + 1):
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
