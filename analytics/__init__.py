"""Customer intelligence on the golden records: profiles, value, lifetime value, churn risk
with reasons, customer types, segment value, lifecycle stage and next best offers.

A pure engine beside `identity/`: it imports only `schemas/` and third-party libraries (no
store, web or CLI); columnar frames in, frames out. The model is declarative
(`analytics.model.AnalysisSpec`: trait specs, value rules, horizon, segment map, clustering,
offers) and kept apart from the executor that runs the row-level work
(`analytics.backends.Backend`; `analytics.backends.local` runs in process). The batch run
is `analytics.analyse.analyse(interactions, as_of, AnalysisSpec(...))`.
"""

from __future__ import annotations

from analytics.analyse import (
    CUSTOMER_COLUMNS,
    Analysis,
    analyse,
    describe_purchase_model,
    prepare_input,
    with_horizon,
)
from analytics.backends import Backend
from analytics.btyd import BetaGeo, GammaGamma
from analytics.churn import ChurnModel
from analytics.customer_types import TypeModel
from analytics.frame import Prepared, prepare
from analytics.model import AnalysisSpec
from analytics.offers import lookalikes
from analytics.predictive import purchase_pmf, purchase_quantile
from analytics.regime import RegimeBetaGeo, repeat_ages
from analytics.segments import lorenz, pareto_share, segment_value
from analytics.traits import DEFAULT_TRAITS, Condition, TraitSpec

__all__ = [
    "CUSTOMER_COLUMNS",
    "DEFAULT_TRAITS",
    "Analysis",
    "AnalysisSpec",
    "Backend",
    "BetaGeo",
    "ChurnModel",
    "Condition",
    "GammaGamma",
    "Prepared",
    "RegimeBetaGeo",
    "TraitSpec",
    "TypeModel",
    "analyse",
    "describe_purchase_model",
    "lookalikes",
    "lorenz",
    "pareto_share",
    "prepare",
    "prepare_input",
    "purchase_pmf",
    "purchase_quantile",
    "repeat_ages",
    "segment_value",
    "with_horizon",
]
