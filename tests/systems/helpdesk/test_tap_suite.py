"""singer-sdk's own tap test suite against the live django-helpdesk."""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from connectors.helpdesk import TapHelpdesk
from tests.systems.helpdesk.conftest import Seeded

# The suite builds its test class (and a tap, to list the streams) at collection, before any
# fixture runs; the tap touches no network until it syncs, so placeholders do for that, and
# the class fixture below points this same dict at the live server before the first sync.
SUITE_CONFIG: dict[str, Any] = {
    "base_url": "http://127.0.0.1:9",
    "username": "placeholder",
    "password": "placeholder",
    "page_size": 2,  # five tickets: the suite's syncs page through three pages
}

pytestmark = [
    # `_crmhub_error` only appears on quarantined records and the live API sends none.
    pytest.mark.filterwarnings(
        r"ignore:Fields in transformed catalog but not in records. \(\{'_crmhub_error'\}\)"
    ),
    pytest.mark.filterwarnings("ignore:No records were available to test"),
]


class TestTapHelpdesk(
    get_tap_test_class(TapHelpdesk, config=SUITE_CONFIG, suite_config=SuiteConfig())  # type: ignore[misc]
):
    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def live_helpdesk(cls, helpdesk: Seeded) -> None:
        SUITE_CONFIG.update(helpdesk.config(page_size=2))
