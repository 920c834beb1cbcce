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
              source_id: record_ref       # sale.sale,7 (ids repeat across Tryton models)
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
              source_id: record_ref       # account.invoice,7
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

A party's ``source_id`` is its id, the one the writer takes back. Interactions use
``record_ref`` because a sale and an invoice may share an id. Tryton has no person/company
flag: ``kind`` comes from the party's categories (``person_categories`` /
``organization_categories``), and is null otherwise.
"""

from __future__ import annotations

from connectors.tryton.client import TrytonSettings
from connectors.tryton.tap import TapTryton
from connectors.tryton.writer import TrytonWriter

__all__ = ["TapTryton", "TrytonSettings", "TrytonWriter"]
