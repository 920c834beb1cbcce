"""Interactions: everything that happened between a customer and the company."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["INTERACTION_FIELDS", "Interaction", "InteractionType"]


class InteractionType(StrEnum):
    """What kind of event an interaction is."""

    order = "order"
    invoice = "invoice"
    payment = "payment"
    ticket = "ticket"
    web_event = "web_event"
    call = "call"
    other = "other"
    contract = "contract"  # a contract held, e.g. with its renewal date
    equipment = "equipment"  # a device or installation the customer has
    refund = "refund"  # money given back; its amount is positive
    payout = "payout"  # money paid to the customer (commission, claim)
    complaint = "complaint"  # a complaint, however it arrived
    visit = "visit"  # a visit by or to the customer
    note = "note"  # a free-text note by staff


class Interaction(BaseModel):
    """One order, invoice, payment, refund, ticket, complaint, web event, call, visit, note,
    contract or equipment record of one customer."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    source: str = Field(min_length=1)
    source_id: str = Field(min_length=1, description="The interaction's id in its source.")
    customer_source_id: str | None = Field(
        default=None, description="The customer's source_id in the same source system."
    )
    type: InteractionType
    occurred_at: dt.datetime
    amount: Decimal | None = None
    currency: str | None = Field(default=None, description="ISO 4217 code, upper case.")
    status: str | None = None
    channel: str | None = None
    subject: str | None = None

    @field_validator("source_id", "customer_source_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("ids must be text or integers, not booleans")
        return str(value) if isinstance(value, int) else value

    @field_validator("currency")
    @classmethod
    def _iso4217(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"currency must be an ISO 4217 code such as 'EUR', got {value!r}")
        return code


INTERACTION_FIELDS: tuple[str, ...] = tuple(Interaction.model_fields)
