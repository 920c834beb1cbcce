"""Identity resolution: standardise → block → compare → score → cluster → survive → ids.

A pure engine: it imports only `schemas/` and third-party libraries (no store, web or CLI).
The model is declarative (`identity.model.ModelSpec`: comparisons with their roles,
blocking, training, thresholds, survivorship) and kept apart from the executor that runs it
(`identity.backends.Backend`; `identity.backends.local` runs in process). Each stage is a
module named for what it does; the batch run is `identity.resolve.resolve(records,
Settings(...))`. (Functions named like their module — `resolve`, `score`, `cluster`,
`standardise` — are imported from the module, so that the module itself stays importable
as `identity.<stage>`.)
"""

from __future__ import annotations

from identity.backends import Backend
from identity.cluster import Clustering
from identity.ids import Assignment, IdEvent, assign_ids, golden_id_for
from identity.levels import Comparison, Role
from identity.matcher import Candidate, Matcher
from identity.model import ModelSpec, Settings
from identity.resolve import Resolution
from identity.score import Model, Scored, estimate
from identity.survivorship import GoldenRecord, Provenance, survive

__all__ = [
    "Assignment",
    "Backend",
    "Candidate",
    "Clustering",
    "Comparison",
    "GoldenRecord",
    "IdEvent",
    "Matcher",
    "Model",
    "ModelSpec",
    "Provenance",
    "Resolution",
    "Role",
    "Scored",
    "Settings",
    "assign_ids",
    "estimate",
    "golden_id_for",
    "survive",
]
