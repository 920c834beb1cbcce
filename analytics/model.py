"""The declarative model: what the analytics engine computes, never how.

An `AnalysisSpec` names the profile traits (`analytics.traits.TraitSpec`), the horizon of
the churn question, the value rules (margins, unit costs to serve, exchange rates), the
RFM segment map, the clustering and the offer settings. It is a frozen value that any
executor (`analytics.backends`) runs — the in-process pandas/NumPy one today, a Spark one
later — and it imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from analytics.traits import DEFAULT_TRAITS, TraitSpec

__all__ = [
    "DEFAULT_RATES",
    "DEFAULT_RFM_SEGMENTS",
    "AnalysisSpec",
    "Churn",
    "Clustering",
    "Input",
    "Lifecycle",
    "Offers",
    "RfmSegment",
    "Value",
]

# Units of the base currency per unit of each currency: fixed, so that a run is repeatable.
DEFAULT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "EUR": 1.0,
        "USD": 0.92,
        "GBP": 1.17,
        "CHF": 1.04,
        "SEK": 0.087,
        "NOK": 0.086,
        "DKK": 0.134,
        "PLN": 0.23,
        "CZK": 0.040,
        "CAD": 0.68,
        "AUD": 0.61,
        "JPY": 0.0062,
    }
)


@dataclass(frozen=True, kw_only=True)
class Input:
    """Which interactions count, and which are left out as unusable."""

    purchase_types: tuple[str, ...] = ("order",)
    cancelled_statuses: tuple[str, ...] = ("cancelled", "canceled", "void", "voided")
    open_statuses: tuple[str, ...] = ("open", "new", "pending", "in_progress", "waiting")
    base_currency: str = "EUR"
    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    max_amount: float = 1_000_000.0  # one interaction above this (base currency) is absurd
    earliest: str = "1990-01-01"  # dates before this are absurd


@dataclass(frozen=True, kw_only=True)
class Value:
    """Operating profit = margin (the interaction's own, else its category's rate, else
    `default_margin_rate`) minus cost to serve at unit costs per interaction type."""

    default_margin_rate: float = 0.30
    category_margin_rates: Mapping[str, float] = field(default_factory=dict)
    unit_costs: Mapping[str, float] = field(
        default_factory=lambda: {"ticket": 8.0, "complaint": 25.0, "call": 5.0, "visit": 40.0}
    )
    clv_months: int = 12
    # Purchase model for p_alive, lifetime value and the churn features: "bgnbd", "pareto"
    # (Pareto/NBD), "regime" (BG/NBD with a new-customer regime, analytics.regime), or
    # "auto": BG/NBD or Pareto/NBD, the one with the lower error on the last
    # `selection_weeks` before the cut-off, fitted on what came before (analytics.btyd.select).
    purchase_model: Literal["bgnbd", "pareto", "regime", "auto"] = "bgnbd"
    selection_weeks: float = 13.0


@dataclass(frozen=True, kw_only=True)
class RfmSegment:
    """A classic RFM segment: recency score and frequency score ranges (1-5, inclusive)."""

    name: str
    recency: tuple[int, int]
    frequency: tuple[int, int]


DEFAULT_RFM_SEGMENTS: tuple[RfmSegment, ...] = (
    RfmSegment(name="champions", recency=(5, 5), frequency=(4, 5)),
    RfmSegment(name="loyal", recency=(3, 4), frequency=(4, 5)),
    RfmSegment(name="potential loyalist", recency=(4, 5), frequency=(2, 3)),
    RfmSegment(name="new", recency=(5, 5), frequency=(1, 1)),
    RfmSegment(name="promising", recency=(4, 4), frequency=(1, 1)),
    RfmSegment(name="need attention", recency=(3, 3), frequency=(3, 3)),
    RfmSegment(name="about to sleep", recency=(3, 3), frequency=(1, 2)),
    RfmSegment(name="cannot lose them", recency=(1, 2), frequency=(5, 5)),
    RfmSegment(name="at risk", recency=(1, 2), frequency=(3, 4)),
    RfmSegment(name="hibernating", recency=(1, 2), frequency=(1, 2)),
)


@dataclass(frozen=True, kw_only=True)
class Clustering:
    """Behaviour types: k-means on scaled RFM plus channel and category mix; the number of
    types is the one with the best silhouette on a sample, between `min_k` and `max_k`."""

    min_k: int = 3
    max_k: int = 8
    sample: int = 4_000  # customers the silhouette is measured on
    fit_sample: int = 30_000  # customers k-means is fitted on (all are then assigned)
    top_categories: int = 8
    top_channels: int = 4
    seed: int = 7


@dataclass(frozen=True, kw_only=True)
class Churn:
    """Churn risk = P(no purchase in the next `horizon_days`), learned from `snapshots`
    earlier cut-offs of the customers' own history; rules stand in below `min_rows`
    training rows or `min_events` churn events."""

    horizon_days: int = 90
    snapshots: int = 4
    min_rows: int = 500
    min_events: int = 50
    max_train_rows: int = 300_000
    reasons: int = 3
    seed: int = 7


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    """Stage thresholds: lapsed after `lapsed_days` without purchase; at risk from
    `at_risk` churn risk; new while the first purchase is under `new_days` old or single;
    expanding when the last year's spend grew by `expanding_growth` or a category was added."""

    lapsed_days: int = 365
    at_risk: float = 0.6
    new_days: int = 90
    expanding_growth: float = 1.25


@dataclass(frozen=True, kw_only=True)
class Offers:
    """Next best offers: up-sells first — the next tier up of a ladder in `tiers` (name ->
    items from lowest to highest, e.g. {"broadband": ("basic", "plus", "premium")}) whose
    highest held tier is below the top — then cross-sells from co-purchase; `top` items not
    yet held in all, on `item_field`."""

    item_field: str = "category"
    top: int = 3
    min_support: int = 5
    tiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AnalysisSpec:
    """Everything an analytics run computes, as data."""

    traits: tuple[TraitSpec, ...] = DEFAULT_TRAITS
    input: Input = field(default_factory=Input)
    value: Value = field(default_factory=Value)
    rfm_segments: tuple[RfmSegment, ...] = DEFAULT_RFM_SEGMENTS
    clustering: Clustering = field(default_factory=Clustering)
    churn: Churn = field(default_factory=Churn)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    offers: Offers = field(default_factory=Offers)
    # OpenMP threads for the models (k-means, gradient boosting). One by default: on a
    # small shared machine busy-waiting OpenMP threads lose badly to any other load
    # (measured on 2 cores under load: churn fit 19 s with 2 threads, 0.9 s with 1).
    threads: int | None = 1
