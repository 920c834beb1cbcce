"""Connector errors and the quarantine convention for rows a tap cannot read.

A tap never silently drops a bad row and never aborts a run for one: it yields a
record whose reserved property ``_crmhub_error`` says what went wrong, where, and
holds the raw text, so the hub can quarantine it for a person to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

__all__ = [
    "ERROR_PROPERTY",
    "ConnectorFatalError",
    "ConnectorLoadError",
    "ConnectorRetriableError",
    "UnknownConnectorError",
    "error_property_schema",
    "error_value",
    "parse_stream_configs",
    "quarantine",
]

ERROR_PROPERTY = "_crmhub_error"
"""Reserved record property holding ``{"reason", "raw", "location"}`` for a bad row."""

_ERROR_FIELDS = ("reason", "raw", "location")
_Model = TypeVar("_Model", bound=BaseModel)


class ConnectorFatalError(FatalAPIError):
    """The source cannot be read and retrying will not help (bad credentials, no table)."""


class ConnectorRetriableError(RetriableAPIError):
    """The source failed in a way that may pass on a later attempt (a timeout)."""


class UnknownConnectorError(LookupError):
    """No connector is registered under the requested name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = sorted(known)
        listed = ", ".join(self.known) or "none"
        super().__init__(
            f"unknown connector {name!r}; known connectors: {listed}. "
            "Use `type: singer` to run any external Singer tap, or `pip install` a "
            "package that registers the 'crm_hub.connectors' entry-point group to add "
            "more."
        )

    def __str__(self) -> str:
        return str(self.args[0])


class ConnectorLoadError(ImportError):
    """A registered connector's entry point could not be imported or is not a Tap."""


def error_property_schema() -> dict[str, Any]:
    """JSON Schema of the optional ``_crmhub_error`` property every stream declares."""
    return {
        "type": ["object", "null"],
        "properties": {field: {"type": ["string"]} for field in _ERROR_FIELDS},
        "required": list(_ERROR_FIELDS),
    }


def error_value(reason: str, raw: str, location: str) -> dict[str, str]:
    """The value of ``_crmhub_error`` for one bad row."""
    return {"reason": reason, "raw": raw, "location": location}


def quarantine(
    recovered: dict[str, Any],
    *,
    reason: str,
    raw: str,
    location: str,
    logger: logging.Logger,
) -> dict[str, Any]:
    """A record for a row that could not be read: what was recovered plus the error.

    Logs the location and the reason (never the raw text) at DEBUG: the row goes to the hub's
    quarantine table, and a sync prints one count per connector, not a line per row.
    """
    logger.debug("quarantined row at %s: %s", location, reason)
    return {**recovered, ERROR_PROPERTY: error_value(reason, raw, location)}


def parse_stream_configs(
    plugin: str, model: type[_Model], streams: Sequence[Mapping[str, Any]]
) -> list[_Model]:
    """The ``streams`` setting validated with ``model``; problems as one config error.

    Each problem reads ``streams.<index>.<field>: <what is wrong>``; duplicate stream
    names are rejected too.
    """
    try:
        configs = TypeAdapter(list[model]).validate_python(list(streams))  # type: ignore[valid-type]
    except ValidationError as exc:
        errors = [
            f"streams.{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigValidationError(f"{plugin}: {'; '.join(errors)}", errors=errors) from None
    names = [getattr(config, "name", None) for config in configs]
    if duplicates := sorted({str(name) for name in names if names.count(name) > 1}):
        msg = f"{plugin}: duplicate stream names: {', '.join(duplicates)}"
        raise ConfigValidationError(msg, errors=[msg])
    return list(configs)
