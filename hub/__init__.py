"""The hub: store, sync pipeline, identity persistence and the `crmhub` CLI.

It orchestrates and may import `schemas/`, `connectors/` and `identity/`; nothing imports it
but `dags/`. (`hub.sync.sync`, named like its module, is imported from the module.)
"""

from __future__ import annotations

from hub.golden import ResolveSummary, resolve_store
from hub.store import Store
from hub.sync import RetryPolicy, SyncResult, sync_connector
from schemas.config import ConfigError, HubConfig, load_config

__all__ = [
    "ConfigError",
    "HubConfig",
    "ResolveSummary",
    "RetryPolicy",
    "Store",
    "SyncResult",
    "load_config",
    "resolve_store",
    "sync_connector",
]
