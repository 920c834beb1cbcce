"""Resolve: the identity engine run on the store's customer records (step 2 of sync →
resolve → review → push).

`run` resolves the store into golden records, crosswalk and review queue, keeping golden ids
stable and honouring stewards' decisions — incrementally (`incremental`: only what the
changes since the last run touch, with the stored model; `changes`, `state`) unless a full
run is asked for or due; `persist` writes an outcome back; `batch` is the file-in,
file-out batch contract (`crmhub resolve --input … --crosswalk …`).
"""

from __future__ import annotations

from hub.resolve.batch import read_records, write_crosswalk, write_golden
from hub.resolve.incremental import DRIFT_SHARE
from hub.resolve.run import ResolveSummary, resolve_store

__all__ = [
    "DRIFT_SHARE",
    "ResolveSummary",
    "read_records",
    "resolve_store",
    "write_crosswalk",
    "write_golden",
]
