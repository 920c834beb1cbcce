"""HelpdeskWriter: the golden id into a ticket custom field on every ticket of a customer.

django-helpdesk knows a customer only as a ticket's submitter e-mail, so a contact's
`source_id` is that e-mail (lower case) and the golden id is written to each of their
tickets. Custom fields appear in the ticket serializer as `custom_<name>` keys — only for
fields that exist (admin → Custom fields); an unknown key in a PATCH is silently ignored
by DRF, so the writer checks the key is there first and that the answer holds the value.

Audience membership (`apply_audience`): django-helpdesk has no per-customer record and no
per-contact field, so the closest real equivalent is a ticket custom field,
`crmhub_audiences` (varchar), on every ticket of the submitter, holding the names of the
audiences the customer is in, sorted and comma-separated (filterable in the ticket list), or
`-` once the customer left the last one (the API refuses a blank or null value).
Carried fields have no place there.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlparse

import requests

from connectors.helpdesk.api import (
    HelpdeskSettings,
    connection_problem,
    contact_id,
    http_problem,
    load_settings,
)
from connectors.writers import PushItem, WriteError, Writer

__all__ = ["AUDIENCES_FIELD", "NO_AUDIENCE", "HelpdeskWriter"]

AUDIENCES_FIELD = "crmhub_audiences"
NO_AUDIENCE = "-"  # the API refuses a blank or null custom field once set; never a name


class HelpdeskWriter(Writer):
    """PATCHes `custom_<golden_id_field>` on the tickets of one submitter e-mail."""

    writable_fields: ClassVar[frozenset[str]] = frozenset()
    """None: the submitter e-mail is the only contact field and it is the contact's id
    (rewriting it would re-key the customer); everything else on a ticket is the ticket's."""
    can_create: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings: HelpdeskSettings = load_settings("helpdesk writer", config)
        self._session = requests.Session()
        self._session.auth = self.settings.auth()
        self._session.headers["Accept"] = "application/json"
        self._by_contact: dict[str, list[dict[str, Any]]] | None = None

    def update(self, item: PushItem) -> None:
        if item.values:
            fields = ", ".join(sorted(item.values))
            raise WriteError(f"django-helpdesk takes only the golden id, not {fields}")
        contact = contact_id(item.source_id)
        tickets = self._tickets().get(contact or "")
        if not tickets:
            raise WriteError(
                f"django-helpdesk has no ticket submitted by {item.source_id!r} "
                "(deleted or re-addressed since the last sync?)"
            )
        key = "custom_" + item.golden_id_field.removeprefix("custom_")
        if key not in tickets[0]:
            raise WriteError(
                f"django-helpdesk has no ticket custom field {key.removeprefix('custom_')!r}: "
                "add it (admin → Custom fields, type varchar) or set golden_id_field"
            )
        for ticket in tickets:
            if ticket.get(key) == item.golden_id:
                continue  # already there: no request
            answer = self._call("PATCH", f"tickets/{ticket['id']}/", json={key: item.golden_id})
            if answer.get(key) != item.golden_id:
                raise WriteError(
                    f"django-helpdesk ticket {ticket['id']} did not keep {key}={item.golden_id!r}"
                )
            ticket[key] = item.golden_id

    def apply_audience(
        self,
        golden_id: str,
        source_id: str,
        audience: str,
        member: bool,
        fields: Mapping[str, Any],
    ) -> None:
        """Add `audience` to (or remove it from) `custom_crmhub_audiences` of each ticket."""
        tickets = self._tickets().get(contact_id(source_id) or "")
        if not tickets:
            raise WriteError(f"django-helpdesk has no ticket submitted by {source_id!r}")
        key = "custom_" + AUDIENCES_FIELD
        if key not in tickets[0]:
            raise WriteError(
                f"django-helpdesk has no ticket custom field {AUDIENCES_FIELD!r}: add it "
                "(admin → Custom fields, type varchar, long enough for the audience names)"
            )
        for ticket in tickets:
            names = {n for n in str(ticket.get(key) or "").split(",") if n and n != NO_AUDIENCE}
            wanted = names | {audience} if member else names - {audience}
            if wanted == names:
                continue  # already so: no request
            value = ",".join(sorted(wanted)) or NO_AUDIENCE
            answer = self._call("PATCH", f"tickets/{ticket['id']}/", json={key: value})
            if answer.get(key) != value:
                raise WriteError(f"django-helpdesk ticket {ticket['id']} did not keep {key}")
            ticket[key] = value

    def close(self) -> None:
        self._session.close()

    # -- the API --------------------------------------------------------------------------
    def _tickets(self) -> dict[str, list[dict[str, Any]]]:
        """Tickets by submitter (the API cannot filter by e-mail): read once per push run."""
        if self._by_contact is None:
            grouped: dict[str, list[dict[str, Any]]] = {}
            params: dict[str, Any] = {"page_size": self.settings.page_size}
            while True:
                page = self._call("GET", "tickets/", params=params)
                for ticket in page.get("results", []):
                    ticket.pop("followup_set", None)
                    if contact := contact_id(ticket.get("submitter_email")):
                        grouped.setdefault(contact, []).append(ticket)
                if not page.get("next"):
                    break
                params = {"page_size": self.settings.page_size}
                params.update(parse_qsl(urlparse(str(page["next"])).query))
            self._by_contact = grouped
        return self._by_contact

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = self.settings.api_url + path
        try:
            response = self._session.request(method, url, timeout=self.settings.timeout, **kwargs)
        except requests.RequestException as exc:
            raise WriteError(connection_problem(url, exc), retriable=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise WriteError(
                http_problem(response), retriable=True, retry_after=retry_after(response)
            )
        if response.status_code >= 400:
            raise WriteError(http_problem(response))
        try:
            body = response.json()
        except ValueError:
            raise WriteError(f"django-helpdesk {method} {url}: answered non-JSON") from None
        if not isinstance(body, dict):
            raise WriteError(f"django-helpdesk {method} {url}: unexpected answer {body!r:.100}")
        return body


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
