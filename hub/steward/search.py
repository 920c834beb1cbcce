"""Find a customer by name, e-mail, phone or source id — fuzzy and format-tolerant.

Names are folded (Kovács → kovacs) and compared with rapidfuzz, so misspellings, swapped
name order and missing accents still find the customer; e-mails and phones are normalised
the way the identity engine does (E.164 phones, so 06 30…, +36 30… and 0036 30… agree).

One index per store (`hub.steward.search_index`), built when the web server starts
(`warm_search_index`) or else by the first search. Each search checks whether the store
changed with primary-key maxima only (the newest audit entry and steward action — every
steward edit and every engine merge or split writes one — and, on SQLite, the newest golden
record and crosswalk row). What those miss — a resolve that only changes the fields of
existing golden records — a full fingerprint (counts and latest timestamps, scans at 1M rows)
catches: it is taken off the request path, by a thread, at most every `FULL_CHECK_SECONDS`.
A small index (up to `SYNC_REBUILD_LIMIT` golden records) is rebuilt
at once, so the next search sees a change; a large one is rebuilt in a background thread
while the old index keeps serving (hits are read from the store, so records merged away
meanwhile are already left out).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hub.core.states import GoldenStatus
from hub.steward.search_index import Ranked, SearchIndex, display_name
from hub.store.tables import audit_log, crosswalk, golden_records, steward_actions

__all__ = [
    "FULL_CHECK_SECONDS",
    "MAX_TOTAL",
    "SYNC_REBUILD_LIMIT",
    "IndexInfo",
    "SearchHit",
    "SearchPage",
    "index_info",
    "search_customers",
    "search_page",
    "warm_search_index",
]

MAX_TOTAL = 1000  # matches counted per query; more are reported as "1,000+"
SYNC_REBUILD_LIMIT = 100_000  # golden records up to which a change is indexed in the request
FULL_CHECK_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SearchHit:
    golden_id: str
    score: float
    matched: str  # which value matched, e.g. "email: anna@example.com"
    name: str | None
    email: str | None
    phone: str | None
    city: str | None
    kind: str | None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of hits and how many golden records match in all.

    `total` counts at most `MAX_TOTAL` matches; when `capped` is true there are more than
    that, and a page should say "1,000+" rather than a number. Pages past the cap are empty.
    """

    hits: list[SearchHit]
    total: int
    capped: bool
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """What the search index of one store holds, and how often it was built."""

    builds: int
    golden: int
    names: int
    build_seconds: float
    rebuilding: bool


class _Slot:
    """The index of one store, its change marker, and the background rebuild if one runs."""

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.marker: tuple[Any, ...] | None = None
        self.fingerprint: tuple[Any, ...] | None = None
        self.checked_at = 0.0
        self.builds = 0
        self.build_seconds = 0.0
        self.rebuilding: threading.Thread | None = None
        self.lock = threading.Lock()  # one build at a time per store


_SLOTS: dict[str, _Slot] = {}
_SLOTS_LOCK = threading.Lock()


def _slot(engine: Engine) -> _Slot:
    key = str(engine.url)
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(key, _Slot())


def _marker(conn: Connection) -> tuple[Any, ...]:
    """Cheap change marker: primary-key maxima only (no counts, no scans)."""
    marks: list[Any] = [
        conn.execute(sa.select(sa.func.max(audit_log.c.id))).scalar(),
        conn.execute(sa.select(sa.func.max(steward_actions.c.id))).scalar(),
    ]
    if conn.dialect.name == "sqlite":  # new golden records and crosswalk rows: rowid maxima
        marks += [
            conn.exec_driver_sql("SELECT max(rowid) FROM golden_records").scalar(),
            conn.exec_driver_sql("SELECT max(rowid) FROM crosswalk").scalar(),
        ]
    return tuple(marks)


def _fingerprint(conn: Connection) -> tuple[Any, ...]:
    """Full change fingerprint: counts and latest timestamps (scans; never per request)."""
    g, x = golden_records.c, crosswalk.c
    return (
        tuple(conn.execute(sa.select(sa.func.max(g.updated_at), sa.func.count())).one()),
        tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(x.assigned_at))).one()),
    )


