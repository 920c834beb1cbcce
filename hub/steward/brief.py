"""The field-service brief: what a technician needs on one sheet before a visit, and the
visit report after it.

One customer's contact and address, equipment and contracts (with their renewal or service
days), open tickets, the last contacts with their notes (the note a colleague logged is
shown here, it is on no other page), open worklist items, and risk and value in one line.
Read from the store as it is now: the golden record, the interactions of every member
record (the hub's own logged contacts included), the latest analysis's profile.

A visit report is a logged contact of kind `visit` (hub.steward.contacts.log_contact): what
was found is its topic, what was done its note, with a short outcome and, optionally, a
follow-up day. From a worklist item's brief it can also settle that item, the visit being
the item's outcome on the timeline (one interaction, not two).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from analytics.traits import CONTACT, OPEN
from hub.analyse.queries import profile
from hub.core.states import GoldenStatus
from hub.steward.contacts import ContactIn, LoggedContact, log_contact
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.steward.worklist import WorkItem, complete_item, get_item, hub_today, open_items_of
from hub.store.hub_source import HUB_SOURCE, member_key
from hub.store.tables import crosswalk, golden_records, interactions

__all__ = ["Brief", "VisitReport", "field_brief", "record_visit", "risk_value_line"]

LAST_CONTACTS = 10
HOLDINGS = ("equipment", "contract")
TICKETS = ("ticket", "complaint")


@dataclass(frozen=True, kw_only=True)
class Brief:
    """One customer's field-service brief (and the worklist item it was printed for)."""

    golden_id: str
    name: str
    kind: str | None
    email: str | None
    phone: str | None
    address: str
    holdings: list[dict[str, Any]]
    open_tickets: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    items: list[WorkItem]
    risk_value: str
    as_of: str | None
    item: WorkItem | None = None
    printed_on: dt.date = field(default_factory=hub_today)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("items", "item")}
        out["items"] = [i.as_json() for i in self.items]
        out["item"] = None if self.item is None else self.item.as_json()
        plain: dict[str, Any] = _plain(out)
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def risk_value_line(card: dict[str, Any] | None) -> str:
    """Risk and value in one line, from the latest analysis (or why there is none)."""
    if card is None:
        return "Not analysed yet: run crmhub analyse for risk and value."
    parts = []
    risk = card.get("churn_risk")
    parts.append("churn risk " + ("unknown" if risk is None else f"{round(100 * risk)} %"))
    clv = card.get("clv_12m")
    parts.append("value (CLV 12 months) " + ("unknown" if clv is None else f"{float(clv):,.0f}"))
    parts.append(f"stage {card.get('stage') or 'unknown'}")
    reasons = card.get("churn_reasons") or []
    if reasons:
        parts.append("why: " + ", ".join(str(r) for r in reasons))
    return "; ".join(parts).capitalize()


def _name(record: dict[str, Any]) -> str:
    joined = " ".join(p for p in (record.get("given_name"), record.get("family_name")) if p)
    return joined or record.get("full_name") or record.get("organization_name") or ""


