"""The dashboard's figures, the customers list and the quarantine page's query, on the demo
hub on SQLite and PostgreSQL: every figure is checked against a count of its own."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from hub.core.states import CandidateStatus, GoldenStatus
from hub.steward import (
    InvalidInput,
    browse_customers,
    dashboard,
    list_quarantine,
    merge_golden,
    quarantine_facets,
)
from hub.store.tables import (
    connector_runs,
    crosswalk,
    golden_records,
    match_candidates,
    quarantine,
    raw_records,
)
from tests.hub.conftest import ResolvedHub
from tests.hub.helpers import query_plans


def _quarantine(hub: ResolvedHub) -> None:
    stamp = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    rows = [
        ("crm", "contacts", "parse", "unclosed quote at line 7", '7,"Anna,Kovacs'),
        ("crm", "contacts", "schema", "email: not an e-mail address", '{"email": "50%_off"}'),
        ("web", "signups", "identity", "no name, e-mail or phone", '{"id": "w-9"}'),
    ]
    with hub.store.transaction() as conn:
        for i, (source, stream, stage, reason, raw) in enumerate(rows):
            conn.execute(
                quarantine.insert().values(
                    source=source,
                    stream=stream,
                    stage=stage,
                    reason=reason,
                    raw=raw,
                    raw_hash=f"h{i}",
                    first_run_id=1,
                    last_run_id=1,
                    created_at=stamp,
                )
            )
        conn.execute(
            quarantine.insert().values(
                source="web",
                stream="signups",
                stage="parse",
                reason="resolved long ago",
                raw="x",
                raw_hash="resolved",
                first_run_id=1,
                last_run_id=1,
                created_at=stamp,
                resolved_at=stamp,
            )
        )


def test_dashboard_figures_equal_the_stores_counts(hub: ResolvedHub) -> None:
    _quarantine(hub)
    with hub.store.engine.connect() as conn:
        board = dashboard(conn)
        r = raw_records.c
        for s in board.sources:
            held = conn.execute(
                sa.select(sa.func.count()).where(r.source == s.source, r.deleted.is_(False))
            ).scalar_one()
            assert s.records == held
            last = conn.execute(
                sa.select(sa.func.max(connector_runs.c.id)).where(
                    connector_runs.c.connector == s.source
                )
            ).scalar_one()
            assert (s.last_sync or {}).get("id") == last
        assert (
            sum(s.records for s in board.sources)
            == conn.execute(sa.select(sa.func.count()).where(r.deleted.is_(False))).scalar_one()
        )
        assert (
            board.golden_active
            == conn.execute(
                sa.select(sa.func.count()).where(golden_records.c.status == GoldenStatus.ACTIVE)
            ).scalar_one()
        )
        assert (
            board.review_open
            == conn.execute(
                sa.select(sa.func.count()).where(
                    match_candidates.c.status.in_(CandidateStatus.undecided())
                )
            ).scalar_one()
        )
    assert board.quarantined >= 3  # the three open rows above; the resolved one not counted
    by_source = {s.source: s for s in board.sources}
    assert by_source["web"].quarantined >= 1
    assert all(s.last_sync and s.last_sync["status"] for s in board.sources if s.records)
    assert all(s.last_resolve is not None for s in board.sources if s.records)


def test_a_steward_merge_is_the_newest_recent_merge(hub: ResolvedHub) -> None:
    with hub.store.engine.connect() as conn:
        ids = [
            gid
            for (gid,) in conn.execute(
                sa.select(golden_records.c.golden_id)
                .where(golden_records.c.status == GoldenStatus.ACTIVE)
                .order_by(golden_records.c.golden_id)
                .limit(2)
            )
        ]
    with hub.store.transaction() as conn:
        result = merge_golden(conn, hub.settings, "sam", ids, {})
    with hub.store.engine.connect() as conn:
        merges = dashboard(conn).recent_merges
    assert merges[0]["summary"] == result.summary
    assert merges[0]["actor"] == "sam"
    assert merges[0]["automatic"] is False


def test_browse_pages_cover_every_active_record_once(hub: ResolvedHub) -> None:
    with hub.store.engine.connect() as conn:
        active = set(
            conn.execute(
                sa.select(golden_records.c.golden_id).where(
                    golden_records.c.status == GoldenStatus.ACTIVE
                )
            ).scalars()
        )
        for sort in ("name", "city", "sources", "updated"):
            for descending in (False, True):
                seen: list[str] = []
                offset = 0
                while True:
                    page = browse_customers(
                        conn, sort=sort, descending=descending, limit=7, offset=offset
                    )
                    assert page.total == len(active)
                    if not page.rows:
                        break
                    seen += [row.golden_id for row in page.rows]
                    offset += 7
                assert len(seen) == len(set(seen)) == len(active), (sort, descending)
                assert set(seen) == active


def test_browse_sorts_by_name_city_sources_and_updated(hub: ResolvedHub) -> None:
    with hub.store.engine.connect() as conn:
        rows = browse_customers(conn, sort="name", limit=200).rows
        cities = browse_customers(conn, sort="city", descending=True, limit=200).rows
        by_sources = browse_customers(conn, sort="sources", descending=True, limit=200).rows
        updated = browse_customers(conn, sort="updated", limit=200).rows
    names = [r.name for r in rows]
    assert "Anna Kovács" in names
    present = [c.city.casefold() for c in cities if c.city]
    assert present == sorted(present, reverse=True)
    assert [c.city for c in cities[len(present) :]] == [None] * (len(cities) - len(present))
    counts = [r.sources for r in by_sources]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 2
    stamps = [r.updated_at for r in updated]
    assert stamps == sorted(stamps)


def test_browse_filters_by_source_and_kind(hub: ResolvedHub) -> None:
    with hub.store.engine.connect() as conn:
        web = browse_customers(conn, source="web", limit=200)
        expected = set(
            conn.execute(
                sa.select(crosswalk.c.golden_id)
                .join(golden_records, golden_records.c.golden_id == crosswalk.c.golden_id)
                .where(crosswalk.c.source == "web", golden_records.c.status == GoldenStatus.ACTIVE)
            ).scalars()
        )
        people = browse_customers(conn, kind="person", limit=200)
        orgs = browse_customers(conn, kind="organization", limit=200)
        everyone = browse_customers(conn)
        nobody = browse_customers(conn, source="nowhere")
    assert {r.golden_id for r in web.rows} == expected and web.total == len(expected)
    assert people.rows and all(r.kind == "person" for r in people.rows)
    assert all(r.kind == "organization" for r in orgs.rows)
    assert 0 < people.total + orgs.total <= everyone.total
    assert nobody.rows == [] and nobody.total == 0


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"sort": "email"}, "sort 'email': use one of name, city, sources, updated"),
        ({"limit": 0}, "limit 0: use 1 to 200"),
        ({"offset": -1}, "offset -1: use 0 or more"),
    ],
)
def test_browse_refuses_bad_paging_with_what_to_use(
    hub: ResolvedHub, kwargs: dict[str, object], says: str
) -> None:
    with hub.store.engine.connect() as conn, pytest.raises(InvalidInput, match=says):
        browse_customers(conn, **kwargs)  # type: ignore[arg-type]


def test_quarantine_filters_by_source_stage_and_literal_text(hub: ResolvedHub) -> None:
    with hub.store.engine.connect() as conn:
        before = list_quarantine(conn, limit=200).total
    _quarantine(hub)
    with hub.store.engine.connect() as conn:
        everything = list_quarantine(conn, limit=200)
        crm = list_quarantine(conn, source="crm")
        parse = list_quarantine(conn, source="crm", stage="parse")
        quote = list_quarantine(conn, text="UNCLOSED quote")
        in_raw = list_quarantine(conn, text="kovacs")
        literal = list_quarantine(conn, text="50%_")
        wildcard = list_quarantine(conn, text="%")
        paged = list_quarantine(conn, limit=1, offset=1)
        facets = quarantine_facets(conn)
    assert everything.total == before + 3  # the resolved row is not shown
    assert all(r["reason"] != "resolved long ago" for r in everything.rows)
    assert {r["source"] for r in crm.rows} == {"crm"}
    assert [r["reason"] for r in parse.rows if r["raw"].startswith("7,")] == [
        "unclosed quote at line 7"
    ]
    assert [r["raw"] for r in quote.rows] == ['7,"Anna,Kovacs']
    assert '7,"Anna,Kovacs' in [r["raw"] for r in in_raw.rows]
    assert [r["reason"] for r in literal.rows] == ["email: not an e-mail address"]
    assert [r["raw"] for r in wildcard.rows] == ['{"email": "50%_off"}']
    assert paged.total == everything.total and paged.rows == everything.rows[1:2]
    assert {"crm", "web"} <= set(facets.sources)
    assert {"parse", "schema", "identity"} <= set(facets.stages)


SMALL_TABLES = ("connector_runs", "push_runs")  # one row per run: scanned by design


def test_the_dashboard_reads_indexes_not_tables(sqlite_hub: ResolvedHub) -> None:
    """At a million golden records a scan of golden_records, crosswalk or raw_records per
    home page took over a second; every count now comes from an index alone (0007)."""
    plans = query_plans(sqlite_hub, dashboard)
    assert plans
    scans = [
        (statement, step)
        for statement, step in plans
        if step.startswith("SCAN ")
        and "COVERING INDEX" not in step
        and step != "SCAN CONSTANT ROW"
        and "USING INDEX ix_golden_records_active" not in step  # partial: index only
        and not step.startswith(tuple(f"SCAN {t}" for t in SMALL_TABLES))
    ]
    assert scans == [], scans


@pytest.mark.parametrize(
    ("sort", "descending"), [("name", False), ("updated", False), ("updated", True)]
)
def test_the_customers_list_reads_a_page_in_index_order(
    sqlite_hub: ResolvedHub, sort: str, descending: bool
) -> None:
    """Sorting a million golden records' JSON per page took 1.7 s; the name order (SQLite)
    and the update order now come from indexes (0007), so a page reads about a page."""
    plans = query_plans(
        sqlite_hub,
        lambda conn: browse_customers(conn, sort=sort, descending=descending, limit=20),
    )
    listing = [step for statement, step in plans if "ORDER BY" in statement]
    assert listing, plans
    sorted_or_scanned = [
        s
        for s in listing
        if "TEMP B-TREE FOR ORDER BY" in s or s in ("SCAN golden_records", "SCAN g")
    ]
    assert sorted_or_scanned == [], listing
    assert any(
        "ix_golden_records_name_sort" in s or "ix_golden_records_updated_at" in s for s in listing
    ), listing


def test_the_review_queue_reads_its_records_by_key(sqlite_hub: ResolvedHub) -> None:
    """A row-value IN made SQLite scan the whole crosswalk and customer_records for every
    500 queue records: 3 s per review-list page at 1M golden records, 60 s under load."""
    from hub.steward import list_queue

    plans = query_plans(sqlite_hub, lambda conn: list_queue(conn, limit=50))
    keyed = [step for statement, step in plans if "crosswalk" in statement or "customer" in step]
    assert keyed, plans
    scans = [s for s in keyed if s in ("SCAN crosswalk", "SCAN customer_records")]
    assert scans == [], keyed


def test_a_review_group_reads_its_records_by_key(sqlite_hub: ResolvedHub) -> None:
    """The review page loads its records with hub.resolve.run.load_customer_records, whose
    row-value IN scanned every customer record (90 ms a page at 1M golden records)."""
    from hub.resolve.run import load_customer_records

    plans = query_plans(
        sqlite_hub, lambda conn: load_customer_records(conn, [("erp", "1001"), ("crm", "C-1")])
    )
    steps = [step for statement, step in plans if "customer_records" in statement]
    assert steps and "SCAN customer_records" not in steps, steps
