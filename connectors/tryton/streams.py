"""The Tryton streams: parties (customers) and, where installed, sales and invoices.

Each stream reads one Tryton model with ``search_read`` in pages of ``page_size``, walking
ids upward (``id > last id``), which neither skips nor repeats a record when others are
changed or deleted during the run (offset paging would). Incremental runs read records
whose ``write_date`` (or, never written, ``create_date``) is at or after the bookmark.

Tryton sends timestamps in whole seconds over XML-RPC, so the bookmark is the truncated
value and ``>=`` re-reads the records of its second (harmless: the hub sees them
unchanged). Records come in id order, not bookmark order; the bookmark is therefore kept
to the end of the run and capped by a signpost, the newest timestamp when the run began,
so a record changed during the run is read again next time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record

from connectors.errors import ERROR_PROPERTY, error_property_schema, quarantine
from connectors.tryton.client import (
    Domain,
    TrytonClient,
    iso_utc,
    tryton_errors,
)
from connectors.tryton.records import (
    INVOICE_FIELDS,
    PARTY_FIELDS,
    SALE_FIELDS,
    invoice_record,
    party_record,
    sale_record,
)

__all__ = ["InvoicesStream", "PartiesStream", "SalesStream", "TrytonStream", "updated_since"]

_STAMP_PROPERTIES = (
    th.Property("id", th.IntegerType, required=True),
    th.Property("create_date", th.DateTimeType),
    th.Property("write_date", th.DateTimeType),
    th.Property("updated_at", th.DateTimeType, description="write_date, else create_date."),
)


def _schema(*properties: th.Property[Any]) -> dict[str, Any]:
    schema = th.PropertiesList(*_STAMP_PROPERTIES, *properties).to_dict()
    schema["properties"][ERROR_PROPERTY] = error_property_schema()
    return schema


def updated_since(start: str | None) -> Domain:
    """Records written (or, never written, created) at or after ``start``."""
    if start is None:
        return []
    return [
        "OR",
        ("write_date", ">=", start),
        [("write_date", "=", None), ("create_date", ">=", start)],
    ]


class TrytonStream(Stream):
    """One Tryton model, paged by id; subclasses name the model, its fields and the record."""

    model: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]

    def __init__(self, tap: Tap, client: TrytonClient) -> None:
        self.client = client
        super().__init__(tap=tap)
        self.primary_keys = ["id"]
        self.replication_key = "updated_at"

    @property
    def is_sorted(self) -> bool:
        """Id order, not bookmark order: the bookmark is final only at the end of a run."""
        return False

    def _search(self, domain: Domain, **kwargs: Any) -> list[dict[str, Any]]:
        with tryton_errors(self.client.settings, f"stream {self.name!r}: reading {self.model}"):
            return self.client.search_read(self.model, domain, **kwargs)

    def to_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One row of ``search_read`` as a record (raises on a row it cannot read)."""
        raise NotImplementedError

    def get_replication_key_signpost(self, context: Context | None = None) -> Any:
        """The newest write/creation time when the run begins (caps the new bookmark)."""
        newest: list[str] = []
        for stamp in ("write_date", "create_date"):
            rows = self._search(
                [(stamp, "!=", None)], fields=[stamp], order=[(stamp, "DESC")], limit=1
            )
            newest.extend(value for row in rows if (value := iso_utc(row.get(stamp))))
        return max(newest, default=None)

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Records updated since the bookmark, a page at a time in id order."""
        start = self.get_starting_replication_key_value(context)
        domain = updated_since(start if isinstance(start, str) else None)
        page_size = self.client.settings.page_size
        last_id = 0
        while True:
            page = self._search(
                [("id", ">", last_id), *([domain] if domain else [])],
                fields=self.fields,
                order=[("id", "ASC")],
                limit=page_size,
            )
            for row in page:
                yield self._record(row)
            if len(page) < page_size:
                return
            last_id = int(page[-1]["id"])

    def _record(self, row: Mapping[str, Any]) -> Record:
        try:
            return self.to_record(row)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            record_id = row.get("id")
            return quarantine(
                {"id": record_id if isinstance(record_id, int) else None},
                reason=f"unreadable {self.model} record: {exc}",
                raw=json.dumps(row, default=str, sort_keys=True),
                location=f"{self.client.settings.where} {self.model} id {record_id}",
                logger=self.logger,
            )


_DOCUMENT_PROPERTIES = (
    th.Property(
        "record_ref",
        th.StringType,
        description="Tryton's reference, e.g. 'sale.sale,7': unique across sales and invoices.",
    ),
    th.Property("number", th.StringType),
    th.Property("reference", th.StringType),
    th.Property("description", th.StringType),
    th.Property("state", th.StringType),
    th.Property("party_id", th.IntegerType, description="The customer's party id."),
    th.Property("currency", th.StringType, description="ISO 4217 code."),
    th.Property("untaxed_amount", th.NumberType),
    th.Property("tax_amount", th.NumberType),
    th.Property("total_amount", th.NumberType),
    th.Property("occurred_at", th.StringType, description="The document date, else creation."),
)


class PartiesStream(TrytonStream):
    """Parties (``party.party``): persons and companies with contacts and addresses."""

    name = "parties"
    model = "party.party"
    fields = PARTY_FIELDS

    def to_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """See :func:`connectors.tryton.records.party_record`."""
        return party_record(row, self.client.settings)

    schema = _schema(
        th.Property("name", th.StringType),
        th.Property("code", th.StringType),
        th.Property("active", th.BooleanType),
        th.Property("kind", th.StringType, description="person / organization, by category."),
        th.Property("person_name", th.StringType, description="name unless an organization."),
        th.Property("organization_name", th.StringType),
        th.Property("email", th.StringType),
        th.Property("phone", th.StringType),
        th.Property("mobile", th.StringType),
        th.Property("street", th.StringType),
        th.Property("postal_code", th.StringType),
        th.Property("city", th.StringType),
        th.Property("country", th.StringType, description="ISO 3166-1 alpha-2."),
        th.Property("tax_id", th.StringType),
        th.Property("crmhub_golden_id", th.StringType),
        th.Property("categories", th.ArrayType(th.StringType)),
        th.Property(
            "contact_mechanisms",
            th.ArrayType(
                th.ObjectType(
                    th.Property("id", th.IntegerType),
                    th.Property("type", th.StringType),
                    th.Property("value", th.StringType),
                    th.Property("name", th.StringType),
                    th.Property("active", th.BooleanType),
                )
            ),
        ),
        th.Property(
            "addresses",
            th.ArrayType(
                th.ObjectType(
                    th.Property("id", th.IntegerType),
                    th.Property("street", th.StringType),
                    th.Property("postal_code", th.StringType),
                    th.Property("city", th.StringType),
                    th.Property("country", th.StringType),
                    th.Property("active", th.BooleanType),
                )
            ),
        ),
        th.Property(
            "identifiers",
            th.ArrayType(
                th.ObjectType(
                    th.Property("id", th.IntegerType),
                    th.Property("type", th.StringType),
                    th.Property("code", th.StringType),
                )
            ),
        ),
    )


class SalesStream(TrytonStream):
    """Sale orders (``sale.sale``, module sale) of every company the user may see."""

    name = "sales"
    model = "sale.sale"
    fields = SALE_FIELDS

    def to_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """See :func:`connectors.tryton.records.sale_record`."""
        return sale_record(row, self.client.settings)

    schema = _schema(*_DOCUMENT_PROPERTIES, th.Property("sale_date", th.DateType))


class InvoicesStream(TrytonStream):
    """Invoices (``account.invoice``, module account_invoice), customer and supplier."""

    name = "invoices"
    model = "account.invoice"
    fields = INVOICE_FIELDS

    def to_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """See :func:`connectors.tryton.records.invoice_record`."""
        return invoice_record(row, self.client.settings)

    schema = _schema(
        *_DOCUMENT_PROPERTIES,
        th.Property("invoice_date", th.DateType),
        th.Property("type", th.StringType, description="out (customer) or in (supplier)."),
    )
