"""Connectors: one singer-sdk tap per source system, registered by entry point.

A connector knows its system, never the hub store. Rows a tap cannot read come out
as records carrying ``_crmhub_error`` (see :mod:`connectors.errors`).
"""

from __future__ import annotations

from connectors.errors import (
    ERROR_PROPERTY,
    ConnectorFatalError,
    ConnectorLoadError,
    ConnectorRetriableError,
    UnknownConnectorError,
    error_property_schema,
    quarantine,
)
from connectors.files import TapFiles
from connectors.registry import ENTRY_POINT_GROUP, available_connectors, load_connector
from connectors.sql import TapSQL
from connectors.writers import PushItem, WriteError, Writer, load_writer

__all__ = [
    "ENTRY_POINT_GROUP",
    "ERROR_PROPERTY",
    "ConnectorFatalError",
    "ConnectorLoadError",
    "ConnectorRetriableError",
    "PushItem",
    "TapFiles",
    "TapSQL",
    "UnknownConnectorError",
    "WriteError",
    "Writer",
    "available_connectors",
    "error_property_schema",
    "load_connector",
    "load_writer",
    "quarantine",
]
