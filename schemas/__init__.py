"""Canonical models of crm-hub: customer records, interactions and the hub configuration."""

from __future__ import annotations

from schemas.config import (
    ConfigError,
    ConnectorConfig,
    HubConfig,
    IdentityConfig,
    MappingExpr,
    PushbackConfig,
    StoreConfig,
    StreamConfig,
    load_config,
    resolve_env,
)
from schemas.customer import CUSTOMER_FIELDS, CustomerRecord, EntityKind
from schemas.interaction import INTERACTION_FIELDS, Interaction, InteractionType

__all__ = [
    "CUSTOMER_FIELDS",
    "INTERACTION_FIELDS",
    "ConfigError",
    "ConnectorConfig",
    "CustomerRecord",
    "EntityKind",
    "HubConfig",
    "IdentityConfig",
    "Interaction",
    "InteractionType",
    "MappingExpr",
    "PushbackConfig",
    "StoreConfig",
    "StreamConfig",
    "load_config",
    "resolve_env",
]
