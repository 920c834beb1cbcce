"""Browse the golden records without a query: paged, sorted and filtered by source and kind.

The list is what a steward scrolls when they do not know a name yet. It reads only active
golden records; the display name and city come from the golden record itself, the number of
contributing sources from the crosswalk. Every request is one counted, limited query: the
store sorts and pages, Python never sees more than a page of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import GoldenStatus
from hub.steward.errors import InvalidInput
from hub.store.tables import crosswalk, golden_records

__all__ = ["BROWSE_SORTS", "BrowsePage", "BrowseRow", "browse_customers"]

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class BrowseRow:
    """One golden record as the customers list shows it."""

    golden_id: str
    name: str
    kind: str | None
    city: str | None
    email: str | None
    sources: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BrowsePage:
    """A page of the list and how many records match the filters in all."""

    rows: list[BrowseRow]
    total: int
    limit: int
    offset: int


# the status as a literal: the condition of the partial index on active records (0007)
_ACTIVE: sa.ColumnElement[str] = sa.literal_column(f"'{GoldenStatus.ACTIVE}'")


def _text(key: str, sqlite: bool) -> sa.ColumnElement[str]:
    """A field of the golden record as text. On SQLite with a literal JSON path — the form
    migration 0007's expression index on the name sort is written in (a bound path, as
    SQLAlchemy's JSON operators send it, never matches an index)."""
    value: sa.ColumnElement[str]
    if sqlite:
        path: sa.ColumnClause[str] = sa.literal_column(f"'$.{key}'")
        value = sa.func.json_extract(golden_records.c.record, path, type_=sa.String)
    else:
        value = golden_records.c.record[key].as_string()
    return value


def _sources() -> sa.ScalarSelect[int]:
    x = crosswalk.c
    return (
        sa.select(sa.func.count(sa.distinct(x.source)))
        .where(x.golden_id == golden_records.c.golden_id)
        .scalar_subquery()
    )


def _sort_keys(sort: str, sqlite: bool) -> list[sa.ColumnElement[Any]]:
    if sort == "name":  # surname first, as a register of people reads; organisations by name
        surname = sa.func.coalesce(
            _text("family_name", sqlite),
            _text("organization_name", sqlite),
            _text("full_name", sqlite),
        )
        return [sa.func.lower(surname), sa.func.lower(_text("given_name", sqlite))]
    if sort == "city":
        return [sa.func.lower(_text("city", sqlite))]
    return [_sources()]


BROWSE_SORTS = ("name", "city", "sources", "updated")


def _name(record: dict[str, Any]) -> str:
    parts = [record.get("given_name"), record.get("family_name")]
    joined = " ".join(str(p) for p in parts if p)
    return joined or str(record.get("full_name") or record.get("organization_name") or "")


def browse_customers(
    conn: Connection,
    *,
    sort: str = "name",
    descending: bool = False,
    source: str | None = None,
    kind: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> BrowsePage:
    """Active golden records sorted by `sort` (name, city, sources, updated), optionally only
    those with a record from `source` and of `kind` (person / organization).

    Ties are broken by golden id, so pages never repeat or skip a record. Records without the
    sorted value come last either way round.
    """
    if sort not in BROWSE_SORTS:
        raise InvalidInput(f"sort {sort!r}: use one of {', '.join(BROWSE_SORTS)}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit {limit}: use 1 to {MAX_PAGE} customers a page")
    if offset < 0:
        raise InvalidInput(f"offset {offset}: use 0 or more")
    g, x = golden_records.c, crosswalk.c
    where: list[sa.ColumnElement[bool]] = [g.status == _ACTIVE]
    if kind:
        where.append(g.kind == kind)
    if source:
        where.append(sa.exists().where(x.golden_id == g.golden_id, x.source == source))
    total = int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one())
    order: list[Any] = []
    if sort == "updated":  # never null: the index (updated_at, golden_id) gives the order
        order.append(g.updated_at.desc() if descending else g.updated_at.asc())
    else:
        for key in _sort_keys(sort, conn.dialect.name == "sqlite"):
            order.append(key.is_(None))  # missing values last
            order.append(key.desc() if descending else key.asc())
    order.append(g.golden_id.desc() if descending else g.golden_id.asc())
    query = (
        sa.select(g.golden_id, g.kind, g.record, g.updated_at, _sources().label("sources"))
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    rows = [
        BrowseRow(
            golden_id=r.golden_id,
            name=_name(r.record) or r.golden_id,
            kind=r.kind,
            city=r.record.get("city"),
            email=r.record.get("email"),
            sources=int(r.sources or 0),
            updated_at=r.updated_at,
        )
        for r in conn.execute(query)
    ]
    return BrowsePage(rows, total, limit, offset)
