"""Identity resolution: standardise → block → compare → score → cluster → survive → ids.

A pure engine: it imports only `schemas/` and third-party libraries (no store, web or CLI).
Each stage is a module named for what it does; the batch run is
`identity.resolve.resolve(records, Settings(...))`. (Functions named like their module —
`resolve`, `score`, `cluster`, `standardise` — are imported from the module, so that the
module itself stays importable as `identity.<stage>`.)
"""

from __future__ import annotations

from identity.cluster import Clustering
from identity.ids import Assignment, IdEvent, assign_ids, golden_id_for
from identity.matcher import Candidate, Matcher
from identity.resolve import Resolution, Settings
from identity.score import Model, Scored, estimate
from identity.survivorship import GoldenRecord, Provenance, survive

__all__ = [
    "Assignment",
    "Candidate",
    "Clustering",
    "GoldenRecord",
    "IdEvent",
    "Matcher",
    "Model",
    "Provenance",
    "Resolution",
    "Scored",
    "Settings",
    "assign_ids",
    "estimate",
    "golden_id_for",
    "survive",
]
