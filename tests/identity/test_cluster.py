"""Clustering: thresholds, no chaining, steward constraints — and invariants by hypothesis."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.cluster import cluster, components


def arrays(pairs: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    left = np.array([a for a, _, _ in pairs], dtype=np.int64)
    right = np.array([b for _, b, _ in pairs], dtype=np.int64)
    prob = np.array([p for _, _, p in pairs], dtype=np.float64)
    return left, right, prob


def groups(labels: np.ndarray) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        out.setdefault(int(label), set()).add(i)
    return {frozenset(g) for g in out.values()}


CASES = [
    ("strong pair merges", 2, [(0, 1, 0.99)], {frozenset({0, 1})}),
    ("uncertain pair stays apart", 2, [(0, 1, 0.8)], {frozenset({0}), frozenset({1})}),
    ("transitive merge", 3, [(0, 1, 0.99), (1, 2, 0.98), (0, 2, 0.97)], {frozenset({0, 1, 2})}),
    (
        "weak bridge between two people is cut",
        4,
        [(0, 1, 0.999), (2, 3, 0.999), (1, 2, 0.96), (0, 3, 0.01), (0, 2, 0.02)],
        {frozenset({0, 1}), frozenset({2, 3})},
    ),
    (
        "household: shared phone links, different names disagree",
        3,
        [(0, 1, 0.96), (1, 2, 0.97), (0, 2, 0.05)],
        {frozenset({0}), frozenset({1, 2})},
    ),
]


def test_labelled_cases() -> None:
    for name, n, pairs, expected in CASES:
        left, right, prob = arrays(pairs)
        assert groups(cluster(n, left, right, prob).labels) == expected, name


def test_review_holds_uncertain_pairs_across_clusters() -> None:
    left, right, prob = arrays([(0, 1, 0.8), (1, 2, 0.99)])
    result = cluster(3, left, right, prob)
    assert result.review.tolist() == [0]


def test_steward_constraints_win_over_scores() -> None:
    left, right, prob = arrays([(0, 1, 0.99), (2, 3, 0.1)])
    result = cluster(4, left, right, prob, must_link=[(2, 3)], cannot_link=[(0, 1)])
    assert groups(result.labels) == {frozenset({0}), frozenset({1}), frozenset({2, 3})}


def test_only_pairs_marked_against_split_a_cluster() -> None:
    # web sign-up (0) and ERP customer (2) share nothing directly (0.3) but both are their
    # billing record (1): little evidence between them is no evidence that they differ
    left, right, prob = arrays([(0, 1, 0.99), (1, 2, 0.999), (0, 2, 0.3)])
    assert groups(cluster(3, left, right, prob).labels) == {frozenset({0}), frozenset({1, 2})}
    nothing_against = np.zeros(3, dtype=bool)
    together = cluster(3, left, right, prob, against=nothing_against)
    assert groups(together.labels) == {frozenset({0, 1, 2})}
    against = np.array([False, False, True])
    apart = cluster(3, left, right, prob, against=against)
    assert groups(apart.labels) == {frozenset({0}), frozenset({1, 2})}


def test_pairs_together_before_stay_linked_down_to_the_lower_threshold() -> None:
    left, right, prob = arrays([(0, 1, 0.949), (1, 2, 0.6)])
    kept = np.array([True, True])
    assert groups(cluster(3, left, right, prob).labels) == {
        frozenset({0}),
        frozenset({1}),
        frozenset({2}),
    }
    again = cluster(3, left, right, prob, kept=kept)
    assert groups(again.labels) == {frozenset({0, 1}), frozenset({2})}  # 0.6 < lower: apart
    conflict = cluster(3, left, right, prob, kept=kept, against=np.array([True, False]))
    assert groups(conflict.labels) == {frozenset({0}), frozenset({1}), frozenset({2})}


def test_cannot_link_cuts_a_chain_at_its_weakest_link() -> None:
    left, right, prob = arrays([(0, 1, 0.99), (1, 2, 0.96), (2, 3, 0.99)])
    result = cluster(4, left, right, prob, cannot_link=[(0, 3)])
    assert groups(result.labels) == {frozenset({0, 1}), frozenset({2, 3})}
    assert result.cut_edges == [(1, 2, 0.96)]


edge_lists = st.lists(
    st.tuples(st.integers(0, 14), st.integers(0, 14), st.floats(0, 1)), max_size=40
).map(lambda es: [(a, b, p) for a, b, p in es if a != b])


@settings(max_examples=150, deadline=None)
@given(edge_lists, st.randoms())
def test_input_order_does_not_change_clusters(edges: list, rnd: object) -> None:
    shuffled = list(edges)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a = cluster(15, *arrays(edges)) if edges else None
    b = cluster(15, *arrays(shuffled)) if edges else None
    if a is not None and b is not None:
        assert groups(a.labels) == groups(b.labels)


@settings(max_examples=150, deadline=None)
@given(
    edge_lists,
    st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), max_size=5),
    st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), max_size=5),
)
def test_constraints_are_always_honoured(edges: list, must: list, cannot: list) -> None:
    must = [(a, b) for a, b in must if a != b]
    cannot = [(a, b) for a, b in cannot if a != b]
    must_graph = nx.Graph(must)
    cannot = [  # drop contradictory demands (a must-link path joins them): stewards resolve those
        (a, b)
        for a, b in cannot
        if not (must_graph.has_node(a) and must_graph.has_node(b) and nx.has_path(must_graph, a, b))
    ]
    labels = cluster(15, *arrays(edges or [(0, 1, 0.0)]), must_link=must, cannot_link=cannot).labels
    for a, b in must:
        assert labels[a] == labels[b]
    for a, b in cannot:
        assert labels[a] != labels[b]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.data())
def test_components_match_networkx_on_random_graphs(n: int, data: st.DataObject) -> None:
    edges = data.draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80)
    )
    left = np.array([a for a, _ in edges], dtype=np.int64)
    right = np.array([b for _, b in edges], dtype=np.int64)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    expected = {frozenset(c) for c in nx.connected_components(graph)}
    assert groups(components(n, left, right)) == expected


def _networkx_separate(
    n: int, edges: list[tuple[int, int, float]], conflicts: list[tuple[int, int]]
) -> tuple[set[frozenset[int]], list[tuple[int, int, float]]]:
    """The reference: networkx's minimum cut between each conflicting pair, in order."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for a, b, p in edges:
        if not graph.has_edge(a, b) or graph.edges[a, b]["p"] < p:
            graph.add_edge(a, b, p=p, capacity=p)
    cut = []
    for a, b in sorted(conflicts):
        if not nx.has_path(graph, a, b):
            continue
        _, (side, _other) = nx.minimum_cut(graph, a, b)
        for u, v in list(graph.edges()):
            if (u in side) != (v in side):
                cut.append((min(u, v), max(u, v), graph.edges[u, v]["p"]))
                graph.remove_edge(u, v)
    return {frozenset(c) for c in nx.connected_components(graph)}, sorted(cut)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 11),
            st.integers(0, 11),
            st.sampled_from([0.951, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999]),
        ),
        max_size=40,
    ),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), min_size=1, max_size=4),
)
def test_minimum_cuts_match_networkx(edges: list, against: list) -> None:
    """The exact max-flow cut separates the same records as networkx's minimum_cut."""
    edges = [(min(a, b), max(a, b), p) for a, b, p in edges if a != b]
    against = [(min(a, b), max(a, b)) for a, b in against if a != b]
    if not edges or not against:
        return
    left, right, prob = arrays(edges)
    result = cluster(12, left, right, prob, max_size=1000, cannot_link=against)
    linked = [(a, b, p) for a, b, p in edges if (min(a, b), max(a, b)) not in set(against)]
    labels = cluster(12, *arrays(linked or [(0, 1, 0.0)]), max_size=1000).labels
    conflicts = [(a, b) for a, b in set(against) if labels[a] == labels[b]]
    expected_groups, expected_cut = _networkx_separate(12, linked, conflicts)
    assert groups(result.labels) == expected_groups
    assert result.cut_edges == expected_cut
