"""Fixtures: one localstripe server per session, emptied before each test, and seed helpers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

from connectors.stripe import TapStripe
from tests.singer import CapturingWriter, Run
from tests.systems.stripe.server import flush, start_localstripe


@dataclass(frozen=True)
class LocalStripe:
    base_url: str
    api_key: str
    log: Path

    def config(self, **extra: Any) -> dict[str, Any]:
        """Tap/writer settings for this server (localstripe rejects created[...] filters)."""
        return {
            "api_key": self.api_key,
            "api_base": self.base_url,
            "filter_on_server": False,
            "timeout": 10,
            **extra,
        }

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            self.api_key, base_addresses={"api": self.base_url}, max_network_retries=0
        )

    def logged(self, text: str, *, settle: float = 0.3, timeout: float = 5.0) -> int:
        """How many access-log lines contain `text`, once that number stops growing.

        aiohttp logs a request after sending the response, so a client can be done before
        its last line is written: wait until the count is non-zero and steady for `settle`.
        """
        deadline = time.monotonic() + timeout
        last, steady_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            lines = self.log.read_text(errors="replace").splitlines()
            count = sum(text in line for line in lines)
            if count != last:
                last, steady_since = count, time.monotonic()
            elif count and time.monotonic() - steady_since >= settle:
                break
            time.sleep(0.05)
        return last


@pytest.fixture(scope="session")
def localstripe_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    folder = tmp_path_factory.mktemp("localstripe")
    with start_localstripe(folder) as (base_url, api_key):
        yield LocalStripe(base_url, api_key, folder / "localstripe.log")


@pytest.fixture
def localstripe(localstripe_session: LocalStripe) -> LocalStripe:
    """The session's server with no objects in it."""
    flush(localstripe_session.base_url)
    return localstripe_session


class Seeder:
    """Creates objects through the official SDK, as a Stripe integration would."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client
        self._plan: str | None = None

    def customer(self, number: int, **extra: Any) -> str:
        params: dict[str, Any] = {
            "email": f"customer{number}@example.com",
            "name": f"Customer {number}",
            "phone": f"+3630{number:07d}",
            "address": {
                "line1": f"Fő utca {number}",
                "postal_code": "1011",
                "city": "Budapest",
                "country": "HU",
            },
            "metadata": {"erp_id": f"E-{number}"},
            **extra,
        }
        return str(self.client.v1.customers.create(params=params).id)  # type: ignore[arg-type]

    def card(self, customer: str) -> str:
        """A card payment method attached to `customer` as the invoice default."""
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        method = self.client.v1.payment_methods.create(params={"type": "card", "card": card})  # type: ignore[arg-type]
        self.client.v1.payment_methods.attach(method.id, params={"customer": customer})
        self.client.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": method.id}}
        )
        return str(method.id)

    def charge(self, customer: str, cents: int, currency: str = "eur") -> str:
        """A charge on the customer's card (created through a payment method's token)."""
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        token = self.client.v1.tokens.create(params={"card": card})  # type: ignore[arg-type]
        self.client.v1.customers.payment_sources.create(customer, params={"source": token.id})
        params = {"amount": cents, "currency": currency, "customer": customer}
        return str(self.client.v1.charges.create(params=params).id)  # type: ignore[arg-type]

    def payment_intent(self, customer: str, cents: int) -> str:
        method = self.card(customer)
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": cents,
                "currency": "eur",
                "customer": customer,
                "payment_method": method,
            }
        )
        self.client.v1.payment_intents.confirm(intent.id)
        return str(intent.id)

    def invoice(self, customer: str, cents: int = 2500) -> str:
        """A paid subscription invoice (localstripe makes invoices only for subscriptions)."""
        self.card(customer)
        plan = self.client.v1.plans.create(
            params={
                "amount": cents,
                "currency": "eur",
                "interval": "month",
                "product": str(self.client.v1.products.create(params={"name": "Gold"}).id),
            }
        )
        subscription = self.client.v1.subscriptions.create(
            params={"customer": customer, "items": [{"plan": plan.id}]}
        )
        return str(subscription.latest_invoice)


@pytest.fixture
def seeder(localstripe: LocalStripe) -> Seeder:
    return Seeder(localstripe.client())


def next_second() -> None:
    """Sleep into the next whole second, so objects created after have a later `created`."""
    time.sleep(1.02 - time.time() % 1)


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    writer: CapturingWriter | None = None,
) -> Run:
    """Run TapStripe in-process and keep its messages (also when it fails: pass `writer`)."""
    writer = writer or CapturingWriter()
    TapStripe(config=config, state=state, message_writer=writer).sync_all()
    return Run(writer.messages)
