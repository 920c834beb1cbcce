"""The helpdesk streams: tickets, their follow-ups, and contacts derived from tickets.

django-helpdesk's API has no modified-since filter, so every sync reads all ticket pages
(DRF page-number pagination, following `next`); the hub's content hashes skip what did not
change. One read serves all three streams: the ticket list embeds each ticket's follow-ups
(`followup_set`), and the contacts are the distinct submitter e-mails. The ticket
serializer has no `created`/`modified`: creating a ticket always writes a "Ticket Opened"
follow-up, so `created` is the first follow-up's date and `modified` the last one's."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import ParseResult, parse_qsl

import orjson
import requests
from requests.auth import AuthBase
from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.streams import RESTStream

from connectors.errors import (
    ERROR_PROPERTY,
    ConnectorFatalError,
    ConnectorRetriableError,
    error_property_schema,
    quarantine,
)
from connectors.helpdesk.api import (
    STATUS_LABELS,
    HelpdeskSettings,
    connection_problem,
    contact_id,
    http_problem,
)

if TYPE_CHECKING:
    from singer_sdk import Tap

__all__ = [
    "ContactsStream",
    "DRFNextPaginator",
    "FollowupsStream",
    "HelpdeskStream",
    "TicketSpool",
    "TicketsStream",
]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})


class DRFNextPaginator(BaseHATEOASPaginator):
    """Django REST framework's page-number pagination: follow the `next` link."""

    def get_next_url(self, response: requests.Response) -> str | None:
        body = response.json()
        nxt = body.get("next") if isinstance(body, dict) else None
        return str(nxt) if nxt else None


def _with_error_property(schema: th.PropertiesList) -> dict[str, Any]:
    result = schema.to_dict()
    result["properties"]["_crmhub_error"] = error_property_schema()
    return result


