"""The connector registry: singer-sdk taps registered in the ``crm_hub.connectors`` group.

A package adds a connector by declaring an entry point, e.g. in its pyproject.toml::

    [project.entry-points."crm_hub.connectors"]
    billing = "my_package.billing:TapBilling"
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from singer_sdk import Tap

from connectors.errors import ConnectorLoadError, UnknownConnectorError

__all__ = ["ENTRY_POINT_GROUP", "available_connectors", "load_connector", "load_entry_point"]

ENTRY_POINT_GROUP = "crm_hub.connectors"


def available_connectors() -> dict[str, EntryPoint]:
    """Registered connectors by name (the first registration of a name wins)."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, entry_point)
    return found


def load_connector(name: str) -> type[Tap]:
    """The Tap class registered as ``name``.

    Raises UnknownConnectorError (listing the known names) for an unregistered name and
    ConnectorLoadError when the entry point fails to import or is not a Tap subclass.
    """
    registered = available_connectors()
    entry_point = registered.get(name)
    if entry_point is None:
        raise UnknownConnectorError(name, list(registered))
    return load_entry_point(entry_point, f"connector {name!r}", Tap, "singer_sdk.Tap")


def load_entry_point(entry_point: EntryPoint, what: str, base: type, base_name: str) -> type[Any]:
    """The class an entry point names, checked to subclass `base`; errors name the entry point.

    Raises ConnectorLoadError when it fails to import or is not a `base` subclass.
    """
    where = f"{what} (entry point {entry_point.value!r} in {entry_point.group!r})"
    try:
        loaded = entry_point.load()
    except Exception as exc:
        msg = f"{where} failed to import: {type(exc).__name__}: {exc}"
        raise ConnectorLoadError(msg, name=entry_point.module) from exc
    if not (isinstance(loaded, type) and issubclass(loaded, base)):
        msg = f"{where} is {loaded!r}, not a {base_name} subclass"
        raise ConnectorLoadError(msg, name=entry_point.module)
    return loaded
