"""Connected components by large-star/small-star on Spark, against networkx."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from identity.backends.spark import component_labels
from identity.backends.spark.components import local_stars


def spark_labels(spark: SparkSession, n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Per vertex 0..n-1 its component's smallest vertex, by component_labels."""
    labels = list(range(n))
    if edges:
        frame = spark.createDataFrame(edges, "u long, v long")
        found, _rounds = component_labels(frame)
        for row in found.collect():
            labels[row["vertex"]] = row["label"]
    return labels


def networkx_labels(n: int, edges: list[tuple[int, int]]) -> list[int]:
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    labels = list(range(n))
    for component in nx.connected_components(graph):
        for v in component:
            labels[v] = min(component)
    return labels


@st.composite
def graph(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]]]:
    """A random graph with isolated vertices, self-loops, repeated edges and a long chain
    through shuffled vertices (the worst case for the number of rounds)."""
    n = draw(st.integers(1, 40))
    vertex = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(vertex, vertex), max_size=n))
    chain = draw(st.permutations(range(n)))[: draw(st.integers(0, n))]
    edges += list(itertools.pairwise(chain))
    return n, edges


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(graph(), min_size=1, max_size=6))
def test_components_equal_networkx_on_random_graphs(
    spark: SparkSession, graphs: list[tuple[int, list[tuple[int, int]]]]
) -> None:
    # several graphs per Spark run, side by side as one graph (vertices offset): the
    # components of a disjoint union are each graph's, and one run costs one set of jobs
    edges: list[tuple[int, int]] = []
    offset = 0
    for size, own in graphs:
        edges += [(a + offset, b + offset) for a, b in own]
        offset += size
    n = offset
    assert spark_labels(spark, n, edges) == networkx_labels(n, edges)


def test_a_long_chain_in_random_order_is_one_component(spark: SparkSession) -> None:
    order = list(range(2_000))
    random.Random(5).shuffle(order)
    edges = list(itertools.pairwise(order))
    frame = spark.createDataFrame(edges, "u long, v long")
    found, rounds = component_labels(frame)
    labels = {row["vertex"]: row["label"] for row in found.collect()}
    assert labels == dict.fromkeys(range(2_000), 0)
    assert rounds < 40  # a few rounds per doubling of the diameter, not one per vertex


def test_isolated_vertices_are_not_listed(spark: SparkSession) -> None:
    # vertex 3 has only a self-loop: it is in no edge, its own component
    labels = spark_labels(spark, 5, [(1, 0), (3, 3)])
    assert labels == [0, 0, 2, 3, 4]
    assert np.array_equal(labels, networkx_labels(5, [(1, 0), (3, 3)]))


def test_a_chain_split_over_partitions_still_needs_and_gets_the_rounds(
    spark: SparkSession,
) -> None:
    order = list(range(3_000))
    random.Random(9).shuffle(order)
    edges = list(itertools.pairwise(order))
    # every partition holds pieces of the chain: its local stars leave the pieces to join
    frame = spark.createDataFrame(edges, "u long, v long").repartition(8, "u")
    contracted = local_stars(frame).collect()
    assert all(row["u"] > row["v"] for row in contracted)  # each leaf points at a smaller root
    assert 0 < len(contracted) <= len(edges)
    found, rounds = component_labels(frame)
    assert rounds >= 1
    assert {row["vertex"]: row["label"] for row in found.collect()} == dict.fromkeys(
        range(3_000), 0
    )


def test_edges_in_one_partition_are_stars_before_any_round(spark: SparkSession) -> None:
    edges = [(5, 4), (4, 9), (9, 1), (2, 3), (7, 7)]
    frame = spark.createDataFrame(edges, "u long, v long").coalesce(1)
    found, rounds = component_labels(frame)
    assert rounds == 0
    labels = spark_labels(spark, 10, edges)
    assert labels == networkx_labels(10, edges)
    assert sorted((r["vertex"], r["label"]) for r in found.collect()) == [
        (1, 1),
        (2, 2),
        (3, 2),
        (4, 1),
        (5, 1),
        (9, 1),
    ]
