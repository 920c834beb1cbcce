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
import pandas as pd
from pyspark.sql import functions as F

from identity.backends import Clustered, Decisions, Standardised
from identity.backends.local import (
    _FIELDS,
    _appended,
    _complete_clusters,
    collector_paused,
    conflicting,
)
from identity.backends.spark.score import collected_scored
from identity.cluster import Clustering, cluster
from identity.model import ModelSpec, Thresholds
from identity.score import Model, Scored

if TYPE_CHECKING:
    from identity.backends.spark.backend import SparkBackend

__all__ = ["cluster_on_spark", "needing_cuts"]

_MAX_SIZE: int = inspect.signature(cluster).parameters["max_size"].default


def _size(table: Standardised) -> int:
    """The records of the table (a Spark table's frame may be left on Spark: empty)."""
    size = getattr(table, "size", None)
    return len(table.frame) if size is None else int(size)


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
    """`LocalBackend.cluster`'s result, its components computed on Spark, from the pairs
    `SparkBackend.score` handed over (those at or above the lower threshold): the pairs
    below it are neither links nor review items; of them only those that speak against a
    cluster holding both their records can change the clusters, and they are fetched from
    Spark once the components are known (`_against_inside`)."""
    n, thresholds = _size(table), spec.thresholds
    linked = scored.probability >= thresholds.upper
    draft = backend._components(n, scored.left[linked], scored.right[linked], "draft")
    del linked
    none = np.empty(0, np.int64)
    wanted_l, wanted_r = _complete_clusters(
        draft, none, none, n, spec.blocking.complete_clusters_up_to
    )
    extra_l, extra_r = _not_candidates(backend, wanted_l, wanted_r, n)
    extra = None
    if extra_l.size:
        extra_levels = backend._levels(table, extra_l, extra_r, spec, "cluster_levels")
        extra = backend._scored_given(
            model, table, extra_l, extra_r, extra_levels, "cluster_scored"
        )
    candidates = scored.left.size  # `_appended` empties `scored`
    with_extra = scored if extra is None else _appended(scored, extra)
    kept = _kept(decisions, with_extra)
    must = [(min(a, b), max(a, b)) for a, b in decisions.must_link if a != b]
    cannot = {(min(a, b), max(a, b)) for a, b in decisions.cannot_link if a != b}
    # the links `cluster` starts from, as it builds them
    el, er = _links(with_extra, kept, must, cannot, thresholds)
    labels = backend._components(n, el, er, "components")
    del el, er
    # the candidates below the lower threshold that speak against a component's cluster,
    # in the candidates' order among those above it, then the pairs clusters added
    scored = with_extra if extra is None else _split(with_extra, candidates)[0]
    inside = _against_inside(backend, labels, n, thresholds.lower, len(model.comparisons))
    if inside.left.size:
        scored = _merged(scored, inside, n)
    if extra is not None:
        scored = _appended(scored, extra)
    left, right, probability = scored.left, scored.right, scored.probability
    kept = _kept(decisions, scored)
    against = conflicting(scored, model, thresholds.conflict_bits)
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


def _kept(decisions: Decisions, scored: Scored) -> np.ndarray | None:
    """Pairs whose records shared a golden id in the previous run."""
    if decisions.previous_group is None:
        return None
    before = decisions.previous_group
    kept: np.ndarray = (before[scored.left] >= 0) & (before[scored.left] == before[scored.right])
    return kept


def _links(
    scored: Scored,
    kept: np.ndarray | None,
    must: list[tuple[int, int]],
    cannot: set[tuple[int, int]],
    thresholds: Thresholds,
) -> tuple[np.ndarray, np.ndarray]:
    """The edges `cluster` links before any cut: strong pairs, kept pairs down to the
    lower threshold, steward must-links; never a steward's cannot-link."""
    link = scored.probability >= thresholds.upper
    if kept is not None:
        link |= kept & (scored.probability >= thresholds.lower)
    el = np.concatenate([scored.left[link], np.array([a for a, _ in must], dtype=np.int64)])
    er = np.concatenate([scored.right[link], np.array([b for _, b in must], dtype=np.int64)])
    if cannot:
        banned = np.array([(a, b) in cannot for a, b in zip(el, er, strict=True)], dtype=bool)
        el, er = el[~banned], er[~banned]
    return el, er


def _not_candidates(
    backend: SparkBackend, left: np.ndarray, right: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (left[i], right[i]) blocking did not propose, in their order: looked up
    in Spark among the scored candidates (the driver holds only some of them)."""
    if left.size == 0 or backend._scored is None:
        return left, right
    asked = pd.DataFrame({"l": left.astype(np.int64), "r": right.astype(np.int64)})
    asked["i"] = np.arange(left.size, dtype=np.int64)
    frame = backend._parquet("cluster_wanted", asked)
    known = frame.join(backend._scored.select("l", "r"), ["l", "r"], "left_anti")
    new = np.sort(known.select("i").toArrow().column("i").to_numpy())
    return left[new], right[new]


def _against_inside(
    backend: SparkBackend, labels: np.ndarray, n: int, lower: float, width: int
) -> Scored:
    """The scored candidates below `lower` marked against (`conflicting`) whose two
    records share a component of `labels`: those clustering must see to cut."""
    grouped = np.flatnonzero(labels != np.arange(n))  # records in a component of 2+
    if backend._scored is None or grouped.size == 0:
        return _empty(width)
    members = np.unique(np.concatenate([grouped, labels[grouped]]))
    frame = backend._parquet(
        "cluster_labels", pd.DataFrame({"vertex": members, "label": labels[members]})
    )
    low = backend._scored.where(F.col("against") & (F.col("probability") < lower))
    on_left = frame.select(F.col("vertex").alias("l"), F.col("label").alias("label_l"))
    on_right = frame.select(F.col("vertex").alias("r"), F.col("label").alias("label_r"))
    inside = low.join(on_left, "l").join(on_right, "r").where(F.col("label_l") == F.col("label_r"))
    return collected_scored(inside, width, n)


def _empty(width: int) -> Scored:
    none = np.empty(0, np.int64)
    return Scored(
        left=none,
        right=none,
        levels=np.empty((0, width), np.int8),
        weights=np.empty((0, width), np.float32),
        total=np.empty(0),
        probability=np.empty(0),
    )


def _split(scored: Scored, at: int) -> tuple[Scored, Scored]:
    parts = [
        Scored(**{name: getattr(scored, name)[s] for name in _FIELDS})
        for s in (slice(0, at), slice(at, None))
    ]
    return parts[0], parts[1]


def _merged(one: Scored, other: Scored, n: int) -> Scored:
    """Two sets of candidates, in the candidates' order (l, then r)."""
    joined = _appended(one, other)
    order = np.argsort(joined.left * max(n, 1) + joined.right, kind="stable")
    return Scored(**{name: getattr(joined, name)[order] for name in _FIELDS})
