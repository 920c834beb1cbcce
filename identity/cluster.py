"""Cluster: from scored pairs to entities, without chaining, honouring steward constraints.

Pairs at or above the upper threshold are linked (steward must-links always are); records
linked directly or through others form a cluster. A cluster must not hold records that the
evidence says are different people: when two of its members scored below the lower
threshold (or a steward said "not a match"), the cluster is cut at its weakest links until
they are apart — so one weak link cannot chain two people together. Pairs between the
thresholds that end up in different clusters go to steward review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Clustering", "cluster", "components"]


@dataclass(frozen=True)
class Clustering:
    """A cluster label per record (the smallest record index of its cluster) and what was cut."""

    labels: np.ndarray
    cut_edges: list[tuple[int, int, float]]  # links removed to separate conflicting records
    review: np.ndarray  # indexes into the scored pairs: uncertain pairs across clusters


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components; each record labelled by the smallest index in its component."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    _, raw = connected_components(graph, directed=False)
    smallest = np.full(raw.max() + 1, n, dtype=np.int64)
    np.minimum.at(smallest, raw, np.arange(n))
    result: np.ndarray = smallest[raw]
    return result


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    *,
    upper: float = 0.95,
    lower: float = 0.70,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    max_size: int = 60,
) -> Clustering:
    """Cluster records 0..n-1 from scored pairs (left[i], right[i], probability[i]).

    A cluster larger than `max_size` (no customer has that many records: it is a chain of
    links through shared values) loses its weakest links, tier by tier, until it breaks up.
    """
    must = [(min(a, b), max(a, b)) for a, b in must_link if a != b]
    cannot = {(min(a, b), max(a, b)) for a, b in cannot_link if a != b}
    linked = probability >= upper
    el = np.concatenate([left[linked], np.array([a for a, _ in must], dtype=np.int64)])
    er = np.concatenate([right[linked], np.array([b for _, b in must], dtype=np.int64)])
    ep = np.concatenate([probability[linked], np.full(len(must), np.inf)])
    if cannot:  # a steward's "not a match" is never a link
        banned = np.array([(a, b) in cannot for a, b in zip(el, er, strict=True)], dtype=bool)
        el, er, ep = el[~banned], er[~banned], ep[~banned]
    labels = components(n, el, er)
    cut: list[tuple[int, int, float]] = []
    for tier in (0.99, 0.999, 0.9999, 0.99999):
        sizes = np.bincount(labels, minlength=n)
        oversized = sizes[labels[el]] > max_size
        weak = oversized & (ep < tier)
        if not oversized.any():
            break
        cut += [
            (int(a), int(b), float(p)) for a, b, p in zip(el[weak], er[weak], ep[weak], strict=True)
        ]
        el, er, ep = el[~weak], er[~weak], ep[~weak]
        labels = components(n, el, er)

    # conflicts: pairs inside one cluster that the evidence (or a steward) says differ
    against = probability < lower
    cl, cr = left[against], right[against]
    inside = labels[cl] == labels[cr]
    conflicts: list[tuple[int, int]] = list(zip(cl[inside], cr[inside], strict=True))
    conflicts += [(a, b) for a, b in cannot if labels[a] == labels[b]]
    if conflicts:
        labels, separated = _separate(labels, el, er, ep, conflicts)
        cut += separated

    between = (probability >= lower) & (probability < upper)
    review = np.flatnonzero(between & (labels[left] != labels[right]))
    return Clustering(labels, cut, review)


def _separate(
    labels: np.ndarray,
    el: np.ndarray,
    er: np.ndarray,
    ep: np.ndarray,
    conflicts: list[tuple[int, int]],
) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Cut the weakest links (a minimum cut by probability) between each conflicting pair.

    Each affected cluster is handled on its own small graph.
    """
    by_cluster: dict[int, list[tuple[int, int]]] = {}
    for a, b in sorted((int(x), int(y)) for x, y in conflicts):
        by_cluster.setdefault(int(labels[a]), []).append((a, b))
    edge_cluster = labels[el]
    order = np.argsort(edge_cluster, kind="stable")
    sorted_clusters = edge_cluster[order]
    new = labels.copy()
    cut: list[tuple[int, int, float]] = []
    for label, pairs in by_cluster.items():
        lo, hi = np.searchsorted(sorted_clusters, [label, label + 1])
        rows = order[lo:hi]
        graph = _graph(el[rows], er[rows], ep[rows])
        for a, b in pairs:
            if not nx.has_path(graph, a, b):
                continue
            try:
                _, (side, _other) = nx.minimum_cut(graph, a, b)
            except nx.NetworkXUnbounded:  # only must-links join them: the steward decides
                continue
            for u, v in list(graph.edges()):
                if (u in side) != (v in side):
                    cut.append((min(u, v), max(u, v), graph.edges[u, v]["p"]))
                    graph.remove_edge(u, v)
        for nodes in nx.connected_components(graph):
            members = np.fromiter(nodes, dtype=np.int64)
            new[members] = members.min()
    return new, sorted(cut)


def _graph(el: np.ndarray, er: np.ndarray, ep: np.ndarray) -> nx.Graph:
    """The links of one cluster; a must-link has no capacity (infinite: never cut)."""
    graph = nx.Graph()
    for a, b, p in zip(el.tolist(), er.tolist(), ep.tolist(), strict=True):
        if graph.has_edge(a, b) and graph.edges[a, b]["p"] >= p:
            continue
        graph.add_edge(a, b, p=p)
        if np.isfinite(p):
            graph.edges[a, b]["capacity"] = p
        else:
            graph.edges[a, b].pop("capacity", None)
    return graph
