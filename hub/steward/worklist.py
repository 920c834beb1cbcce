"""The worklist: call-backs due, per owner — assign, snooze until a day, mark done.

An item is opened by a logged contact that asked for a call-back (hub.steward.contacts). It
names its customer by a member source record, like the contact, so the list shows the
golden record the member is in now (after merges). Marking an item done records its
outcome as a `hub` interaction on the customer's timeline. Each change is one transaction:
the item row moves on (optimistically locked by `version`), an event is appended to
`worklist_events`, and one audit entry is written.

Days are in the hub's time zone, which is UTC (hub.yaml has no time-zone setting): "due
tomorrow" is tomorrow in UTC, and an item is overdue once its due day has passed in UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from hub.core.clock import now
from hub.steward.audit import record_audit
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.store.hub_source import golden_ids_of, member_key, write_hub_interaction
from hub.store.tables import crosswalk, golden_records, worklist_events, worklist_items
from schemas.worklists import RULE_KINDS

__all__ = [
    "DONE_KINDS",
    "DUE_FILTERS",
    "HUB_TIMEZONE",
    "ITEM_KINDS",
    "PAGE_SIZE",
    "WorkItem",
    "WorklistPage",
    "assign_item",
    "complete_item",
    "due_range",
    "get_item",
    "hub_today",
    "list_worklist",
    "open_call_back",
    "open_items_of",
    "snooze_item",
]

HUB_TIMEZONE = "UTC"
"""The zone worklist days are counted in (hub.yaml has no time-zone setting)."""
DUE_FILTERS = ("all", "overdue", "today", "tomorrow", "week")
"""`due` filters besides one day as YYYY-MM-DD; `week` is today and the six days after."""
DONE_KINDS = ("call", "visit", "note")
PAGE_SIZE = 50
OPEN, DONE = "open", "done"
CALL_BACK = "call_back"
ITEM_KINDS = (CALL_BACK, *RULE_KINDS)
"""Call-backs asked for in a logged contact, and the kinds of hub.yaml's worklist rules."""


def hub_today() -> dt.date:
    """Today in the hub's time zone (UTC)."""
    return now().date()


