"""`analyse_store` on the demo hub (SQLite and PostgreSQL): profiles for every golden record,
stage history appended only on a change, interactions without a golden id or unusable
counted and left out, and the read side's shapes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from analytics.lifecycle import STAGES
from hub.analyse import analyse_store, queries
from hub.core.states import GoldenStatus, RunStatus
from hub.store.locks import LockError, hub_lock
from hub.store.tables import (
    analysis_runs,
    crosswalk,
    customer_profiles,
    golden_records,
    interactions,
    stage_history,
)
from tests.hub.conftest import ResolvedHub
from tests.hub.helpers import DEMO_AS_OF

LATER = dt.date(2026, 12, 1)


def active_golden(hub: ResolvedHub) -> set[str]:
    g = golden_records.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(sa.select(g.golden_id).where(g.status == GoldenStatus.ACTIVE))
        return {gid for (gid,) in rows}


def history(hub: ResolvedHub) -> list[tuple[str, str, dt.date]]:
    h = stage_history.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(sa.select(h.golden_id, h.stage, h.entered_at).order_by(h.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_demo_hub_has_a_profile_for_every_golden_record(hub: ResolvedHub) -> None:
    with hub.store.engine.connect() as conn:
        run = queries.last_run(conn)
        ids = {gid for (gid,) in conn.execute(sa.select(customer_profiles.c.golden_id))}
    assert run is not None and run["as_of"] == DEMO_AS_OF.isoformat()
    assert ids == active_golden(hub)
    assert run["customers"] == len(ids) and run["interactions"] > 0
    assert run["note"].startswith("churn: ")


def test_rerun_replaces_results_and_appends_only_stage_changes(hub: ResolvedHub) -> None:
    before = history(hub)
    assert {gid for gid, _, _ in before} == active_golden(hub)  # a first stage for everyone
    same = analyse_store(hub.config, hub.store, as_of=DEMO_AS_OF)
    assert same.stage_changes == 0 and history(hub) == before  # nothing changed, nothing added

    later = analyse_store(hub.config, hub.store, as_of=LATER)
    after = history(hub)
    assert after[: len(before)] == before  # kept across runs
    added = after[len(before) :]
    assert len(added) == later.stage_changes > 0
    latest = {gid: stage for gid, stage, _ in before}
    for gid, stage, entered in added:
        assert latest[gid] != stage and entered == LATER
        latest[gid] = stage
    with hub.store.engine.connect() as conn:
        stages = dict(
            conn.execute(sa.select(customer_profiles.c.golden_id, customer_profiles.c.stage)).all()
        )
        runs = conn.execute(sa.select(analysis_runs.c.status)).scalars().all()
        profiled = {r.run_id for r in conn.execute(sa.select(customer_profiles.c.run_id))}
        gid = added[0][0]
        shown = queries.profile(conn, gid)
    assert stages == latest  # profiles are the last run's; history ends at each current stage
    assert runs == [RunStatus.SUCCEEDED] * 3 and profiled == {later.run_id}
    assert shown is not None and shown["stage_history"][-1] == {
        "stage": stages[gid],
        "entered_at": LATER.isoformat(),
    }


def test_interactions_without_golden_id_or_unusable_are_counted(hub: ResolvedHub) -> None:
    i, x = interactions.c, crosswalk.c
    with hub.store.transaction() as conn:
        orders = conn.execute(
            sa.select(sa.func.count()).where(i.source == "erp", i.customer_source_id == "1001")
        ).scalar_one()
        conn.execute(crosswalk.delete().where(x.source == "erp", x.source_id == "1001"))
        template = (
            conn.execute(sa.select(interactions).where(i.source == "erp").limit(1)).mappings().one()
        )
        row = {k: v for k, v in template.items() if k != "id"}
        conn.execute(
            interactions.insert(),
            [
                {**row, "source_id": "neg", "customer_source_id": "1002", "amount": -50},
                {**row, "source_id": "fx", "customer_source_id": "1002", "currency": "XXX"},
            ],
        )
    summary = analyse_store(hub.config, hub.store, as_of=DEMO_AS_OF)
    assert orders > 0 and summary.unmapped == orders
    assert sum(summary.rejected.values()) >= 2  # counted by reason, not crashed
    assert "without a golden record" in summary.line()
    with hub.store.engine.connect() as conn:
        run = queries.last_run(conn)
    assert run is not None and run["rejected"][queries.NO_GOLDEN_ID] == orders
    assert run["unmapped"] == orders and json.dumps(run)


def test_a_second_analysis_meanwhile_is_refused(hub: ResolvedHub) -> None:
    with hub_lock(hub.store, "analyse"), pytest.raises(LockError, match="analyse is already"):
        analyse_store(hub.config, hub.store, as_of=DEMO_AS_OF)


def test_query_shapes(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    with hub.store.engine.connect() as conn:
        shown = queries.profile(conn, anna)
        names = queries.segmentations(conn)
        values = {n: queries.segment_values(conn, n) for n in names}
        members = queries.segment_members(conn, "stage", shown["stage"] if shown else "")
        first = queries.segment_members(conn, "stage", shown["stage"] if shown else "", limit=1)
        funnel = queries.stage_funnel(conn)
        risk = queries.risk_distribution(conn, bins=4)
        deciles = queries.value_deciles(conn)
        curve = queries.lorenz_points(conn)
        missing = queries.profile(conn, "G-none")
    assert shown is not None and missing is None
    assert set(shown) == {
        "golden_id", "as_of", "recency_days", "frequency", "monetary", "revenue", "profit",
        "clv_12m", "p_alive", "churn_risk", "churn_reasons", "stage", "customer_type",
        "rfm_segment", "next_best_offers", "traits", "stage_history", "note",
    }  # fmt: skip
    assert isinstance(shown["churn_reasons"], list) and isinstance(shown["traits"], dict)
    assert shown["frequency"] > 0 and shown["churn_reasons"]
    assert all(r == r.strip() and r for r in shown["churn_reasons"])
    assert {"customer_type", "rfm", "stage"} <= set(names)
    for rows in values.values():
        assert sum(r["customers"] for r in rows) == len(active_golden(hub))
        assert [r["profit"] for r in rows] == sorted((r["profit"] for r in rows), reverse=True)
        assert all(r["negative_profit"] == (r["profit"] < 0) for r in rows)
    assert any(m["golden_id"] == anna and m["name"] for m in members) and len(first) == 1
    assert [f["stage"] for f in funnel][: len(STAGES)] == list(STAGES)
    assert sum(f["customers"] for f in funnel) == len(active_golden(hub))
    assert [(r["low"], r["high"]) for r in risk] == [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["customers"] for d in deciles) == len(active_golden(hub))
    assert deciles[0]["profit"] >= deciles[-1]["profit"]
    assert sum(d["profit_share"] for d in deciles) == pytest.approx(1.0)
    assert curve[0] == (0.0, 0.0) and curve[-1][0] == pytest.approx(1.0)
    json.dumps([shown, values, members, funnel, risk, deciles, curve])  # plain JSON


def test_queries_before_any_run_are_empty(hub: ResolvedHub) -> None:
    with hub.store.transaction() as conn:
        for table in (analysis_runs, customer_profiles):
            conn.execute(table.delete())
        conn.execute(sa.text("DELETE FROM segment_values"))
        conn.execute(sa.text("DELETE FROM profit_lorenz"))
    with hub.store.engine.connect() as conn:
        assert queries.last_run(conn) is None
        assert queries.segmentations(conn) == []
        assert queries.lorenz_points(conn) == []
        assert all(f["customers"] == 0 for f in queries.stage_funnel(conn))
        assert all(d["customers"] == 0 for d in queries.value_deciles(conn))


def test_the_run_note_says_which_purchase_model_stood_in(hub: ResolvedHub) -> None:
    """The demo hub has fewer buyers than a fit needs: whatever hub.yaml asks for, the
    published CDNOW estimates stand in, and the run note says so."""
    analytics = hub.config.analytics.model_copy(update={"purchase_model": "regime"})
    config = hub.config.model_copy(update={"analytics": analytics})
    result = analyse_store(config, hub.store, as_of=DEMO_AS_OF)
    with hub.store.engine.connect() as conn:
        run = queries.last_run(conn)
        alive = conn.execute(sa.select(customer_profiles.c.p_alive)).scalars().all()
    words = "purchases: the published CDNOW BG/NBD (fewer than 20 buyers to fit)"
    assert run is not None and run["note"].endswith(words), run["note"]
    assert words in result.line()
    assert len(alive) == result.customers == len(active_golden(hub))
    known = [a for a in alive if a is not None]
    assert known and all(0.0 <= a <= 1.0 for a in known)