class HelpdeskStream(RESTStream[ParseResult | None]):
    """One API collection, read page by page; failures as one-line connector errors."""

    path: str
    settings: HelpdeskSettings

    def __init__(self, tap: Tap, settings: HelpdeskSettings) -> None:
        self.settings = settings
        super().__init__(tap)

    @property
    def url_base(self) -> str:
        return self.settings.api_url

    @property
    def timeout(self) -> int:
        return max(1, round(self.settings.timeout))

    @property
    def authenticator(self) -> AuthBase:
        return self.settings.auth()

    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    def get_new_paginator(self) -> DRFNextPaginator:
        return DRFNextPaginator()

    def get_url_params(
        self, context: Context | None, next_page_token: ParseResult | None
    ) -> dict[str, Any]:
        """`page_size`, plus the `page` of the `next` link (its host is not trusted)."""
        params: dict[str, Any] = {"page_size": self.settings.page_size}
        if next_page_token is not None:
            params.update(parse_qsl(next_page_token.query))
        return params

    def backoff_max_tries(self) -> int:
        return 3

    def validate_response(self, response: requests.Response) -> None:
        """429 and 5xx may pass later; 401/403/404 and other 4xx will not."""
        if response.status_code in _RETRY_STATUSES or response.status_code >= 500:
            raise ConnectorRetriableError(http_problem(response), response)
        if response.status_code >= 400:
            raise ConnectorFatalError(http_problem(response))

    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        try:
            return super()._request(prepared_request, context)
        except requests.Timeout as exc:
            url = prepared_request.url or self.url_base
            raise ConnectorRetriableError(connection_problem(url, exc)) from exc
        except requests.ConnectionError as exc:  # refused, unknown host: retrying won't help
            url = prepared_request.url or self.url_base
            raise ConnectorFatalError(connection_problem(url, exc)) from None

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The `results` of a DRF page (or the list, if the API is not paginated)."""
        try:
            body = response.json()
        except ValueError:
            msg = (
                f"django-helpdesk {response.request.method} {response.url}: answered "
                f"{response.headers.get('Content-Type', 'no content type')}, not JSON — "
                "check base_url and api_path"
            )
            raise ConnectorFatalError(msg) from None
        items = body.get("results") if isinstance(body, dict) else body
        if not isinstance(items, list):
            msg = f"django-helpdesk {response.url}: unexpected answer without `results`"
            raise ConnectorFatalError(msg)
        for position, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("id"), int):
                yield item
            else:
                yield quarantine(
                    {},
                    reason="not an object with an integer id",
                    raw=json.dumps(item),
                    location=f"{response.url} item {position}",
                    logger=self.logger,
                )


def _dates(followups: Any) -> list[str]:
    if not isinstance(followups, list):
        return []
    return sorted(str(f["date"]) for f in followups if isinstance(f, dict) and f.get("date"))


def _status(code: Any) -> str | None:
    return STATUS_LABELS.get(code, str(code)) if code is not None else None


class TicketSpool:
    """One read of every ticket page per sync, shared by the three streams.

    The ticket list embeds each ticket's follow-ups, so it is all the tap needs: the first
    stream to sync reads the pages into a temporary file (memory stays flat however many
    tickets there are) and every stream reads that same snapshot, so contacts, follow-ups
    and tickets agree. A stream asking a second time means a new sync: the pages are read
    again.
    """

    def __init__(self) -> None:
        self.reader: TicketsStream | None = None
        self._file: IO[bytes] | None = None
        self._consumers: set[str] = set()

    def rows(self, consumer: str) -> Iterator[dict[str, Any]]:
        """The raw ticket objects of the API (quarantine records included), in id order."""
        if self._file is None or consumer in self._consumers:
            self._fill()
        self._consumers.add(consumer)
        assert self._file is not None
        self._file.seek(0)
        for line in self._file:
            yield orjson.loads(line)

    def _fill(self) -> None:
        assert self.reader is not None
        if self._file is not None:
            self._file.close()
        self._file, self._consumers = None, set()
        file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool
        try:
            for row in self.reader.request_records(None):
                file.write(orjson.dumps(row) + b"\n")
        except BaseException:
            file.close()
            raise
        self._file = file


class TicketsStream(HelpdeskStream):
    """Every ticket; custom fields under `custom_fields` by name (`crm_id` ...)."""

    name = "tickets"
    path = "tickets/"
    primary_keys = ("id",)
    replication_key = None
    schema = _with_error_property(
        th.PropertiesList(
            th.Property("id", th.IntegerType, required=True),
            th.Property("title", th.StringType),
            th.Property("description", th.StringType),
            th.Property("resolution", th.StringType),
            th.Property("submitter_email", th.StringType),
            th.Property("contact_id", th.StringType, description="Submitter e-mail, lower case."),
            th.Property("status", th.StringType, description="Status label, e.g. Open."),
            th.Property("status_code", th.IntegerType),
            th.Property("on_hold", th.BooleanType),
            th.Property("priority", th.IntegerType, description="1 Critical … 5 Very Low."),
            th.Property("queue", th.IntegerType),
            th.Property("assigned_to", th.IntegerType),
            th.Property("merged_to", th.IntegerType),
            th.Property("due_date", th.DateTimeType),
            th.Property("created", th.DateTimeType, description="First follow-up's date."),
            th.Property("modified", th.DateTimeType, description="Last follow-up's date."),
            th.Property("followup_count", th.IntegerType),
            th.Property(
                "custom_fields",
                th.ObjectType(additional_properties=True),
                description="Ticket custom fields by name (the API's `custom_<name>` keys).",
            ),
        )
    )

    def __init__(self, tap: Tap, settings: HelpdeskSettings, spool: TicketSpool) -> None:
        super().__init__(tap, settings)
        self.spool = spool
        spool.reader = self

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        return self.spool.rows(self.name)

    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        if ERROR_PROPERTY in row:
            return row
        followups = row.get("followup_set") or []
        dates = _dates(followups)
        custom = {
            key.removeprefix("custom_"): value if value != "" else None
            for key, value in row.items()
            if key.startswith("custom_")
        }
        return {
            "id": row["id"],
            "title": row.get("title"),
            "description": row.get("description"),
            "resolution": row.get("resolution"),
            "submitter_email": row.get("submitter_email") or None,
            "contact_id": contact_id(row.get("submitter_email")),
            "status": _status(row.get("status")),
            "status_code": row.get("status"),
            "on_hold": row.get("on_hold"),
            "priority": row.get("priority"),
            "queue": row.get("queue"),
            "assigned_to": row.get("assigned_to"),
            "merged_to": row.get("merged_to"),
            "due_date": row.get("due_date"),
            "created": dates[0] if dates else None,
            "modified": dates[-1] if dates else None,
            "followup_count": len(followups) if isinstance(followups, list) else 0,
            "custom_fields": custom,
        }


class FollowupsStream(Stream):
    """Every follow-up (comment or status change) of every ticket, with the ticket's customer.

    Taken from the tickets' embedded `followup_set` (the same objects `/api/followups/`
    lists), so follow-ups and their tickets come from one consistent read.
    """

    name = "followups"
    # Ticket ids and follow-up ids overlap; the pair keeps both unique as interactions.
    primary_keys = ("ticket", "id")
    replication_key = None
    schema = _with_error_property(
        th.PropertiesList(
            th.Property("id", th.IntegerType, required=True),
            th.Property("ticket", th.IntegerType, required=True),
            th.Property("contact_id", th.StringType, description="The ticket's submitter."),
            th.Property("date", th.DateTimeType),
            th.Property("title", th.StringType),
            th.Property("comment", th.StringType),
            th.Property("public", th.BooleanType),
            th.Property("user", th.IntegerType),
            th.Property("new_status", th.StringType, description="Status label it set, if any."),
            th.Property("time_spent", th.StringType),
        )
    )

    def __init__(self, tap: Tap, spool: TicketSpool) -> None:
        self.spool = spool
        super().__init__(tap)

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        for ticket in self.spool.rows(self.name):
            if ERROR_PROPERTY in ticket:
                continue
            customer = contact_id(ticket.get("submitter_email"))
            for position, followup in enumerate(ticket.get("followup_set") or []):
                if not isinstance(followup, dict) or not isinstance(followup.get("id"), int):
                    yield quarantine(
                        {"ticket": ticket["id"]},
                        reason="follow-up is not an object with an integer id",
                        raw=orjson.dumps(followup).decode(),
                        location=f"ticket {ticket['id']} followup_set[{position}]",
                        logger=self.logger,
                    )
                    continue
                yield {
                    "id": followup["id"],
                    "ticket": ticket["id"],
                    "contact_id": customer,
                    "date": followup.get("date"),
                    "title": followup.get("title"),
                    "comment": followup.get("comment"),
                    "public": followup.get("public"),
                    "user": followup.get("user"),
                    "new_status": _status(followup.get("new_status")),
                    "time_spent": followup.get("time_spent"),
                }


class ContactsStream(Stream):
    """One record per distinct submitter e-mail: the customers the helpdesk knows."""

    name = "contacts"
    primary_keys = ("email",)
    replication_key = None
    schema = _with_error_property(
        th.PropertiesList(
            th.Property("email", th.StringType, required=True, description="Lower case."),
            th.Property("first_ticket_at", th.DateTimeType),
        )
    )

    def __init__(self, tap: Tap, spool: TicketSpool) -> None:
        self.spool = spool
        super().__init__(tap)

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        first: dict[str, str | None] = {}
        for ticket in self.spool.rows(self.name):
            email = None if ERROR_PROPERTY in ticket else contact_id(ticket.get("submitter_email"))
            if email is None:
                continue
            dates = _dates(ticket.get("followup_set"))
            created = dates[0] if dates else None
            known = first.get(email)
            if email not in first or (created is not None and (known is None or created < known)):
                first[email] = created
        for email in sorted(first):
            yield {"email": email, "first_ticket_at": first[email]}