def due_range(due: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first and last due day `due` covers (None: open-ended); InvalidInput naming `due`
    for anything else."""
    if due == "all":
        return None, None
    if due == "overdue":
        return None, today - dt.timedelta(days=1)
    if due == "today":
        return today, today
    if due == "tomorrow":
        return today + dt.timedelta(days=1), today + dt.timedelta(days=1)
    if due == "week":
        return today, today + dt.timedelta(days=6)
    try:
        day = dt.date.fromisoformat(due)
    except ValueError:
        raise InvalidInput(
            f"due: {due!r} is not a filter; use {', '.join(DUE_FILTERS)} or a day YYYY-MM-DD"
        ) from None
    return day, day


@dataclass(frozen=True, kw_only=True)
class WorkItem:
    """One worklist item as people see it; `golden_id` is the customer's record now."""

    id: int
    kind: str
    golden_id: str
    customer: str
    topic: str
    reason: str
    channel: str | None
    owner: str
    due_on: dt.date
    first_due_on: dt.date
    snoozed_until: dt.date | None
    status: str
    overdue: bool
    outcome: str | None
    done_by: str | None
    done_at: dt.datetime | None
    contact_id: str | None
    done_contact_id: str | None
    created_by: str
    created_at: dt.datetime
    version: int
    rule: str | None = None  # the hub.yaml rule that opened it (None: a call-back)
    stale_since: dt.datetime | None = None  # its rule's condition no longer holds since

    @property
    def no_longer_applies(self) -> bool:
        return self.stale_since is not None

    def as_json(self) -> dict[str, Any]:
        out = {
            name: (value.isoformat() if isinstance(value, dt.date) else value)
            for name, value in self.__dict__.items()
        }
        out["no_longer_applies"] = self.no_longer_applies
        return out


@dataclass(frozen=True, kw_only=True)
class WorklistPage:
    """A page of the worklist, soonest due first, with the total matching the filter."""

    items: list[WorkItem]
    total: int
    page: int
    size: int
    today: dt.date
    owner: str | None
    due: str
    status: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def as_json(self) -> dict[str, Any]:
        return {
            "items": [item.as_json() for item in self.items],
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "size": self.size,
            "today": self.today.isoformat(),
            "timezone": HUB_TIMEZONE,
            "owner": self.owner,
            "due": self.due,
            "status": self.status,
        }


def _display_name(record: dict[str, Any] | None) -> str:
    record = record or {}
    joined = " ".join(p for p in (record.get("given_name"), record.get("family_name")) if p)
    return joined or record.get("full_name") or record.get("organization_name") or ""


def list_worklist(
    conn: Connection,
    *,
    owner: str | None = None,
    due: str = "all",
    status: Literal["open", "done"] = "open",
    page: int = 1,
    size: int = PAGE_SIZE,
    today: dt.date | None = None,
    kind: str | None = None,
) -> WorklistPage:
    """One page of `owner`'s items (everyone's when None) with `status`, due in `due`, of
    one `kind` (call_back, birthday, service, churn_rise, welcome; None: all); open items
    soonest due first, done items latest done first."""
    today = today or hub_today()
    first, last = due_range(due, today)
    page, size = max(int(page), 1), min(max(int(size), 1), 500)
    w = worklist_items.c
    where = [w.status == status]
    if owner is not None:
        where.append(w.owner == owner)
    if kind:
        if kind not in ITEM_KINDS:
            raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(ITEM_KINDS)}")
        where.append(w.kind == kind)
    if first is not None:
        where.append(w.due_on >= first)
    if last is not None:
        where.append(w.due_on <= last)
    total = int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar() or 0)
    order = (w.due_on, w.id) if status == OPEN else (w.done_at.desc(), w.id.desc())
    rows = conn.execute(
        sa.select(worklist_items)
        .where(*where)
        .order_by(*order)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    items = _items(conn, rows, today)
    return WorklistPage(
        items=items,
        total=total,
        page=page,
        size=size,
        today=today,
        owner=owner,
        due=due,
        status=status,
    )


def open_items_of(
    conn: Connection, golden_id: str, *, today: dt.date | None = None, limit: int = 50
) -> list[WorkItem]:
    """The open items of one customer (filed under any of its member records), soonest due
    first: what the customer page lists."""
    x, w = crosswalk.c, worklist_items.c
    members = [
        member_key(r.source, r.source_id)
        for r in conn.execute(sa.select(x.source, x.source_id).where(x.golden_id == golden_id))
    ]
    if not members:
        return []
    rows = conn.execute(
        sa.select(worklist_items)
        .where(w.member.in_(members), w.status == OPEN)
        .order_by(w.due_on, w.id)
        .limit(limit)
    ).all()
    return _items(conn, rows, today or hub_today())


def _items(conn: Connection, rows: Sequence[Row[Any]], today: dt.date) -> list[WorkItem]:
    """The rows as WorkItems, each under the golden record its member is in now."""
    now_in = golden_ids_of(conn, (row.member for row in rows))
    golden = {row.member: now_in.get(row.member, row.golden_id) for row in rows}
    g = golden_records.c
    records = dict(
        conn.execute(
            sa.select(g.golden_id, g.record).where(g.golden_id.in_(set(golden.values())))
        ).all()
    )
    return [
        WorkItem(
            id=row.id,
            kind=row.kind,
            golden_id=golden[row.member],
            customer=_display_name(records.get(golden[row.member])) or golden[row.member],
            topic=row.topic,
            reason=row.reason,
            channel=row.channel,
            owner=row.owner,
            due_on=row.due_on,
            first_due_on=row.first_due_on,
            snoozed_until=row.snoozed_until,
            status=row.status,
            overdue=row.status == OPEN and row.due_on < today,
            outcome=row.outcome,
            done_by=row.done_by,
            done_at=row.done_at,
            contact_id=row.contact_id,
            done_contact_id=row.done_contact_id,
            created_by=row.created_by,
            created_at=row.created_at,
            version=row.version,
            rule=row.rule,
            stale_since=row.stale_since,
        )
        for row in rows
    ]


def get_item(conn: Connection, item_id: int, *, today: dt.date | None = None) -> WorkItem:
    """One item by id (open or done), under the golden record its member is in now."""
    row = conn.execute(sa.select(worklist_items).where(worklist_items.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"no worklist item {item_id}; reload the worklist")
    return _items(conn, [row], today or hub_today())[0]


def _event(conn: Connection, item_id: int, event: str, actor: str, **detail: Any) -> None:
    conn.execute(
        worklist_events.insert().values(
            item_id=item_id, event=event, actor=actor, at=now(), detail=detail
        )
    )


def open_call_back(
    conn: Connection,
    actor: str,
    *,
    golden_id: str,
    member: str,
    topic: str,
    channel: str | None,
    owner: str,
    due_on: dt.date,
    contact_id: str,
) -> int:
    """Open a call-back item (inside the logging transaction, which audits it); its id."""
    stamp = now()
    result = conn.execute(
        worklist_items.insert().values(
            kind=CALL_BACK,
            golden_id=golden_id,
            member=member,
            topic=topic,
            reason=f"Call back: {topic}",
            channel=channel,
            owner=owner,
            due_on=due_on,
            first_due_on=due_on,
            status=OPEN,
            contact_id=contact_id,
            created_by=actor,
            created_at=stamp,
            updated_at=stamp,
            version=1,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    item_id = int(key[0])
    _event(conn, item_id, "created", actor, owner=owner, due_on=str(due_on), contact=contact_id)
    return item_id


def _open_item(conn: Connection, item_id: int, version: int | None) -> Row[Any]:
    w = worklist_items.c
    row = conn.execute(sa.select(worklist_items).where(w.id == item_id)).first()
    if row is None:
        raise NotFound(f"no worklist item {item_id}; reload the worklist")
    if row.status == DONE:
        raise Conflict(
            f"worklist item {item_id} was already done by {row.done_by} "
            f"({row.outcome}); reload the worklist"
        )
    if version is not None and row.version != version:
        raise Conflict(
            f"worklist item {item_id} changed since you loaded it (version {version}, now "
            f"{row.version}); reload the worklist and try again"
        )
    return row


def _update(conn: Connection, row: Row[Any], **values: Any) -> None:
    w = worklist_items.c
    result = conn.execute(
        worklist_items.update()
        .where(w.id == row.id, w.version == row.version)
        .values(**values, version=row.version + 1, updated_at=now())
    )
    if result.rowcount != 1:
        raise Conflict(
            f"worklist item {row.id} was changed by someone else at the same time; "
            "reload and try again"
        )


def _audit(conn: Connection, actor: str, action: str, row: Row[Any], **detail: Any) -> None:
    record_audit(
        conn,
        actor,
        f"worklist.{action}",
        "worklist_item",
        str(row.id),
        {"golden_id": row.golden_id, "item": row.id, **detail},
    )


def assign_item(
    conn: Connection, actor: str, item_id: int, owner: str, version: int | None = None
) -> str:
    """Give an open item to `owner` (checked by the caller: hub.steward.contacts.check_owner);
    the one-line summary."""
    row = _open_item(conn, item_id, version)
    if owner == row.owner:
        raise InvalidInput(f"owner: item {item_id} is already {owner}'s")
    _update(conn, row, owner=owner)
    _event(conn, item_id, "assigned", actor, owner=owner, previous=row.owner)
    summary = f"gave worklist item {item_id} ({row.topic}) to {owner}"
    _audit(conn, actor, "assign", row, summary=summary, owner=owner, previous=row.owner)
    return summary


def snooze_item(
    conn: Connection,
    actor: str,
    item_id: int,
    until: dt.date,
    version: int | None = None,
    *,
    today: dt.date | None = None,
) -> str:
    """Put an open item off until a later day (it is due that day); the summary."""
    today = today or hub_today()
    if until <= today:
        raise InvalidInput(
            f"until: {until} is not after today ({today}, {HUB_TIMEZONE}); choose a later day"
        )
    row = _open_item(conn, item_id, version)
    _update(conn, row, due_on=until, snoozed_until=until)
    _event(conn, item_id, "snoozed", actor, until=str(until), was_due=str(row.due_on))
    summary = f"snoozed worklist item {item_id} ({row.topic}) until {until}"
    _audit(conn, actor, "snooze", row, summary=summary, until=str(until))
    return summary


def complete_item(
    conn: Connection,
    actor: str,
    item_id: int,
    outcome: str,
    *,
    kind: str = "call",
    note: str | None = None,
    version: int | None = None,
    logged: str | None = None,
) -> tuple[str, str]:
    """Mark an open item done: its outcome becomes a `hub` interaction on the customer's
    timeline — or, with `logged`, the contact just logged for it (a visit reported from the
    brief) is its outcome. Returns that interaction's id and the summary."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput("outcome: say how it ended, e.g. 'reached, offer accepted'")
    if len(outcome) > 100:
        raise InvalidInput("outcome: at most 100 characters; put the rest in the note")
    if kind not in DONE_KINDS:
        raise InvalidInput(f"kind: {kind!r} is not one of {', '.join(DONE_KINDS)}")
    row = _open_item(conn, item_id, version)
    extra: dict[str, Any] = {
        "logged_by": actor,
        "golden_id": row.golden_id,
        "worklist_item": item_id,
    }
    if note and note.strip():
        extra["note"] = note.strip()[:4000]
    interaction_id = logged or write_hub_interaction(
        conn,
        member=row.member,
        kind=kind,
        occurred_at=now(),
        subject=f"Call-back: {row.topic}" if row.kind == CALL_BACK else row.topic,
        status=outcome,
        channel=row.channel if kind == "call" else None,
        extra=extra,
    )
    _update(
        conn,
        row,
        status=DONE,
        outcome=outcome,
        done_by=actor,
        done_at=now(),
        done_contact_id=interaction_id,
    )
    _event(conn, item_id, "done", actor, outcome=outcome, contact=interaction_id)
    summary = f"worklist item {item_id} ({row.topic}) done: {outcome}"
    _audit(conn, actor, "done", row, summary=summary, outcome=outcome, interaction=interaction_id)
    return interaction_id, summary
