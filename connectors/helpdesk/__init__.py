"""django-helpdesk: support tickets in, golden ids back into a ticket custom field.

The REST API under ``/helpdesk/api/`` (django-helpdesk 2.6, staff users only; HTTP Basic or
a DRF token). :class:`TapHelpdesk` emits ``tickets``, ``followups`` and ``contacts`` — one
contact per distinct submitter e-mail (lower case), since that is all the helpdesk knows of
a customer. :class:`HelpdeskWriter` writes the golden id into a ticket custom field (e.g.
``crm_id``, created in the helpdesk admin) on every ticket of that submitter; it takes no
contact fields (``writable_fields`` is empty: the e-mail is the contact's id).

The API has no modified-since filter: every run reads all pages, and the hub's content
hashes skip unchanged records. ``created``/``modified`` of a ticket are the dates of its
first and last follow-up (the ticket serializer does not expose the columns).

A ``hub.yaml`` for it::

    connectors:
      - name: support
        type: helpdesk
        config:
          base_url: https://support.example.com   # site root; API at /helpdesk/api/
          username: crmhub                        # a staff user (or `token: ${...}`)
          password: ${HELPDESK_PASSWORD}
          page_size: 100
        streams:
          contacts:
            entity: customer
            mapping:
              email: email
              kind: {const: person}
          tickets:
            entity: interaction
            mapping:
              type: {const: ticket}
              occurred_at: created
              customer_source_id: contact_id
              subject: title
              status: status
              channel: {const: helpdesk}
          followups:
            entity: interaction
            mapping:
              type: {const: ticket}
              occurred_at: date
              customer_source_id: contact_id
              subject: {coalesce: [title, comment]}
              status: new_status
              channel: {const: helpdesk}
    pushback:
      enabled: true
      targets:
        support:
          mode: update-only
          golden_id_field: crm_id
"""

from __future__ import annotations

from connectors.helpdesk.api import HelpdeskSettings
from connectors.helpdesk.tap import TapHelpdesk
from connectors.helpdesk.writer import HelpdeskWriter

__all__ = ["HelpdeskSettings", "HelpdeskWriter", "TapHelpdesk"]
