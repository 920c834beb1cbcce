"""A built-in connector's bad config names the key path under the connector in hub.yaml."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from hub.core.errors import SyncError
from hub.sync.runners import build_tap, config_problems
from schemas.config import ConnectorConfig

SHOP = ConnectorConfig(name="shop", type="files", config={})


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (
            ["'path' is a required property in config['streams'][0]"],
            "connectors[shop].config.streams[0].path: required, add it",
        ),
        (["'streams' is a required property"], "connectors[shop].config.streams: required, add it"),
        (
            ["5 is not of type 'string' in config['streams'][1]['name']"],
            "connectors[shop].config.streams[1].name: 5 is not of type 'string'",
        ),
        (["something else"], "connectors[shop].config: something else"),
    ],
    ids=["nested-required", "top-required", "wrong-type", "unplaced"],
)
def test_config_errors_name_the_key_path(errors: list[str], expected: str) -> None:
    problem = config_problems(
        SHOP, ConfigValidationError("Config validation failed", errors=errors)
    )
    assert problem == f"invalid connector config: {expected}"


def test_a_files_stream_without_path_names_the_key() -> None:
    with pytest.raises(SyncError) as caught:
        build_tap(SHOP, {"streams": [{"name": "people"}]}, {})
    assert "connectors[shop].config.streams[0].path: required" in str(caught.value)
    assert not caught.value.retriable
