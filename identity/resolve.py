"""The identity pipeline: standardise → block → compare → score → cluster → ids → survive.

`resolve()` is the whole batch run; each stage lives in its own module and can be used
alone. It needs no store: the hub feeds it records (and the previous crosswalk and steward
decisions) and persists what it returns.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from identity.blocking import (
    DEFAULT_RULES,
    BlockingReport,
    BlockingRule,
    add_derived_keys,
    candidate_pairs,
)
from identity.cluster import Clustering, cluster, components
from identity.compare import compare_pairs
from identity.frame import IDENTIFYING
from identity.ids import Assignment, assign_ids
from identity.matcher import Matcher
from identity.score import Model, Scored, estimate, score
from identity.standardise import standardise
from identity.survivorship import GoldenRecord, survive

__all__ = ["Key", "Resolution", "Settings", "resolve", "standardised"]

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (source, source_id)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How to resolve: thresholds (match probability), blocking and model estimation."""

    upper: float = 0.95  # at or above: merged automatically
    lower: float = 0.70  # between lower and upper: steward review; below: not a match
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES
    max_block: int = 200
    max_shared: int = 25  # an e-mail/phone/tax id on more records than this identifies nobody
    random_pairs: int = 300_000
    complete_clusters_up_to: int = 40  # compare every pair inside clusters up to this size
    # Two records of one cluster conflict when their own evidence (match weight without the
    # prior) is below this many bits: then the cluster is cut between them. Not the lower
    # threshold: a web sign-up and an ERP customer linked through their billing record share
    # little directly, and that lack of evidence is no evidence that they differ.
    conflict_bits: float = 4.0
    source_priority: tuple[str, ...] = ()
    survivorship: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Resolution:
    """Everything one run decided."""

    keys: list[Key]
    labels: np.ndarray
    assignment: Assignment
    golden: dict[str, GoldenRecord]
    scored: Scored
    clustering: Clustering
    model: Model
    blocking: BlockingReport
    stats: dict[str, int]
    frame: pd.DataFrame  # the standardised records, row i = keys[i]

    def matcher(self) -> Matcher:
        """An incremental matcher over this resolution's records and model."""
        return Matcher(
            self.frame,
            [self.crosswalk[k] for k in self.keys],
            self.model,
            rules=self.blocking_rules,
        )

    blocking_rules: tuple[BlockingRule, ...] = DEFAULT_RULES

    @property
    def crosswalk(self) -> dict[Key, str]:
        return self.assignment.crosswalk

    def review_pairs(self) -> list[dict[str, Any]]:
        """Uncertain pairs for stewards: per comparison its weight (bits) and level label."""
        out = []
        names = [c.name for c in self.model.comparisons]
        for i in self.clustering.review:
            a, b = int(self.scored.left[i]), int(self.scored.right[i])
            out.append(
                {
                    "left": self.keys[a],
                    "right": self.keys[b],
                    "probability": float(self.scored.probability[i]),
                    "weights": {
                        n: round(float(w), 2)
                        for n, w, lv in zip(
                            names, self.scored.weights[i], self.scored.levels[i], strict=True
                        )
                        if lv >= 0
                    },
                    "levels": {
                        c.name: c.levels[int(lv)]
                        for c, lv in zip(self.model.comparisons, self.scored.levels[i], strict=True)
                        if lv >= 0
                    },
                }
            )
        return out


