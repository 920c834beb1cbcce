"""TapStripe: customers (new, changed and deleted), invoices, charges and payment intents
from the Stripe API."""

from __future__ import annotations

from functools import cached_property

import stripe
from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from connectors.stripe.customers import CustomersStream
from connectors.stripe.settings import (
    DEFAULT_API_BASE,
    STREAM_NAMES,
    StripeSettings,
    make_client,
    parse_settings,
)
from connectors.stripe.streams import (
    ChargesStream,
    InvoicesStream,
    PaymentIntentsStream,
    StripeStream,
)

__all__ = ["TapStripe"]

_STREAMS: dict[str, type[StripeStream]] = {
    stream.resource: stream
    for stream in (CustomersStream, InvoicesStream, ChargesStream, PaymentIntentsStream)
}


class TapStripe(Tap):
    """Stripe (billing): customers and, as interactions, invoices, charges, payment intents."""

    name = "tap-crmhub-stripe"
    package_name = "crm-hub"
    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            description="Stripe secret key (sk_...) or a restricted key with read access.",
        ),
        th.Property(
            "api_base",
            th.StringType,
            default=DEFAULT_API_BASE,
            description="Stripe API address; point it at a test server such as localstripe.",
        ),
        th.Property("page_size", th.IntegerType(minimum=1, maximum=100), default=100),
        th.Property("start_date", th.DateTimeType, description="Read nothing created before this."),
        th.Property(
            "streams",
            th.ArrayType(th.StringType(allowed_values=list(STREAM_NAMES))),
            default=list(STREAM_NAMES),
            description="Which streams to read.",
        ),
        th.Property(
            "filter_on_server",
            th.BooleanType,
            default=True,
            description="Send the bookmark as created[gt]; false for servers that reject it "
            "(localstripe), which reads every page and filters locally.",
        ),
        th.Property("timeout", th.NumberType, default=30.0, description="Seconds per request."),
        th.Property(
            "updates_from_events",
            th.BooleanType,
            default=True,
            description="Read changed and deleted customers from Stripe's events on "
            "incremental runs (kept 30 days); false for a key without access to events.",
        ),
    ).to_dict()

    @cached_property
    def settings(self) -> StripeSettings:
        """The validated, frozen settings."""
        return parse_settings(self.name, dict(self.config))

    @cached_property
    def client(self) -> stripe.StripeClient:
        """The one SDK client the streams share."""
        return make_client(self.settings)

    def discover_streams(self) -> list[Stream]:
        """The configured streams; discovery needs no request (the schemas are fixed)."""
        return [
            _STREAMS[name](self, client=self.client, settings=self.settings)
            for name in self.settings.streams
        ]