def _customer_interactions(
    conn: Connection, golden_id: str, types: tuple[str, ...], *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Interactions of the given types of every member record (and the hub's own logged
    contacts filed under a member), newest first."""
    x, i = crosswalk.c, interactions.c
    keys = [
        (r.source, r.source_id)
        for r in conn.execute(sa.select(x.source, x.source_id).where(x.golden_id == golden_id))
    ]
    if not keys:
        return []
    filed = [member_key(*key) for key in keys]
    query = (
        sa.select(i.source, i.source_id, i.type, i.occurred_at, i.status, i.channel, i.subject)
        .add_columns(i.extra)
        .where(
            i.customer_source_id.in_([key[1] for key in keys] + filed),  # indexed first
            sa.or_(
                sa.tuple_(i.source, i.customer_source_id).in_(keys),
                sa.and_(i.source == HUB_SOURCE, i.customer_source_id.in_(filed)),
            ),
            i.type.in_(types),
            i.deleted.is_(False),
        )
        .order_by(i.occurred_at.desc(), i.source, i.source_id)
    )
    if limit is not None:
        query = query.limit(limit)
    found = []
    for row in conn.execute(query):
        extra = row.extra or {}
        found.append(
            {
                "source": row.source,
                "id": f"{row.source}/{row.source_id}",
                "type": row.type,
                "occurred_at": row.occurred_at,
                "status": row.status,
                "channel": row.channel,
                "subject": row.subject,
                "note": extra.get("note"),
                "logged_by": extra.get("logged_by"),
                "renewal_at": extra.get("renewal_at"),
            }
        )
    return found


def field_brief(conn: Connection, golden_id: str, *, item_id: int | None = None) -> Brief:
    """The brief for customer `golden_id` (or for worklist item `item_id`'s customer, when
    given: then `golden_id` may be the item's customer under any earlier id)."""
    item = None
    if item_id is not None:
        item = get_item(conn, item_id)
        golden_id = item.golden_id
    g = golden_records.c
    row = conn.execute(
        sa.select(g.status, g.merged_into, g.kind, g.record).where(g.golden_id == golden_id)
    ).first()
    if row is None:
        raise NotFound(f"no customer {golden_id}; search for the customer and open their page")
    if row.status == GoldenStatus.MERGED:
        raise Conflict(f"customer {golden_id} was merged into {row.merged_into}; open that brief")
    record = row.record or {}
    address = " ".join(
        str(record[f])
        for f in ("street", "house_number", "postal_code", "city", "country")
        if record.get(f)
    )
    holdings = _customer_interactions(conn, golden_id, HOLDINGS)
    tickets = [
        t
        for t in _customer_interactions(conn, golden_id, TICKETS)
        if (t["status"] or "").lower() in OPEN
    ]
    contacts = _customer_interactions(conn, golden_id, CONTACT, limit=LAST_CONTACTS)
    card = profile(conn, golden_id)
    return Brief(
        golden_id=golden_id,
        name=_name(record) or golden_id,
        kind=row.kind,
        email=record.get("email"),
        phone=record.get("phone"),
        address=address,
        holdings=holdings,
        open_tickets=tickets,
        contacts=contacts,
        items=open_items_of(conn, golden_id),
        risk_value=risk_value_line(card),
        as_of=None if card is None else card.get("as_of"),
        item=item,
    )


@dataclass(frozen=True, kw_only=True)
class VisitReport:
    """What the visit found and what was done (the brief's form)."""

    found: str
    done: str = ""
    outcome: str = ""
    follow_up_on: str = ""
    settles_item: bool = False


def record_visit(
    conn: Connection,
    actor: str,
    golden_id: str,
    report: VisitReport,
    *,
    item_id: int | None = None,
    version: int | None = None,
) -> LoggedContact:
    """Log the visit on the customer (a `visit` contact: found as its topic, done as its
    note); with `item_id` and `settles_item`, that worklist item is done with this visit as
    its outcome. One transaction (the caller's); mistakes name the form field."""
    if item_id is not None:
        golden_id = get_item(conn, item_id).golden_id
    fields = {
        "kind": "visit",
        "topic": report.found,
        "note": report.done,
        "outcome": report.outcome,
        "call_back_on": report.follow_up_on,
    }
    try:
        contact = ContactIn.model_validate(fields)
    except ValidationError as error:
        rename = {"topic": "found", "note": "done", "call_back_on": "follow_up_on"}
        raise InvalidInput(
            "; ".join(
                f"{rename.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else 'form'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in error.errors()
            )
        ) from error
    logged = log_contact(conn, actor, golden_id, contact)
    if item_id is not None and report.settles_item:
        _, summary = complete_item(
            conn,
            actor,
            item_id,
            report.outcome or "visited",
            kind="visit",
            version=version,
            logged=logged.interaction_id,
        )
        return LoggedContact(
            interaction_id=logged.interaction_id,
            golden_id=logged.golden_id,
            worklist_item=logged.worklist_item,
            summary=f"{logged.summary}; {summary}",
        )
    return logged
