"""The in-process backend: every stage with NumPy, pandas and rapidfuzz on one machine."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from identity.backends import Candidates, Clustered, Decisions, Levels, Standardised
from identity.blocking import add_derived_keys, candidate_pairs
from identity.cluster import cluster, components
from identity.compare import compare_pairs
from identity.frame import IDENTIFYING
from identity.levels import Role
from identity.model import ModelSpec
from identity.score import Model, Patterns, Scored, estimate, pattern_counts, score
from identity.standardise import standardise

__all__ = ["LocalBackend", "collector_paused", "conflicting", "standardised_frame"]


class LocalBackend:
    """Runs a `ModelSpec` in this process; the record table is a pandas DataFrame."""

    def standardise(self, records: Sequence[Mapping[str, Any]], spec: ModelSpec) -> Standardised:
        frame, stats = standardised_frame(records, max_shared=spec.blocking.max_shared)
        return Standardised(frame=frame, stats=stats)

    def block(self, table: Standardised, spec: ModelSpec) -> Candidates:
        left, right, report = candidate_pairs(
            table.frame, spec.blocking.rules, max_block=spec.blocking.max_block
        )
        return Candidates(left=left, right=right, report=report)

    def compare(self, table: Standardised, pairs: Candidates, spec: ModelSpec) -> Levels:
        """The levels in memory: an array (pairs x comparisons, int8)."""
        return compare_pairs(table.frame, pairs.left, pairs.right, spec.comparisons)

    def patterns(
        self, table: Standardised, pairs: Candidates, levels: Levels, decisions: Decisions
    ) -> Patterns:
        levels = _in_memory(levels)
        labelled = dict(_labelled(pairs, decisions, len(table.frame)))  # the last label wins
        at = np.fromiter(labelled, dtype=np.int64, count=len(labelled))
        ones = np.ones(levels.shape[0])
        return pattern_counts(levels, ones, levels[at], list(labelled.values()))

    def estimate(
        self,
        table: Standardised,
        pairs: Candidates,
        levels: Levels,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Model:
        training = spec.training
        return estimate(
            table.frame,
            _in_memory(levels),
            comparisons=spec.comparisons,
            sessions=training.sessions,
            labels=_labelled(pairs, decisions, len(table.frame)),
            random_pairs=training.random_pairs,
            max_iterations=training.max_iterations,
            seed=training.seed,
        )

    def score(self, model: Model, table: Standardised, pairs: Candidates, levels: Levels) -> Scored:
        return score(model, table.frame, pairs.left, pairs.right, _in_memory(levels))

    def cluster(
        self,
        table: Standardised,
        scored: Scored,
        model: Model,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Clustered:
        n, thresholds = len(table.frame), spec.thresholds
        linked = scored.probability >= thresholds.upper  # a first, unsplit grouping: only
        draft = components(n, scored.left[linked], scored.right[linked])  # to find clusters
        del linked  # to compare fully
        extra_l, extra_r = _complete_clusters(
            draft, scored.left, scored.right, n, spec.blocking.complete_clusters_up_to
        )
        if extra_l.size:
            scored = _appended(scored, score(model, table.frame, extra_l, extra_r))
        kept = None
        if decisions.previous_group is not None:
            before = decisions.previous_group
            kept = (before[scored.left] >= 0) & (before[scored.left] == before[scored.right])
        with collector_paused():
            clustering = cluster(
                n,
                scored.left,
                scored.right,
                scored.probability,
                upper=thresholds.upper,
                lower=thresholds.lower,
                must_link=decisions.must_link,
                cannot_link=decisions.cannot_link,
                against=conflicting(scored, model, thresholds.conflict_bits),
                kept=kept,
            )
        return Clustered(scored=scored, clustering=clustering)


# the comparisons against a pair must weigh at least this much together to set it apart: an
# e-mail that does not spell the other's name (-4.7 bits) or a second address alone does not
_AGAINST_BITS = -6.0


def conflicting(scored: Scored, model: Model, conflict_bits: float) -> np.ndarray:
    """Pairs whose own evidence says they are different customers: weak in sum (below
    `conflict_bits`) *and* the comparisons of the customer (not of the records' systems:
    `Role.PROVENANCE`) that speak against them weigh `_AGAINST_BITS` or more together. A
    pair with nothing to compare (a web sign-up with only an e-mail and a card payment with
    only a name) is silent, not against: it may share a cluster through the members each
    does match."""
    weak = scored.total - model.prior_bits < conflict_bits
    about = [k for k, c in enumerate(model.comparisons) if c.role is not Role.PROVENANCE]
    if scored.weights.size == 0 or not about:
        return weak
    negative = np.zeros(scored.weights.shape[0], dtype=np.float32)
    for k in about:  # a column at a time: no copy of the (pairs x comparisons) matrix
        negative += np.minimum(scored.weights[:, k], 0)
    against: np.ndarray = weak & (negative <= _AGAINST_BITS)
    return against


def standardised_frame(
    records: Sequence[Mapping[str, Any]], *, max_shared: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The standardised frame with non-identifying shared values blanked (and counted)."""
    frame = standardise(records)
    stats: dict[str, int] = {}
    for column in IDENTIFYING:
        counts = frame[column].value_counts()
        shared = counts[counts > max_shared].index
        if len(shared):
            hit = frame[column].isin(shared)
            stats[f"non_identifying_{column}"] = int(hit.sum())
            frame.loc[hit, column] = None
    placeholders = frame["placeholder_fields"].notna() & (frame["placeholder_fields"] != "")
    stats["placeholder_values"] = int(placeholders.sum())
    return add_derived_keys(frame), stats


