"""Find a customer by name, e-mail, phone or source id — fuzzy and format-tolerant.

Names are folded (Kovács → kovacs) and compared with rapidfuzz, so misspellings, swapped
name order and missing accents still find the customer; e-mails and phones are normalised
the way the identity engine does (E.164 phones, so 06 30…, +36 30… and 0036 30… agree).

One index per store (`hub.steward.search_index`), built when the web server starts
(`warm_search_index`) or else by the first search, and kept current without rebuilding it
per change. Each search reads a change marker in one statement of indexed maxima: the newest
audit entry and steward action (every steward edit and engine merge or split writes one), the
latest golden `updated_at` and crosswalk `assigned_at` (a resolve stamps every record it
changes) and, on SQLite, the newest golden and crosswalk rowids. When it moved, the golden
records changed since are found from those same columns and indexed into a small overlay
layer of their own: the full index leaves every changed record out of its answers, and each
changed record is answered for by the newest layer that holds it. A refresh indexes only
the records changed since the previous one (it re-indexed every record changed since the
build, once per search after each edit); a layer at least as large as the one before is
folded into it, so there are about log2(changed) layers and a changed record is re-indexed
about as often. Past `OVERLAY_LIMIT` changed records the whole index is rebuilt — at once
for a small store (up to `SYNC_REBUILD_LIMIT` golden records), else in a background thread
while the old index and its overlay keep serving. Hits are read from the store, so records
merged away meanwhile are already left out. A build never takes a second connection from
the pool while a request holds one (the request's own connection is used), so a burst of
searches cannot starve the pool.
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
    "MAX_TOTAL",
    "OVERLAY_LIMIT",
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
SYNC_REBUILD_LIMIT = 100_000  # golden records up to which a full rebuild runs in the request
OVERLAY_LIMIT = 5_000  # changed golden records kept in the overlay before a full rebuild


@dataclass(frozen=True, slots=True)
class SearchHit:
    golden_id: str
    score: float  # similarity of the query to the matched value, 0..1 (1 = identical)
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
    changed: int = 0  # golden records served from the overlay (changed since the build)


@dataclass(frozen=True, slots=True)
class _Marker:
    """Indexed maxima that move whenever something the index holds may have changed."""

    audit: int | None
    action: int | None
    updated: Any  # latest golden_records.updated_at
    assigned: Any  # latest crosswalk.assigned_at
    golden_row: int | None  # SQLite rowid maxima: rows inserted (None elsewhere)
    crosswalk_row: int | None


# an overlay layer: the index of some changed golden records, and which records it answers
# for (those of them still active are in its index; the others are answered as gone)
_Layer = tuple[SearchIndex, frozenset[str]]


class _Slot:
    """The index of one store: the full build, the overlay layers of records changed since
    (oldest first), the marker they are current to, and the background rebuild if one runs."""

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.layers: tuple[_Layer, ...] = ()
        self.changed: frozenset[str] = frozenset()  # golden ids the layers answer for
        self.marker: _Marker | None = None
        self.builds = 0
        self.build_seconds = 0.0
        self.rebuilding: threading.Thread | None = None
        self.lock = threading.Lock()  # one refresh or synchronous build at a time
        self.view: tuple[SearchIndex, tuple[_Layer, ...], frozenset[str]] | None = None

    def serve(self, index: SearchIndex, layers: tuple[_Layer, ...] = ()) -> None:
        """Swap in what searches read, as one tuple (a search never sees half a swap)."""
        changed = frozenset[str]().union(*(gids for _, gids in layers))
        self.index, self.layers, self.changed = index, layers, changed
        self.view = (index, layers, changed)


_SLOTS: dict[str, _Slot] = {}
_SLOTS_LOCK = threading.Lock()


def _slot(engine: Engine) -> _Slot:
    key = str(engine.url)
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(key, _Slot())


def _marker_statement(sqlite: bool) -> sa.Select[Any]:
    g, x = golden_records.c, crosswalk.c
    columns: list[Any] = [
        sa.select(sa.func.max(audit_log.c.id)).scalar_subquery(),
        sa.select(sa.func.max(steward_actions.c.id)).scalar_subquery(),
        sa.select(sa.func.max(g.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(x.assigned_at)).scalar_subquery(),
    ]
    if sqlite:  # inserted rows, even with an old timestamp
        rowid: sa.ColumnClause[Any] = sa.literal_column("rowid")
        columns += [
            sa.select(sa.func.max(rowid)).select_from(golden_records).scalar_subquery(),
            sa.select(sa.func.max(rowid)).select_from(crosswalk).scalar_subquery(),
        ]
    else:
        columns += [sa.null(), sa.null()]
    return sa.select(*columns)


# built once per dialect: every search runs it, and building a statement costs more CPU
# than SQLite's answer
_MARKERS = {True: _marker_statement(True), False: _marker_statement(False)}


def _marker(conn: Connection) -> _Marker:
    """The change marker, in one statement of maxima on indexed columns (no scans)."""
    return _Marker(*conn.execute(_MARKERS[conn.dialect.name == "sqlite"]).one())


def _changed_since(conn: Connection, old: _Marker, new: _Marker) -> set[str] | None:
    """Golden ids that may have changed between two markers; None when more than
    OVERLAY_LIMIT did (or the old marker knows too little): rebuild the whole index."""
    if None in (old.updated, old.assigned) and (new.updated, new.assigned) != (None, None):
        return None
    g, x, a = golden_records.c, crosswalk.c, audit_log.c
    limit = OVERLAY_LIMIT + 1
    queries: list[Any] = []
    if new.updated != old.updated:
        queries.append(sa.select(g.golden_id).where(g.updated_at > old.updated).limit(limit))
    if new.assigned != old.assigned:
        queries.append(
            sa.select(x.golden_id).where(x.assigned_at > old.assigned).distinct().limit(limit)
        )
    if new.golden_row != old.golden_row and old.golden_row is not None:
        g_row: sa.ColumnClause[Any] = sa.literal_column("golden_records.rowid")
        queries.append(sa.select(g.golden_id).where(g_row > old.golden_row).limit(limit))
    if new.crosswalk_row != old.crosswalk_row and old.crosswalk_row is not None:
        x_row: sa.ColumnClause[Any] = sa.literal_column("crosswalk.rowid")
        queries.append(sa.select(x.golden_id).where(x_row > old.crosswalk_row).limit(limit))
    found: set[str] = set()
    for query in queries:
        found.update(conn.execute(query).scalars())
        if len(found) > OVERLAY_LIMIT:
            return None
    if new.audit != old.audit:  # steward edits and engine merges name every record touched
        entries = conn.execute(
            sa.select(a.target_id, a.detail)
            .where(a.id > (old.audit or 0), a.target_type == "golden")
            .limit(limit)
        ).all()
        if len(entries) > OVERLAY_LIMIT:
            return None
        for target, detail in entries:
            found.update(t for t in target.split(",") if t)
            found.update(str(r) for r in (detail or {}).get("related") or ())
    return None if len(found) > OVERLAY_LIMIT else found


def _build(slot: _Slot, conn: Connection, marker: _Marker) -> None:
    """A full build on the caller's connection; the overlay starts empty."""
    started = time.perf_counter()
    slot.serve(SearchIndex(conn))
    slot.marker = marker
    slot.builds += 1
    slot.build_seconds = time.perf_counter() - started


