"""The declarative model: what the identity engine executes, never how.

A `ModelSpec` names the comparisons (each with its levels, priors and role), the blocking
rules, the EM training, the thresholds and survivorship. It is a frozen value that any
backend (`identity.backends`) runs — the in-process NumPy/pandas one today, a Spark one
later — and it imports none of them. `Settings` is the flat form users and hub.yaml
fill in; `ModelSpec.from_settings` groups it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from identity.blocking import DEFAULT_RULES, BlockingRule
from identity.compare import COMPARISONS
from identity.levels import Comparison
from identity.training import SESSIONS, Session

__all__ = ["Blocking", "ModelSpec", "Settings", "Survivorship", "Thresholds", "Training"]


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


@dataclass(frozen=True, kw_only=True)
class Blocking:
    """Which pairs are compared: the rules' pairs, blocks above `max_block` left out, and
    every pair inside clusters of up to `complete_clusters_up_to` records."""

    rules: tuple[BlockingRule, ...] = DEFAULT_RULES
    max_block: int = 200
    max_shared: int = 25  # an e-mail/phone/tax id on more records than this identifies nobody
    complete_clusters_up_to: int = 40


@dataclass(frozen=True, kw_only=True)
class Training:
    """How m and u are estimated: u from `random_pairs` random pairs, m by EM (at most
    `max_iterations` per session) in the `sessions` the comparisons' roles choose."""

    sessions: tuple[Session, ...] = SESSIONS
    random_pairs: int = 300_000
    max_iterations: int = 40
    seed: int = 7


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Match probability at or above `upper`: merged; from `lower`: steward review. Two
    records of one cluster whose own evidence is below `conflict_bits` are cut apart."""

    upper: float = 0.95
    lower: float = 0.70
    conflict_bits: float = 4.0


@dataclass(frozen=True, kw_only=True)
class Survivorship:
    """How golden records are built: sources in priority order, per-field rules."""

    source_priority: tuple[str, ...] = ()
    rules: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Everything an identity run executes, as data."""

    comparisons: tuple[Comparison, ...] = COMPARISONS
    blocking: Blocking = field(default_factory=Blocking)
    training: Training = field(default_factory=Training)
    thresholds: Thresholds = field(default_factory=Thresholds)
    survivorship: Survivorship = field(default_factory=Survivorship)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelSpec:
        """The model `settings` describe, with the default comparisons and training."""
        return cls(
            blocking=Blocking(
                rules=settings.rules,
                max_block=settings.max_block,
                max_shared=settings.max_shared,
                complete_clusters_up_to=settings.complete_clusters_up_to,
            ),
            training=Training(random_pairs=settings.random_pairs),
            thresholds=Thresholds(
                upper=settings.upper, lower=settings.lower, conflict_bits=settings.conflict_bits
            ),
            survivorship=Survivorship(
                source_priority=settings.source_priority, rules=settings.survivorship
            ),
        )