def _build(slot: _Slot, engine: Engine, marker: tuple[Any, ...]) -> None:
    started = time.perf_counter()
    with engine.connect() as conn:
        fingerprint = _fingerprint(conn)
        index = SearchIndex(conn)
    slot.index, slot.marker, slot.fingerprint = index, marker, fingerprint
    slot.checked_at = time.monotonic()
    slot.builds += 1
    slot.build_seconds = time.perf_counter() - started


def _background(slot: _Slot, engine: Engine, marker: tuple[Any, ...]) -> None:
    try:
        with slot.lock:
            _build(slot, engine, marker)
    finally:
        slot.rebuilding = None


def _full_check(slot: _Slot, engine: Engine, marker: tuple[Any, ...]) -> None:
    with engine.connect() as conn:
        changed = _fingerprint(conn) != slot.fingerprint
    if changed:
        _background(slot, engine, marker)
    else:
        slot.rebuilding = None


def _start(slot: _Slot, target: Any, engine: Engine, marker: tuple[Any, ...]) -> None:
    with _SLOTS_LOCK:
        if slot.rebuilding is None:
            slot.checked_at = time.monotonic()
            slot.rebuilding = threading.Thread(
                target=target, args=(slot, engine, marker), daemon=True
            )
            slot.rebuilding.start()


def _current(conn: Connection) -> SearchIndex:
    """The store's index, brought up to date as the module docstring describes."""
    slot = _slot(conn.engine)
    marker = _marker(conn)
    index = slot.index
    if index is not None and slot.marker == marker:
        if time.monotonic() - slot.checked_at > FULL_CHECK_SECONDS:
            _start(slot, _full_check, conn.engine, marker)
        return index
    if index is not None and index.size > SYNC_REBUILD_LIMIT:
        _start(slot, _background, conn.engine, marker)
        return index
    with slot.lock:
        if slot.index is None or slot.marker != marker:
            _build(slot, conn.engine, marker)
    assert slot.index is not None
    return slot.index


def warm_search_index(engine: Engine) -> IndexInfo:
    """Build the store's index now (the web server calls this at start-up)."""
    with engine.connect() as conn:
        _current(conn)
    return index_info(engine)


def index_info(engine: Engine) -> IndexInfo:
    slot = _slot(engine)
    index = slot.index
    return IndexInfo(
        builds=slot.builds,
        golden=index.size if index else 0,
        names=len(index.names) if index else 0,
        build_seconds=round(slot.build_seconds, 3),
        rebuilding=slot.rebuilding is not None,
    )


def _hits(conn: Connection, ranked: Ranked) -> list[SearchHit]:
    """The hits as SearchHit, read from the store; ids no longer active are left out."""
    if not ranked:
        return []
    g = golden_records.c
    rows = conn.execute(
        sa.select(g.golden_id, g.kind, g.record).where(
            g.golden_id.in_([gid for gid, _, _ in ranked]), g.status == GoldenStatus.ACTIVE
        )
    ).all()
    records = {row.golden_id: row for row in rows}
    hits = []
    for gid, score, matched in ranked:
        row = records.get(gid)
        if row is None:
            continue
        record = row.record
        hits.append(
            SearchHit(
                gid,
                round(score, 1),
                matched,
                display_name(record) or None,
                record.get("email"),
                record.get("phone"),
                record.get("city"),
                record.get("kind") or row.kind,
            )
        )
    return hits


def search_page(conn: Connection, query: str, *, limit: int = 20, offset: int = 0) -> SearchPage:
    """One page of golden records matching a name, e-mail, phone or source id, best first,
    and the number of matches (at most `MAX_TOTAL`; `capped` means "1,000+")."""
    if limit < 1 or offset < 0:
        raise ValueError(f"search_page: limit must be ≥ 1 and offset ≥ 0 (got {limit}, {offset})")
    ranked = _current(conn).rank(query, cap=MAX_TOTAL + 1)
    capped = len(ranked) > MAX_TOTAL
    ranked = ranked[:MAX_TOTAL]
    return SearchPage(
        _hits(conn, ranked[offset : offset + limit]),
        total=len(ranked),
        capped=capped,
        offset=offset,
        limit=limit,
    )


def search_customers(conn: Connection, query: str, *, limit: int = 20) -> list[SearchHit]:
    """Golden records matching a name, e-mail, phone or source id, best first."""
    return search_page(conn, query, limit=limit).hits
