"""singer-sdk's own tap test suite, against the live trytond server (2 records a page)."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from connectors.tryton import TapTryton
from tests.systems.tryton.seed import shared_server

# `_crmhub_error` only appears on quarantined records and the seeded data has none.
pytestmark = [
    pytest.mark.filterwarnings(
        r"ignore:Fields in transformed catalog but not in records. \(\{'_crmhub_error'\}\)"
    ),
    pytest.mark.filterwarnings("ignore:No records were available to test"),
]

TestTapTryton = get_tap_test_class(
    TapTryton, config={**shared_server()[0].config, "page_size": 2}, suite_config=SuiteConfig()
)
