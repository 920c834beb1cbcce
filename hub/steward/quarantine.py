"""The quarantine as a steward reads it: rows a sync could not load, with their raw text and
the reason, filtered by source, stage and words in the reason or the raw text, paged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.steward.errors import InvalidInput
from hub.store.tables import quarantine

__all__ = ["QuarantineFacets", "QuarantinePage", "list_quarantine", "quarantine_facets"]

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class QuarantinePage:
    """Open quarantine rows, newest first, and how many match the filters in all."""

    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class QuarantineFacets:
    """The sources and stages that have open quarantine rows (the filters' choices)."""

    sources: list[str]
    stages: list[str]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_quarantine(
    conn: Connection,
    *,
    source: str | None = None,
    stage: str | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QuarantinePage:
    """Open (unresolved) quarantine rows matching the filters; `text` is found in the reason
    or the raw text, case-insensitively and literally (`%` and `_` are not wildcards)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit {limit}: use 1 to {MAX_PAGE} rows a page")
    if offset < 0:
        raise InvalidInput(f"offset {offset}: use 0 or more")
    q = quarantine.c
    where: list[sa.ColumnElement[bool]] = [q.resolved_at.is_(None)]
    if source:
        where.append(q.source == source)
    if stage:
        where.append(q.stage == stage)
    if text and text.strip():
        pattern = _like(text.strip())
        where.append(
            sa.or_(q.reason.ilike(pattern, escape="\\"), q.raw.ilike(pattern, escape="\\"))
        )
    total = int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one())
    query = (
        sa.select(q.id, q.source, q.stream, q.source_id, q.stage, q.reason, q.location, q.raw)
        .add_columns(q.first_run_id, q.last_run_id, q.created_at)
        .where(*where)
        .order_by(q.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return QuarantinePage(rows, total, limit, offset)


def quarantine_facets(conn: Connection) -> QuarantineFacets:
    """The distinct sources and stages of the open quarantine."""
    q = quarantine.c
    open_rows = q.resolved_at.is_(None)
    sources = conn.execute(sa.select(q.source).where(open_rows).distinct().order_by(q.source))
    stages = conn.execute(sa.select(q.stage).where(open_rows).distinct().order_by(q.stage))
    return QuarantineFacets([s for (s,) in sources], [s for (s,) in stages])
