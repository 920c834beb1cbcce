"""Cluster: from scored pairs to entities, without chaining, honouring steward constraints.

Pairs at or above the upper threshold are linked (steward must-links always are); records
linked directly or through others form a cluster. A cluster must not hold records that the
evidence says are different people: when two of its members conflict (by default: scored
below the lower threshold; `resolve` passes the pairs whose own evidence does not speak for
one person) or a steward said "not a match", the cluster is cut at its weakest links until
they are apart — so one weak link cannot chain two people together. Pairs between the
thresholds that end up in different clusters go to steward review.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

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
    against: np.ndarray | None = None,
    kept: np.ndarray | None = None,
) -> Clustering:
    """Cluster records 0..n-1 from scored pairs (left[i], right[i], probability[i]).

    `against` marks the scored pairs that must not end up in one cluster (default: those
    below `lower`). `kept` marks pairs that were together before (the previous run): they
    stay linked down to `lower`, so a re-run does not undo a merge over a hair's change of
    probability (0.951 -> 0.949) that something elsewhere caused.
    A cluster larger than `max_size` (no customer has that many records: it is a chain of
    links through shared values) loses its weakest links, tier by tier, until it breaks up.
    """
    must = [(min(a, b), max(a, b)) for a, b in must_link if a != b]
    cannot = {(min(a, b), max(a, b)) for a, b in cannot_link if a != b}
    linked = probability >= upper
    if kept is not None:
        linked |= kept & (probability >= lower)
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
    if against is None:
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

    Each affected cluster is handled on its own small graph (`_Links`); the clusters are
    then relabelled at once from the links that remain.
    """
    by_cluster: dict[int, list[tuple[int, int]]] = {}
    for a, b in sorted((int(x), int(y)) for x, y in conflicts):
        by_cluster.setdefault(int(labels[a]), []).append((a, b))
    edge_cluster = labels[el]
    order = np.argsort(edge_cluster, kind="stable")
    sorted_clusters = edge_cluster[order]
    cut: list[tuple[int, int, float]] = []
    for label, pairs in by_cluster.items():
        lo, hi = np.searchsorted(sorted_clusters, [label, label + 1])
        rows = order[lo:hi]
        links = _Links(el[rows].tolist(), er[rows].tolist(), ep[rows].tolist())
        for a, b in pairs:
            cut += links.cut(a, b)
    if not cut:
        return labels, []
    n = labels.size
    lo_end, hi_end = np.minimum(el, er), np.maximum(el, er)
    gone = np.array([a * n + b for a, b, _ in cut], dtype=np.int64)
    keep = ~np.isin(lo_end * n + hi_end, gone)
    return components(n, el[keep], er[keep]), sorted(cut)


_EXACT = float(2**53)  # a probability in [0.5, 1] times this is an exact integer


class _Links:
    """One cluster's links as a flow network: capacity = link probability, must-links infinite.

    Capacities are the probabilities scaled to exact integers, so the maximum flow (and the
    cut it implies) is exact: no rounding decides which of two equal cuts is taken.
    """

    def __init__(self, el: list[int], er: list[int], ep: list[float]) -> None:
        best: dict[tuple[int, int], float] = {}
        for a, b, p in zip(el, er, ep, strict=True):
            key = (a, b) if a < b else (b, a)
            if best.get(key, -1.0) < p:
                best[key] = p
        self.p = best
        self.adj: dict[int, set[int]] = {}
        for a, b in best:
            self.adj.setdefault(a, set()).add(b)
            self.adj.setdefault(b, set()).add(a)
        self.infinite = {k for k, v in best.items() if not math.isfinite(v)}
        self.cap = {k: int(v * _EXACT) for k, v in best.items() if k not in self.infinite}
        big = 3 * sum(self.cap.values()) + 1  # more than any cut of finite links
        self.cap.update(dict.fromkeys(self.infinite, big))
        self.part: dict[int, int] | None = None  # parts of the cluster, until the next cut

    def _joined_by_must_links(self, s: int, t: int) -> bool:
        infinite, adj = self.infinite, self.adj
        seen, stack = {s}, [s]
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v not in seen and ((u, v) if u < v else (v, u)) in infinite:
                    if v == t:
                        return True
                    seen.add(v)
                    stack.append(v)
        return False

    def cut(self, s: int, t: int) -> list[tuple[int, int, float]]:
        """Separate s from t at a minimum cut; the links removed (none if already apart).

        Like networkx's `minimum_cut`, the side kept with `s` is every record that cannot
        reach `t` through unsaturated links; a path of must-links only is left alone.
        """
        adj, cap = self.adj, self.cap
        if s not in adj or t not in adj:
            return []
        if self.part is None:
            self.part = self._parts()
        if self.part[s] != self.part[t]:
            return []  # already apart
        flow: dict[tuple[int, int], int] = {}  # on (u, v) with u < v, from u to v

        def residual(u: int, v: int) -> int:
            if u < v:
                return cap[(u, v)] - flow.get((u, v), 0)
            return cap[(v, u)] + flow.get((v, u), 0)

        first = True
        while True:  # Edmonds-Karp: shortest augmenting paths
            parent = {s: s}
            queue = deque([s])
            while queue and t not in parent:
                u = queue.popleft()
                for v in adj[u]:
                    if v not in parent and residual(u, v) > 0:
                        parent[v] = u
                        queue.append(v)
            if t not in parent:
                if first:
                    return []  # already apart
                break
            if first and self.infinite and self._joined_by_must_links(s, t):
                return []  # only must-links join them: the steward decides
            first = False
            path = []
            v = t
            while v != s:
                path.append((parent[v], v))
                v = parent[v]
            push = min(residual(u, v) for u, v in path)
            for u, v in path:
                if u < v:
                    flow[(u, v)] = flow.get((u, v), 0) + push
                else:
                    flow[(v, u)] = flow.get((v, u), 0) - push
        sink, stack = {t}, [t]  # who can still reach t
        while stack:
            v = stack.pop()
            for u in adj[v]:
                if u not in sink and residual(u, v) > 0:
                    sink.add(u)
                    stack.append(u)
        removed = []
        for u in sink:
            for v in sorted(adj[u] - sink):
                a, b = (u, v) if u < v else (v, u)
                removed.append((a, b, self.p.pop((a, b))))
                del cap[(a, b)]
                self.infinite.discard((a, b))
        for a, b, _ in removed:
            adj[a].discard(b)
            adj[b].discard(a)
        self.part = None
        return removed

    def _parts(self) -> dict[int, int]:
        """A part number per record: records joined by the remaining links share it."""
        part: dict[int, int] = {}
        for start in self.adj:
            if start in part:
                continue
            part[start] = start
            stack = [start]
            while stack:
                u = stack.pop()
                for v in self.adj[u]:
                    if v not in part:
                        part[v] = start
                        stack.append(v)
        return part