def standardised(
    records: Sequence[Mapping[str, Any]], settings: Settings
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The standardised frame with non-identifying shared values blanked (and counted)."""
    frame = standardise(records)
    stats: dict[str, int] = {}
    for column in IDENTIFYING:
        counts = frame[column].value_counts()
        shared = counts[counts > settings.max_shared].index
        if len(shared):
            hit = frame[column].isin(shared)
            stats[f"non_identifying_{column}"] = int(hit.sum())
            frame.loc[hit, column] = None
    placeholders = frame["placeholder_fields"].notna() & (frame["placeholder_fields"] != "")
    stats["placeholder_values"] = int(placeholders.sum())
    return add_derived_keys(frame), stats


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


def _together_before(
    keys: Sequence[Key], left: np.ndarray, right: np.ndarray, previous: Mapping[Key, str] | None
) -> np.ndarray | None:
    """Scored pairs whose records shared a golden id in the previous run."""
    if not previous:
        return None
    codes: dict[str, int] = {}
    before = np.array(
        [codes.setdefault(previous[k], len(codes)) if k in previous else -1 for k in keys],
        dtype=np.int64,
    )
    together: np.ndarray = (before[left] >= 0) & (before[left] == before[right])
    return together


@contextmanager
def _collector_paused() -> Iterator[None]:
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


def resolve(
    records: Sequence[Mapping[str, Any]],
    settings: Settings | None = None,
    *,
    previous: Mapping[Key, str] | None = None,
    created_order: Mapping[str, Any] | None = None,
    must_link: Sequence[tuple[Key, Key]] = (),
    cannot_link: Sequence[tuple[Key, Key]] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    build_golden: bool = True,
) -> Resolution:
    """Resolve CustomerRecord dicts into clusters, stable golden ids and golden records.

    With `build_golden=False` only the crosswalk is produced (survivorship is skipped).
    """
    settings = settings or Settings()
    step = progress or (lambda _msg: None)
    keys: list[Key] = [(str(r["source"]), str(r["source_id"])) for r in records]
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    step("standardising")
    frame, stats = standardised(records, settings)
    step("blocking")
    left, right, report = candidate_pairs(frame, settings.rules, max_block=settings.max_block)
    step(f"comparing {left.size:,} candidate pairs")
    levels = compare_pairs(frame, left, right)
    labelled: list[tuple[int, bool]] = []
    pair_index = (  # only steward decisions need it: a million-entry dict otherwise
        {int(a) * n + int(b): i for i, (a, b) in enumerate(zip(left, right, strict=True))}
        if must_link or cannot_link
        else {}
    )
    for pairs, is_match in ((must_link, True), (cannot_link, False)):
        for ka, kb in pairs:
            if ka in index and kb in index:
                a, b = sorted((index[ka], index[kb]))
                if a * n + b in pair_index:
                    labelled.append((pair_index[a * n + b], is_match))
    step("estimating the model (EM, no labels needed)")
    model = estimate(frame, levels, labels=labelled, random_pairs=settings.random_pairs)
    step("scoring")
    scored = score(model, frame, left, right, levels)
    must = [(index[a], index[b]) for a, b in must_link if a in index and b in index]
    cannot = [(index[a], index[b]) for a, b in cannot_link if a in index and b in index]
    step("clustering")
    linked = scored.probability >= settings.upper  # a first, unsplit grouping: only used
    draft = components(n, left[linked], right[linked])  # to find clusters to compare fully
    extra_l, extra_r = _complete_clusters(draft, left, right, n, settings.complete_clusters_up_to)
    del levels, linked  # scored holds the levels; only it may keep them alive
    if extra_l.size:
        extra = score(model, frame, extra_l, extra_r)
        scored = _appended(scored, extra)
    with _collector_paused():
        clustering = cluster(
            n,
            scored.left,
            scored.right,
            scored.probability,
            upper=settings.upper,
            lower=settings.lower,
            must_link=must,
            cannot_link=cannot,
            against=scored.total - model.prior_bits < settings.conflict_bits,
            kept=_together_before(keys, scored.left, scored.right, previous),
        )
    labels = clustering.labels
    step("assigning golden ids")
    with _collector_paused():
        assignment = assign_ids(
            dict(zip(keys, labels.tolist(), strict=True)), previous or {}, created_order
        )
    members: dict[str, list[Mapping[str, Any]]] = {}
    if build_golden:
        step("building golden records")
        for i, k in enumerate(keys):
            members.setdefault(assignment.crosswalk[k], []).append(records[i])
    golden = {
        gid: survive(
            group,
            source_priority=settings.source_priority,
            rules=dict(settings.survivorship) or None,
            overrides=(overrides or {}).get(gid),
        )
        for gid, group in members.items()
    }
    stats.update(
        records=n,
        candidate_pairs=int(left.size),
        golden_records=len(set(assignment.crosswalk.values())),
        merged_records=int(n - len(set(assignment.crosswalk.values()))),
        review_pairs=int(clustering.review.size),
        split_links=len(clustering.cut_edges),
    )
    return Resolution(
        keys,
        labels,
        assignment,
        golden,
        scored,
        clustering,
        model,
        report,
        stats,
        frame,
        settings.rules,
    )