def _background(slot: _Slot, engine: Engine) -> None:
    """A full rebuild off the request path; requests keep the old index and its overlay
    meanwhile, and catch up from the build's marker once it is swapped in."""
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            marker = _marker(conn)
            index = SearchIndex(conn)
        with slot.lock:
            slot.serve(index)
            slot.marker = marker
            slot.builds += 1
            slot.build_seconds = time.perf_counter() - started
    finally:
        slot.rebuilding = None


def _start_rebuild(slot: _Slot, engine: Engine) -> None:
    with _SLOTS_LOCK:
        if slot.rebuilding is None:
            slot.rebuilding = threading.Thread(target=_background, args=(slot, engine), daemon=True)
            slot.rebuilding.start()


def _add_layer(
    conn: Connection, layers: tuple[_Layer, ...], new: frozenset[str]
) -> tuple[_Layer, ...]:
    """The layers with one for `new` on top; while the top one is at least as large as the
    one below, the two are indexed again as one (a binary counter: few layers to rank, and
    each changed record re-indexed about log2(changed) times in all)."""
    kept = list(layers)
    while kept and len(kept[-1][1]) <= len(new):
        new |= kept.pop()[1]
    return (*kept, (SearchIndex(conn, only=new), new))


def _refresh(slot: _Slot, conn: Connection, marker: _Marker) -> None:
    """Bring the slot to `marker` (the caller holds slot.lock)."""
    if slot.index is None or slot.marker is None:
        _build(slot, conn, marker)
        return
    new = _changed_since(conn, slot.marker, marker)
    changed = None if new is None else new | slot.changed
    if changed is None or len(changed) > OVERLAY_LIMIT:
        if slot.index.size <= SYNC_REBUILD_LIMIT:
            _build(slot, conn, marker)
            return
        _start_rebuild(slot, conn.engine)  # meanwhile: the overlay as it is
        if changed is None:
            return
    if new:
        slot.serve(slot.index, _add_layer(conn, slot.layers, frozenset(new)))
    slot.marker = marker


def _current(conn: Connection) -> _Slot:
    """The store's index and overlay, brought up to date as the module docstring says."""
    slot = _slot(conn.engine)
    if slot.index is not None and slot.rebuilding is not None:
        return slot  # a full rebuild is under way: it catches up from its own marker
    marker = _marker(conn)
    if slot.index is None or slot.marker != marker:
        with slot.lock:
            if slot.index is None or slot.marker != marker:
                _refresh(slot, conn, marker)
    return slot


def _rank(slot: _Slot, query: str, cap: int) -> Ranked:
    """The full index's matches minus the records it holds stale, plus each layer's minus
    the records a newer layer answers for."""
    assert slot.view is not None
    index, layers, changed = slot.view
    if not changed:
        return index.rank(query, cap=cap)
    ranked = [r for r in index.rank(query, cap=cap + len(changed)) if r[0] not in changed]
    newer: set[str] = set()
    found: Ranked = []
    for layer, gids in reversed(layers):
        found += [r for r in layer.rank(query, cap=cap + len(newer)) if r[0] not in newer]
        newer |= gids
    if not found:  # the usual case: rank() is in this order already, nothing to merge
        return ranked[:cap]
    ranked += found
    ranked.sort(key=lambda r: (-r[1], r[0]))
    return ranked[:cap]


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
        changed=len(slot.changed),
    )


_HITS = sa.select(golden_records.c.golden_id, golden_records.c.kind, golden_records.c.record).where(
    golden_records.c.golden_id.in_(sa.bindparam("ids", expanding=True)),
    golden_records.c.status == GoldenStatus.ACTIVE,
)


def _hits(conn: Connection, ranked: Ranked) -> list[SearchHit]:
    """The hits as SearchHit, read from the store; ids no longer active are left out."""
    if not ranked:
        return []
    rows = conn.execute(_HITS, {"ids": [gid for gid, _, _ in ranked]}).all()
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
                round(score / 100, 3),  # the app's one scale: 0..1, as match probabilities
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
    ranked = _rank(_current(conn), query, MAX_TOTAL + 1)
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
