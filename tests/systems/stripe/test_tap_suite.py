"""singer-sdk's own tap test suite, run against a live localstripe server with seeded data."""

from __future__ import annotations

import pytest
from singer_sdk.testing import SuiteConfig, TapTestRunner, get_tap_test_class

from connectors.stripe import TapStripe
from tests.systems.stripe.conftest import LocalStripe, Seeder
from tests.systems.stripe.server import flush

# `_crmhub_error` appears only on quarantined objects, and localstripe's objects never are.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Fields in transformed catalog but not in records. \(\{'_crmhub_error'\}\)"
)

# Discovery needs no request, so the suite's tests are built from a placeholder config;
# the records come from the runner below, which reads the live server.
_PLACEHOLDER = {"api_key": "sk_test_placeholder", "api_base": "http://127.0.0.1:9"}
_Suite = get_tap_test_class(TapStripe, config=_PLACEHOLDER, suite_config=SuiteConfig())


class TestTapStripe(_Suite):  # type: ignore[misc, valid-type]
    """The whole built-in suite; nothing is skipped (every stream has records)."""

    @pytest.fixture(scope="class")
    @classmethod
    def runner(cls, localstripe_session: LocalStripe) -> TapTestRunner:
        flush(localstripe_session.base_url)
        seed = Seeder(localstripe_session.client())
        first, second, third = (seed.customer(n) for n in (1, 2, 3))
        seed.charge(first, 1250)
        seed.payment_intent(second, 999)
        seed.invoice(third, 2500)
        config = localstripe_session.config(page_size=2)
        runner = TapTestRunner(TapStripe, config=config, suite_config=SuiteConfig())
        runner.sync_all()
        assert all(runner.records[name] for name in runner.new_tap().streams)  # nothing skipped
        return runner
