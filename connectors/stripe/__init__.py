"""Stripe (billing): a singer-sdk tap over the official `stripe` SDK and a push-back writer.

Streams (all incremental by ``created``, epoch seconds; cursor pagination with
``starting_after``/``has_more``): ``customers`` (email, name, phone, address, metadata),
``invoices``, ``charges`` and ``payment_intents``. A customer has no modification stamp, so
changed and deleted customers come from Stripe's ``customer.updated``/``customer.deleted``
events (:mod:`connectors.stripe.customers`). Money streams keep Stripe's integer
amounts in the smallest currency unit and add ``amount_major`` (12.5 for 1250 EUR cents;
zero- and three-decimal currencies handled), because a hub mapping does not do arithmetic.
A 401/403 is a :class:`~connectors.errors.ConnectorFatalError` saying to check the key;
connection failures, timeouts, 429 and 5xx are :class:`~connectors.errors.ConnectorRetriableError`.

The writer (:class:`StripeWriter`) sets ``metadata[<golden_id_field>]`` on the Stripe
customer and fills or corrects email, phone, name and address; it can create customers.

A ``hub.yaml`` entry (payment intents stay raw: every successful one is also a charge)::

    connectors:
      - name: billing
        type: stripe
        config:
          api_key: ${STRIPE_API_KEY}
          # api_base: http://127.0.0.1:8420   # a Stripe-compatible test server
          # filter_on_server: false           # localstripe rejects created[...] filters
        streams:
          customers:
            entity: customer
            mapping:
              full_name: name
              street: address.line1
              postal_code: address.postal_code
              city: address.city
              country: address.country
          invoices:
            entity: interaction
            mapping:
              customer_source_id: customer
              type: {const: invoice}
              occurred_at: created
              amount: amount_major
          charges:
            entity: interaction
            mapping:
              customer_source_id: customer
              type: {const: payment}
              occurred_at: created
              amount: amount_major

``email``, ``phone``, ``currency`` and ``status`` land from the same-named Stripe fields;
``occurred_at: created`` takes epoch seconds as a UTC time.
"""

from __future__ import annotations

from connectors.stripe.settings import StripeSettings
from connectors.stripe.tap import TapStripe
from connectors.stripe.writer import StripeWriter

__all__ = ["StripeSettings", "StripeWriter", "TapStripe"]
