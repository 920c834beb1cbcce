"""Tryton ERP over XML-RPC (proteus): parties as customers, sales and invoices as
interactions, and push-back of golden ids and contact data into parties.

Tested against trytond 8.2 with the party, sale and account_invoice modules. Settings::

    url: http://erp.example.com:8000     # no credentials in the URL
    database: erp
    user: crmhub
    password: ${TRYTON_PASSWORD}
    page_size: 500                        # records per search_read
    golden_id_prefix: "crmhub:"           # the golden id identifier's code prefix

Streams: ``parties`` (``party.party``: name, kind from its categories, email / phone /
mobile, first address, every contact mechanism, address and identifier, the golden id),
``sales`` (``sale.sale``) and ``invoices`` (``account.invoice``) when those modules are
activated. All are incremental on ``updated_at`` (``write_date``, else ``create_date``).

A hub.yaml connector using it::

    connectors:
      - name: erp
        type: tryton
        config:
          url: http://127.0.0.1:8000
          database: erp
          user: admin
          password: ${TRYTON_PASSWORD}
        streams:
          parties:
            entity: customer
            mapping:
              source_id: id
              kind: kind
              full_name: person_name
              organization_name: organization_name
              email: email
              phone: {coalesce: [phone, mobile]}
              street: street
              postal_code: postal_code
              city: city
              country: country
              tax_id: tax_id
          sales:
            entity: interaction
            mapping:
              customer_source_id: party_id
              type: {const: order}
              occurred_at: occurred_at
              amount: total_amount
              currency: currency
              status: state
              subject: number
          invoices:
            entity: interaction
            mapping:
              customer_source_id: party_id
              type: {const: invoice}
              occurred_at: occurred_at
              amount: total_amount
              currency: currency
              status: state
              subject: number
    pushback:
      enabled: true
      targets:
        erp: {mode: upsert, fields: {email: fill-only, phone: fill-only}}

``source_id`` is the record's primary key (``id``) whatever the mapping says; it is listed
for the reader. Tryton has no person/company flag: ``kind`` comes from the party's
categories (``person_categories`` / ``organization_categories``), and is null otherwise.
"""

from __future__ import annotations

from connectors.tryton.client import TrytonSettings
from connectors.tryton.tap import TapTryton
from connectors.tryton.writer import TrytonWriter

__all__ = ["TapTryton", "TrytonSettings", "TrytonWriter"]
