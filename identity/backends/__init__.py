"""Executors of the declarative model: the seam between what to do and what runs it.

A `Backend` runs the stages of a `ModelSpec` (`identity.model`): standardise → block →
compare → estimate → score → cluster. `identity.backends.local.LocalBackend` runs them in
process with NumPy and pandas; a scale-out backend (Spark) implements the same methods and
hands back the same small results — the model, the scored pairs, the clustering — while
the record table stays on its engine. The model never imports a backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from identity.blocking import BlockingReport
from identity.cluster import Clustering
from identity.model import ModelSpec
from identity.score import Model, Patterns, Scored

__all__ = [
    "Backend",
    "Candidates",
    "Clustered",
    "Decisions",
    "Levels",
    "PairLevels",
    "Standardised",
]


@dataclass(frozen=True, kw_only=True)
class Standardised:
    """The standardised record table (row i = input record i) and what standardising found
    (values blanked as placeholders or as shared by too many records)."""

    frame: pd.DataFrame
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Candidates:
    """The candidate pairs blocking proposed (left[i] < right[i], record indexes), and how."""

    left: np.ndarray
    right: np.ndarray
    report: BlockingReport

    def count(self) -> int:
        """How many candidate pairs there are (a distributed backend may keep them where
        it made them and hand back empty `left`/`right`)."""
        return int(self.left.size)


@dataclass(frozen=True, kw_only=True)
class Decisions:
    """What the run must respect, by record index: steward links and the previous run."""

    must_link: Sequence[tuple[int, int]] = ()
    cannot_link: Sequence[tuple[int, int]] = ()
    previous_group: np.ndarray | None = None  # per record its previous golden id's code, -1


@dataclass(frozen=True, kw_only=True)
class Clustered:
    """The scored pairs clustering used (blocking's and those inside small clusters), and
    the clusters."""

    scored: Scored
    clustering: Clustering


class PairLevels:
    """The candidate pairs' levels kept where a backend computed them (a distributed
    backend's table): `pairs` rows of `comparisons` levels, never gathered in one place.
    What `compare` hands back for `estimate` and `score` of the same backend."""

    def __init__(self, *, pairs: int, comparisons: int) -> None:
        self.pairs = pairs
        self.comparisons = comparisons


# the candidate pairs' levels: in memory (pairs x comparisons, int8), or kept by a backend
Levels = np.ndarray | PairLevels


@runtime_checkable
class Backend(Protocol):
    """Runs the stages of a `ModelSpec`; each stage's result feeds the next."""

    def standardise(
        self, records: Sequence[Mapping[str, Any]], spec: ModelSpec
    ) -> Standardised: ...

    def block(self, table: Standardised, spec: ModelSpec) -> Candidates: ...

    def compare(self, table: Standardised, pairs: Candidates, spec: ModelSpec) -> Levels: ...

    def patterns(
        self, table: Standardised, pairs: Candidates, levels: Levels, decisions: Decisions
    ) -> Patterns:
        """The candidate pairs' agreement patterns and their counts, steward-labelled pairs
        as rows of their own: what EM needs of the pairs (`identity.score.Patterns`)."""
        ...

    def estimate(
        self,
        table: Standardised,
        pairs: Candidates,
        levels: Levels,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Model: ...

    def score(self, model: Model, table: Standardised, pairs: Candidates, levels: Levels) -> Scored:
        """The scored pairs clustering needs: all candidates (in memory), or — a backend
        that scores where the pairs are — those at or above `spec.thresholds.lower`."""
        ...

    def cluster(
        self,
        table: Standardised,
        scored: Scored,
        model: Model,
        spec: ModelSpec,
        decisions: Decisions,
    ) -> Clustered: ...