def _in_memory(levels: Levels) -> np.ndarray:
    if not isinstance(levels, np.ndarray):
        raise TypeError(
            f"LocalBackend needs the levels as an array, not a {type(levels).__name__} "
            "(levels another backend kept): run every stage on one backend"
        )
    return levels


def _labelled(pairs: Candidates, decisions: Decisions, n: int) -> list[tuple[int, bool]]:
    """Steward decisions on candidate pairs, as (candidate pair index, is_match)."""
    if not decisions.must_link and not decisions.cannot_link:
        return []  # only steward decisions need the index: a million-entry dict otherwise
    left, right = pairs.left, pairs.right
    pair_index = {int(a) * n + int(b): i for i, (a, b) in enumerate(zip(left, right, strict=True))}
    labelled: list[tuple[int, bool]] = []
    for linked, is_match in ((decisions.must_link, True), (decisions.cannot_link, False)):
        for x, y in linked:
            a, b = sorted((x, y))
            if a * n + b in pair_index:
                labelled.append((pair_index[a * n + b], is_match))
    return labelled


def _complete_clusters(
    labels: np.ndarray, left: np.ndarray, right: np.ndarray, n: int, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs inside small clusters that blocking did not produce: more evidence per cluster."""
    sizes = np.bincount(labels, minlength=n)
    big = np.flatnonzero((sizes >= 3) & (sizes <= limit))
    if big.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    members = np.flatnonzero(np.isin(labels, big))
    order = members[np.argsort(labels[members], kind="stable")]  # by cluster, then index
    starts = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0])
    counts = np.diff(np.r_[starts, order.size])
    al, ar, ak = [], [], []
    for size in np.unique(counts).tolist():  # all clusters of one size at once
        first = starts[counts == size]
        grid = order[first[:, None] + np.arange(size)]  # (clusters, size), rows ascending
        i, j = np.triu_indices(size, k=1)
        al.append(grid[:, i].ravel())
        ar.append(grid[:, j].ravel())
        # the order a loop over clusters (by label) and their pairs would give
        rank = first[:, None] * limit * limit + np.arange(i.size)
        ak.append(rank.ravel())
    by = np.argsort(np.concatenate(ak), kind="stable")
    cand_l, cand_r = np.concatenate(al)[by], np.concatenate(ar)[by]
    wanted, known = cand_l * n + cand_r, left * n + right
    if known.size and bool(np.all(known[1:] > known[:-1])):  # blocking returns pairs sorted
        at = np.minimum(np.searchsorted(known, wanted), known.size - 1)
        new = known[at] != wanted
    else:
        new = ~np.isin(wanted, known)
    return cand_l[new], cand_r[new]


_FIELDS = ("left", "right", "levels", "weights", "total", "probability")


def _appended(scored: Scored, extra: Scored) -> Scored:
    """`extra` after `scored`, one array at a time, each of scored's released once copied:
    the copy needs room for one array at a time, not for all of them (GBs at 1M records)."""
    joined = {}
    for name in _FIELDS:
        joined[name] = np.concatenate([getattr(scored, name), getattr(extra, name)])
        setattr(scored, name, joined[name][:0])
    return Scored(**joined)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Cyclic garbage collection paused: clustering and ids build millions of small tuples
    and dicts with no cycles among them, and each full collection would re-scan the whole
    heap (the records, the frame) — a third of those stages' time at 500k records."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
