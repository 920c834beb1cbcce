"""Identity resolution: standardise → block → compare → score → cluster → survive → ids.

A pure engine: it imports only `schemas/` and third-party libraries (no store, web or CLI).
`resolve()` is the batch run; each stage is its own module and usable alone.
"""

from __future__ import annotations

from identity.cluster import Clustering, cluster
from identity.ids import Assignment, IdEvent, assign_ids, golden_id_for
from identity.matcher import Candidate, Matcher
from identity.resolve import Resolution, Settings, resolve
from identity.score import Model, Scored, estimate, score
from identity.standardise import standardise
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
    "cluster",
    "estimate",
    "golden_id_for",
    "resolve",
    "score",
    "standardise",
    "survive",
]
