"""Cluster on Spark: connected components in Spark, cuts on the driver where needed.

The local clustering (`identity.backends.local.LocalBackend.cluster`) runs unchanged in
its parts: a draft grouping of the linked pairs (components, on Spark) finds the small
clusters whose every pair is then compared (`_complete_clusters`, compared on Spark,
scored by `identity.score`); the final links' components come from Spark; only the
components that need more — above `cluster`'s `max_size`, or holding a pair the evidence
or a steward says differ — go through `identity.cluster.cluster` on the driver, with just
their own pairs. Every cut stays inside one component, so the labels are those one
`cluster` call over all pairs gives.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import numpy as np

from identity.backends import Clustered, Decisions, Standardised
from identity.backends.local import _appended, _complete_clusters, collector_paused, conflicting
from identity.cluster import Clustering, cluster
from identity.model import ModelSpec
from identity.score import Model, Scored, score

if TYPE_CHECKING:
    from identity.backends.spark.backend import SparkBackend

__all__ = ["cluster_on_spark", "needing_cuts"]

_MAX_SIZE: int = inspect.signature(cluster).parameters["max_size"].default


def needing_cuts(
    labels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    against: np.ndarray,
    cannot: set[tuple[int, int]],
    max_size: int = _MAX_SIZE,
) -> np.ndarray:
    """The component labels whose component `cluster` may cut: too large, or holding a
    pair marked `against` or a steward's cannot-link."""
    sizes = np.bincount(labels, minlength=labels.size)
    found = [np.unique(labels[sizes[labels] > max_size])]
    cl, cr = left[against], right[against]
    inside = labels[cl] == labels[cr]
    found.append(np.unique(labels[cl[inside]]))
    found.append(np.array([labels[a] for a, b in cannot if labels[a] == labels[b]], np.int64))
    return np.unique(np.concatenate(found).astype(np.int64))


def cluster_on_spark(
    backend: SparkBackend,
    table: Standardised,
    scored: Scored,
    model: Model,
    spec: ModelSpec,
    decisions: Decisions,
) -> Clustered:
    """`LocalBackend.cluster`'s result, its components computed on Spark."""
    n, thresholds = len(table.frame), spec.thresholds
    linked = scored.probability >= thresholds.upper
    draft = backend._components(n, scored.left[linked], scored.right[linked], "draft")
    del linked
    extra_l, extra_r = _complete_clusters(
        draft, scored.left, scored.right, n, spec.blocking.complete_clusters_up_to
    )
    if extra_l.size:
        extra_levels = backend._levels(table, extra_l, extra_r, spec, "cluster_levels")
        scored = _appended(scored, score(model, table.frame, extra_l, extra_r, extra_levels))
    left, right, probability = scored.left, scored.right, scored.probability
    kept = None
    if decisions.previous_group is not None:
        before = decisions.previous_group
        kept = (before[left] >= 0) & (before[left] == before[right])
    against = conflicting(scored, model, thresholds.conflict_bits)
    must = [(min(a, b), max(a, b)) for a, b in decisions.must_link if a != b]
    cannot = {(min(a, b), max(a, b)) for a, b in decisions.cannot_link if a != b}
    # the links `cluster` starts from, as it builds them
    link = probability >= thresholds.upper
    if kept is not None:
        link |= kept & (probability >= thresholds.lower)
    el = np.concatenate([left[link], np.array([a for a, _ in must], dtype=np.int64)])
    er = np.concatenate([right[link], np.array([b for _, b in must], dtype=np.int64)])
    if cannot:
        banned = np.array([(a, b) in cannot for a, b in zip(el, er, strict=True)], dtype=bool)
        el, er = el[~banned], er[~banned]
    labels = backend._components(n, el, er, "components")
    needy = needing_cuts(labels, left, right, against, cannot)
    cut: list[tuple[int, int, float]] = []
    if needy.size:
        members = np.isin(labels, needy)
        sub = members[left] & members[right]
        with collector_paused():
            part = cluster(
                n,
                left[sub],
                right[sub],
                probability[sub],
                upper=thresholds.upper,
                lower=thresholds.lower,
                must_link=[(a, b) for a, b in must if members[a]],
                cannot_link=[(a, b) for a, b in cannot if members[a] and members[b]],
                against=against[sub],
                kept=None if kept is None else kept[sub],
            )
        labels[members] = part.labels[members]
        cut = part.cut_edges
    between = (probability >= thresholds.lower) & (probability < thresholds.upper)
    review = np.flatnonzero(between & (labels[left] != labels[right]))
    return Clustered(scored=scored, clustering=Clustering(labels, cut, review))
