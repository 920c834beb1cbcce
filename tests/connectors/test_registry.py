"""The connector registry and the package's public API."""

from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint

import pytest

import connectors
from connectors import (
    ENTRY_POINT_GROUP,
    ConnectorLoadError,
    TapFiles,
    TapSQL,
    UnknownConnectorError,
    available_connectors,
    load_connector,
)
from connectors import registry as registry_module


def test_builtin_connectors_are_registered() -> None:
    assert {"sql", "files"} <= set(available_connectors())
    assert load_connector("sql") is TapSQL
    assert load_connector("files") is TapFiles


def test_unknown_name_lists_known_ones_and_how_to_add_more() -> None:
    with pytest.raises(UnknownConnectorError) as caught:
        load_connector("salesforce")
    message = str(caught.value)
    known = sorted(available_connectors())
    assert message.startswith(
        f"unknown connector 'salesforce'; known connectors: {', '.join(known)}"
    )
    assert "type: singer" in message
    assert "pip install" in message
    assert ENTRY_POINT_GROUP in message
    assert isinstance(caught.value, LookupError)
    assert caught.value.known == known


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(
            "crmhub_no_such_module:TapX", "failed to import: ModuleNotFoundError", id="import"
        ),
        pytest.param("connectors.sql:NoSuchTap", "failed to import: AttributeError", id="attr"),
        pytest.param("json:dumps", "not a singer_sdk.Tap subclass", id="not-a-tap"),
    ],
)
def test_broken_entry_point_names_itself(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    broken = EntryPoint(name="broken", value=value, group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [broken])
    with pytest.raises(ConnectorLoadError) as caught:
        load_connector("broken")
    message = str(caught.value)
    assert f"connector 'broken' (entry point '{value}'" in message
    assert problem in message


def test_public_names_are_exactly_all() -> None:
    public = {
        name
        for name, value in vars(connectors).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(connectors.__all__)
