"""The canonical customer record: the public interchange contract of crm-hub."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CUSTOMER_FIELDS", "CustomerRecord", "EntityKind"]


class EntityKind(StrEnum):
    """Whether a record describes a natural person or an organisation."""

    person = "person"
    organization = "organization"


class CustomerRecord(BaseModel):
    """One customer as one source system knows it.

    The field set is a public contract (JSON Lines of it feed `crmhub resolve`). Every key
    is null where unknown; keys beyond these are allowed and kept verbatim.
    """

    model_config = ConfigDict(
        extra="allow", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    source: str = Field(min_length=1, description="Name of the source system (connector).")
    source_id: str = Field(min_length=1, description="The record's id inside its source system.")
    kind: EntityKind | None = None
    given_name: str | None = None
    family_name: str | None = None
    full_name: str | None = None
    organization_name: str | None = None
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: dt.date | None = Field(default=None, description="YYYY-MM-DD")
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, upper case.")
    updated_at: dt.datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_null(cls, data: Any) -> Any:
        """An empty or blank string means unknown (one pass over the record, not per field)."""
        if isinstance(data, dict):
            return {
                k: None
                if isinstance(v, str) and k not in _REQUIRED and (not v or v.isspace())
                else v
                for k, v in data.items()
            }
        return data

    @field_validator("birth_date", mode="before")
    @classmethod
    def _iso_date_only(cls, value: object) -> object:
        """Birth dates are exactly YYYY-MM-DD (a timestamp's date part is accepted)."""
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            if len(text) > 10 and text[10] in "T ":
                text = text[:10]
            try:
                return dt.date.fromisoformat(text) if len(text) == 10 else _bad_date(value)
            except ValueError:
                return _bad_date(value)
        return value

    @field_validator("country")
    @classmethod
    def _iso2(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValueError(f"country must be an ISO-2 code such as 'HU', got {value!r}")
        return code


_REQUIRED = frozenset({"source", "source_id"})


def _bad_date(value: object) -> object:
    raise ValueError(f"birth_date must be YYYY-MM-DD, got {value!r}")


CUSTOMER_FIELDS: tuple[str, ...] = tuple(CustomerRecord.model_fields)
