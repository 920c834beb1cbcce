"""One-line errors say which key is wrong, and never show a password."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from connectors.files import TapFiles
from hub.core.errors import one_line


def test_a_tap_config_error_names_the_key_that_is_wrong() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        TapFiles(config={"streams": [{"name": "people"}]}, parse_env_config=False)
    assert one_line(caught.value) == (
        "Config validation failed: 'path' is a required property in config['streams'][0]"
    )


def test_a_url_password_is_masked() -> None:
    text = one_line(RuntimeError("could not connect to postgresql://hub:s3cret@db/hub"))
    assert "s3cret" not in text and "hub:***@" in text
