"""The hub: store, sync pipeline, identity persistence and the `crmhub` CLI.

It orchestrates and may import `schemas/`, `connectors/` and `identity/`; nothing imports it
but `dags/`. (`hub.sync.sync`, named like its module, is imported from the module.)
"""

from __future__ import annotations

from hub.golden import ResolveSummary, resolve_store
from hub.store import Store
from hub.sync import RetryPolicy, SyncResult, sync_connector

__all__ = [
    "ResolveSummary",
    "RetryPolicy",
    "Store",
    "SyncResult",
    "resolve_store",
    "sync_connector",
]
