"""The identity pipeline: standardise → block → compare → score → cluster → ids → survive.

`resolve()` is the whole batch run: it builds the declarative model (`identity.model`) from
`Settings` and runs it on a backend (`identity.backends`; the in-process one by default).
Each stage lives in its own module and can be used alone. It needs no store: the hub feeds
it records (and the previous crosswalk and steward decisions) and persists what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from identity.backends import Backend, Decisions
from identity.backends.local import LocalBackend, collector_paused, standardised_frame
from identity.blocking import DEFAULT_RULES, BlockingReport, BlockingRule
from identity.cluster import Clustering
from identity.ids import Assignment, assign_ids
from identity.matcher import Matcher
from identity.model import ModelSpec, Settings
from identity.score import Model, Scored
from identity.survivorship import GoldenRecord, survive

__all__ = ["History", "Key", "Resolution", "Settings", "resolve", "run", "standardised"]

Key = tuple[str, str]  # (source, source_id)


@dataclass(frozen=True, kw_only=True)
class History:
    """What a run builds on: the previous run's crosswalk and golden records' creation
    order, the stewards' link decisions and their per-golden-record field overrides."""

    previous: Mapping[Key, str] | None = None
    created_order: Mapping[str, Any] | None = None
    must_link: Sequence[tuple[Key, Key]] = ()
    cannot_link: Sequence[tuple[Key, Key]] = ()
    overrides: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(kw_only=True)
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
    blocking_rules: tuple[BlockingRule, ...] = DEFAULT_RULES

    def matcher(self) -> Matcher:
        """An incremental matcher over this resolution's records and model."""
        return Matcher(
            self.frame,
            [self.crosswalk[k] for k in self.keys],
            self.model,
            rules=self.blocking_rules,
        )

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
    return standardised_frame(records, max_shared=settings.max_shared)


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
    history = History(
        previous=previous,
        created_order=created_order,
        must_link=must_link,
        cannot_link=cannot_link,
        overrides=overrides,
    )
    return run(
        records,
        ModelSpec.from_settings(settings or Settings()),
        history=history,
        progress=progress,
        build_golden=build_golden,
    )


def run(
    records: Sequence[Mapping[str, Any]],
    spec: ModelSpec,
    *,
    history: History | None = None,
    backend: Backend | None = None,
    progress: Callable[[str], None] | None = None,
    build_golden: bool = True,
) -> Resolution:
    """Run the model `spec` over `records` on `backend` (default: in process)."""
    history = history or History()
    backend = backend or LocalBackend()
    step = progress or (lambda _msg: None)
    keys: list[Key] = [(str(r["source"]), str(r["source_id"])) for r in records]
    n = len(keys)
    decisions = _decisions(keys, history)
    step("standardising")
    table = backend.standardise(records, spec)
    step("blocking")
    pairs = backend.block(table, spec)
    step(f"comparing {pairs.count():,} candidate pairs")
    levels = backend.compare(table, pairs, spec)
    step("estimating the model (EM, no labels needed)")
    model = backend.estimate(table, pairs, levels, spec, decisions)
    step("scoring")
    scored = backend.score(model, table, pairs, levels)
    del levels  # scored holds the levels; only it may keep them alive
    step("clustering")
    clustered = backend.cluster(table, scored, model, spec, decisions)
    del scored  # emptied by clustering when it added pairs: clustered.scored has them all
    clustering = clustered.clustering
    labels = clustering.labels
    step("assigning golden ids")
    with collector_paused():
        assignment = assign_ids(
            dict(zip(keys, labels.tolist(), strict=True)),
            history.previous or {},
            history.created_order,
        )
    golden = _golden(records, keys, assignment, spec, history) if build_golden else {}
    stats = dict(table.stats)
    golden_ids = len(set(assignment.crosswalk.values()))
    stats.update(
        records=n,
        candidate_pairs=pairs.count(),
        golden_records=golden_ids,
        merged_records=int(n - golden_ids),
        review_pairs=int(clustering.review.size),
        split_links=len(clustering.cut_edges),
    )
    return Resolution(
        keys=keys,
        labels=labels,
        assignment=assignment,
        golden=golden,
        scored=clustered.scored,
        clustering=clustering,
        model=model,
        blocking=pairs.report,
        stats=stats,
        frame=table.frame,
        blocking_rules=spec.blocking.rules,
    )


def _decisions(keys: Sequence[Key], history: History) -> Decisions:
    """The steward links and the previous run's groups, by record index."""
    index = {k: i for i, k in enumerate(keys)}
    must = [(index[a], index[b]) for a, b in history.must_link if a in index and b in index]
    cannot = [(index[a], index[b]) for a, b in history.cannot_link if a in index and b in index]
    group = None
    if history.previous:
        previous = history.previous
        codes: dict[str, int] = {}
        group = np.array(
            [codes.setdefault(previous[k], len(codes)) if k in previous else -1 for k in keys],
            dtype=np.int64,
        )
    return Decisions(must_link=must, cannot_link=cannot, previous_group=group)


def _golden(
    records: Sequence[Mapping[str, Any]],
    keys: Sequence[Key],
    assignment: Assignment,
    spec: ModelSpec,
    history: History,
) -> dict[str, GoldenRecord]:
    """Per golden id its golden record, from its members by the survivorship rules."""
    members: dict[str, list[Mapping[str, Any]]] = {}
    for i, k in enumerate(keys):
        members.setdefault(assignment.crosswalk[k], []).append(records[i])
    rules = spec.survivorship
    return {
        gid: survive(
            group,
            source_priority=rules.source_priority,
            rules=dict(rules.rules) or None,
            overrides=(history.overrides or {}).get(gid),
        )
        for gid, group in members.items()
    }
