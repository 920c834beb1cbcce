"""The analyse stage: customer intelligence from the interactions (`analytics/`).

`run` analyses the hub store (interactions joined through the crosswalk to golden ids) and
writes profiles, segment values and members, the profit curve and stage history, on the
engine `engine` chooses (in process, or on Apache Spark reading the interactions from the
Parquet file `parquet` writes in batches); `queries`
is the read side the API and the pages use; `batch` is the batch contract (interactions
from JSON Lines in, `customers.csv` and `segments.csv` out, no hub.yaml and no store).
"""

from __future__ import annotations

from hub.analyse.batch import read_customers, read_interactions, write_results
from hub.analyse.queries import (
    last_run,
    lorenz_points,
    profile,
    risk_distribution,
    segment_members,
    segment_values,
    segmentations,
    stage_funnel,
    value_deciles,
)
from hub.analyse.run import AnalyseSummary, analyse_store

__all__ = [
    "AnalyseSummary",
    "analyse_store",
    "last_run",
    "lorenz_points",
    "profile",
    "read_customers",
    "read_interactions",
    "risk_distribution",
    "segment_members",
    "segment_values",
    "segmentations",
    "stage_funnel",
    "value_deciles",
    "write_results",
]
