"""Logged contacts: a colleague records a call, visit, note or complaint on a customer.

A logged contact is an ordinary interaction of source `hub` (hub.store.hub_source): it is on
the customer's timeline, and `crmhub analyse` reads it like any other, so it feeds the
traits (last contact and its topic, complaints, open tickets) with no change to them. It is
filed under one member source record of the golden record, not under the golden id, so a
later merge, unmerge or resolve carries it along as it carries the member's orders.

With a call-back date it also opens a worklist item (hub.steward.worklist) for its owner.
One transaction, one audit entry; interactions are only ever appended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import Connection

from hub.core.clock import as_utc, now
from hub.core.states import GoldenStatus, Role
from hub.steward.audit import record_audit
from hub.steward.auth import User as _User
from hub.steward.auth import has_role
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.steward.worklist import hub_today, open_call_back
from hub.store.hub_source import anchor_member, write_hub_interaction
from hub.store.tables import golden_records, users

__all__ = [
    "CHANNELS",
    "KINDS",
    "ContactIn",
    "LoggedContact",
    "check_owner",
    "contact_from_form",
    "log_contact",
]

Kind = Literal["call", "visit", "note", "complaint"]
Channel = Literal["phone", "in person", "e-mail", "video", "chat", "sms", "letter", "other"]
KINDS: tuple[str, ...] = get_args(Kind)
"""What a colleague can log; each is an interaction type of the canonical model."""
CHANNELS: tuple[str, ...] = get_args(Channel)
_DEFAULT_CHANNEL = {"call": "phone", "visit": "in person"}
_FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks of browser and server differ a little


class ContactIn(BaseModel):
    """One logged contact as the API and the form send it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    kind: Kind = "call"
    topic: str = Field(min_length=1, max_length=200, description="What it was about.")
    outcome: str | None = Field(
        None, max_length=100, description="How it ended, shown on the timeline."
    )
    channel: Channel | None = Field(
        None, description="How it happened; a call defaults to phone, a visit in person."
    )
    note: str | None = Field(None, max_length=4000)
    occurred_at: dt.datetime | None = Field(
        None, description="When it happened (UTC if no offset is given); default now."
    )
    call_back_on: dt.date | None = Field(
        None, description="Call the customer back on this day (hub time zone: UTC)."
    )
    call_back_owner: str | None = Field(
        None, max_length=100, description="Who calls back (a steward or admin); default you."
    )

    @field_validator("outcome", "note", "call_back_owner", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("channel", "occurred_at", "call_back_on", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("call_back_on")
    @classmethod
    def _not_in_the_past(cls, value: dt.date | None) -> dt.date | None:
        today = hub_today()
        if value is not None and value < today:
            raise PydanticCustomError(  # not ValueError: its ctx would not be JSON in a 422
                "date_in_the_past",
                "{day} is in the past; choose today ({today}) or a later day",
                {"day": str(value), "today": str(today)},
            )
        return value

    @field_validator("occurred_at")
    @classmethod
    def _not_in_the_future(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        moment = as_utc(value)
        if moment > now() + _FUTURE_SLACK:
            raise PydanticCustomError(
                "moment_in_the_future", "is in the future; log a contact after it happened"
            )
        return moment


def contact_from_form(fields: dict[str, str]) -> ContactIn:
    """A ContactIn from the customer page's form; a mistake is InvalidInput (422) naming
    each field and what is wrong with it."""
    try:
        return ContactIn.model_validate(fields)
    except ValidationError as error:
        raise InvalidInput(
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'form'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            )
        ) from error


@dataclass(frozen=True, kw_only=True)
class LoggedContact:
    """What logging did: the interaction's id (`hub/<uuid>`), the customer, the worklist
    item it opened (if a call-back was asked for) and a one-line summary."""

    interaction_id: str
    golden_id: str
    worklist_item: int | None
    summary: str


def _customer(conn: Connection, golden_id: str) -> None:
    g = golden_records.c
    row = conn.execute(sa.select(g.status, g.merged_into).where(g.golden_id == golden_id)).first()
    if row is None:
        raise NotFound(f"no customer {golden_id}; search for the customer and open their page")
    if row.status == GoldenStatus.MERGED:
        raise Conflict(f"customer {golden_id} was merged into {row.merged_into}; log it there")
    if row.status != GoldenStatus.ACTIVE:
        raise Conflict(f"customer {golden_id} is {row.status}; it has no source records left")


def check_owner(conn: Connection, owner: str, field: str) -> str:
    """`owner` if it is an active user who may work the worklist (steward or above); else
    InvalidInput naming `field`."""
    u = users.c
    row = conn.execute(
        sa.select(u.id, u.username, u.role).where(u.username == owner, u.active.is_(True))
    ).first()
    if row is None:
        raise InvalidInput(f"{field}: no active user {owner!r}; give a user name of the hub")
    if not has_role(_User(row.id, row.username, row.role), Role.STEWARD):
        raise InvalidInput(
            f"{field}: {owner} is {row.role} and cannot work the worklist; "
            "choose a steward or an admin"
        )
    return str(row.username)


def log_contact(conn: Connection, actor: str, golden_id: str, contact: ContactIn) -> LoggedContact:
    """Record `contact` on customer `golden_id` (and open its call-back item)."""
    _customer(conn, golden_id)
    member = anchor_member(conn, golden_id)
    if member is None:
        raise Conflict(f"customer {golden_id} has no source records to file the contact under")
    owner = None
    if contact.call_back_on is not None:
        owner = check_owner(conn, contact.call_back_owner or actor, "call_back_owner")
    elif contact.call_back_owner:
        raise InvalidInput("call_back_owner: give a call_back_on day too, or leave the owner out")
    channel = contact.channel or _DEFAULT_CHANNEL.get(contact.kind)
    occurred = contact.occurred_at or now()
    extra: dict[str, object] = {"logged_by": actor, "golden_id": golden_id}
    if contact.note:
        extra["note"] = contact.note
    interaction_id = write_hub_interaction(
        conn,
        member=member,
        kind=contact.kind,
        occurred_at=occurred,
        subject=contact.topic,
        status=contact.outcome,
        channel=channel,
        extra=extra,
    )
    item_id = None
    summary = f"logged a {contact.kind} with {golden_id}: {contact.topic}"
    if contact.call_back_on is not None and owner is not None:
        item_id = open_call_back(
            conn,
            actor,
            golden_id=golden_id,
            member=member,
            topic=contact.topic,
            channel=channel,
            owner=owner,
            due_on=contact.call_back_on,
            contact_id=interaction_id,
        )
        summary += f"; call back on {contact.call_back_on} by {owner} (item {item_id})"
    record_audit(
        conn,
        actor,
        "contact.logged",
        "golden",
        golden_id,
        {
            "summary": summary,
            "interaction_id": interaction_id,
            "kind": contact.kind,
            "topic": contact.topic,
            "outcome": contact.outcome,
            "worklist_item": item_id,
            "call_back_on": None if contact.call_back_on is None else str(contact.call_back_on),
            "owner": owner,
        },
    )
    return LoggedContact(
        interaction_id=interaction_id, golden_id=golden_id, worklist_item=item_id, summary=summary
    )
