"""`crmhub resolve` after changes re-clusters only what they touch, and its result is the
full run's on the same data — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from hub.core.states import CandidateStatus, GoldenStatus, RunStatus
from hub.resolve.records import load_customer_records
from hub.resolve.run import ResolveSummary, key_index, resolve_store, settings_of
from hub.resolve.state import load_state
from hub.store.database import Store, now
from hub.store.tables import (
    audit_log,
    connector_runs,
    crosswalk,
    customer_records,
    golden_records,
    match_candidates,
    resolve_state,
    steward_decisions,
)
from identity.model import ModelSpec
from schemas.config import HubConfig
from tests.hub.resolve.population import (
    delete,
    full_resolution,
    history,
    mapping,
    pairwise_f1,
    population,
    put,
    random_changes,
)
from tests.hub.test_sync import demo_project

Project = tuple[HubConfig, Store]


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Any:
    config, store = demo_project(tmp_path, store_url)
    put(store, population(250, 4))
    first = resolve_store(config, store, actor="test")
    assert first.mode == "full"
    yield config, store
    store.dispose()


def _live(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return load_customer_records(conn)


def _golden(store: Store) -> dict[str, Any]:
    g = golden_records.c
    with store.engine.connect() as conn:
        return {
            r.golden_id: r
            for r in conn.execute(sa.select(golden_records).where(g.status == GoldenStatus.ACTIVE))
        }


def _open_review(store: Store) -> set[tuple[str, str, str, str]]:
    m = match_candidates.c
    with store.engine.connect() as conn:
        return {
            (r.left_source, r.left_source_id, r.right_source, r.right_source_id)
            for r in conn.execute(
                sa.select(match_candidates).where(m.status == CandidateStatus.OPEN)
            )
        }


def _decide(store: Store, a: tuple[str, str], b: tuple[str, str], decision: str) -> None:
    (ls, lid), (rs, rid) = sorted([a, b])
    with store.transaction() as conn:
        conn.execute(
            steward_decisions.insert().values(
                left_source=ls,
                left_source_id=lid,
                right_source=rs,
                right_source_id=rid,
                decision=decision,
                decided_by="steward",
                decided_at=now(),
            )
        )


def _check_same_as_full(config: HubConfig, store: Store, before: Any) -> None:
    """The store after an incremental run is a full run's result on the same data with the
    same model: every record's golden id, every golden record, every open review pair — and
    the stored key index (base and delta) with its pair estimates is the full run's."""
    full = full_resolution(config, store, before, stored_model=True)
    c = customer_records.c
    with store.engine.connect() as conn:
        state = load_state(conn)
        live = sa.select(c.id, c.source, c.source_id).where(c.deleted.is_(False))
        ids = {(r.source, r.source_id): int(r.id) for r in conn.execute(live)}
        records = load_customer_records(conn)
    spec = ModelSpec.from_settings(settings_of(config))
    expected = key_index(full, records, ids, spec)
    assert state is not None and state.index is not None
    assert np.array_equal(state.index.ids, expected.ids)
    assert np.array_equal(state.index.keys, expected.keys)
    assert np.array_equal(state.index.ident, expected.ident)
    max_block = spec.blocking.max_block
    stored = state.index.known_estimates()[max_block]
    assert np.array_equal(stored, expected.pair_estimates(max_block))
    assert mapping(store) == full.crosswalk  # the same clusters *and* the same ids
    golden = _golden(store)
    assert golden.keys() == full.golden.keys()
    for gid, record in full.golden.items():
        assert golden[gid].record == {
            k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.values.items()
        }
    wanted = {
        (*sorted([p["left"], p["right"]])[0], *sorted([p["left"], p["right"]])[1])
        for p in full.review_pairs()
    }
    assert _open_review(store) == wanted


def test_random_changes_give_the_full_runs_result(project: Project) -> None:
    config, store = project
    rng = random.Random(7)
    for round_no in range(4):
        put_these, gone = random_changes(_live(store), rng, 0.03, round_no)
        put(store, put_these)
        delete(store, gone)
        if round_no == 2:  # and a steward's decision on a pair the engine merged
            xw = mapping(store)
            groups: dict[str, list[tuple[str, str]]] = {}
            for key, gid in sorted(xw.items()):
                groups.setdefault(gid, []).append(key)
            pair = next(members[:2] for members in groups.values() if len(members) >= 2)
            _decide(store, pair[0], pair[1], "no_match")
        before = history(store)
        summary = resolve_store(config, store, actor="test")
        assert summary.mode == "incremental", summary.line()
        assert 0 < summary.affected < summary.records / 2
        _check_same_as_full(config, store, before)


def test_one_percent_changed_agrees_with_a_full_run_estimating_again(
    tmp_path: Path, store_url: str
) -> None:
    """Against a full run that fits its model anew (EM on the changed data): pairwise F1
    ≥ 0.999. (On a few hundred records EM itself moves more than that between runs; this
    population is ~3,300 records.)"""
    config, store = demo_project(tmp_path, store_url)
    put(store, population(1500, 4))
    resolve_store(config, store, actor="test")
    put_these, gone = random_changes(_live(store), random.Random(7), 0.01, 0)
    put(store, put_these)
    delete(store, gone)
    before = history(store)
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "incremental"
    fresh = full_resolution(config, store, before, stored_model=False)
    incremental = mapping(store)
    assert pairwise_f1(incremental, fresh.crosswalk) >= 0.999
    kept = sum(incremental[k] == fresh.crosswalk[k] for k in incremental) / len(incremental)
    assert kept >= 0.999  # the same golden ids, not only the same clusters
    store.dispose()


def test_no_change_writes_nothing(project: Project) -> None:
    config, store = project

    def snapshot() -> tuple[Any, ...]:
        with store.engine.connect() as conn:
            return (
                conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one(),
                conn.execute(sa.select(sa.func.sum(golden_records.c.version))).scalar_one(),
                conn.execute(sa.select(sa.func.max(crosswalk.c.assigned_at))).scalar_one(),
                conn.execute(sa.select(resolve_state.c.updated_at)).scalar_one(),
                sorted(_open_review(store)),
            )

    before = snapshot()
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "unchanged"
    assert (summary.new, summary.merged, summary.split, summary.changed_golden) == (0, 0, 0, 0)
    assert "nothing changed since the last run" in summary.line()
    assert snapshot() == before


def test_a_deleted_record_leaves_its_golden_record(project: Project) -> None:
    config, store = project
    xw = mapping(store)
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, gid in sorted(xw.items()):
        groups.setdefault(gid, []).append(key)
    shared_gid, members = next((g, m) for g, m in groups.items() if len(m) == 2)
    alone_gid, (alone,) = next((g, m) for g, m in groups.items() if len(m) == 1)
    gone, stays = members
    before_version = _golden(store)[shared_gid].version
    delete(store, [gone, alone])
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "incremental"
    after = mapping(store)
    assert gone not in after and alone not in after
    assert after[stays] == shared_gid  # the remaining member keeps the id
    golden = _golden(store)
    kept = golden[shared_gid]
    assert kept.version == before_version + 1
    sources = {(p["source"], p["source_id"]) for p in kept.provenance.values()}
    assert sources == {stays}  # nothing comes from the deleted record any more
    assert alone_gid not in golden  # no member left: retired, and audited
    with store.engine.connect() as conn:
        retired = conn.execute(
            sa.select(golden_records.c.status).where(golden_records.c.golden_id == alone_gid)
        ).scalar_one()
        actions = {
            (r.action, r.target_id)
            for r in conn.execute(sa.select(audit_log.c.action, audit_log.c.target_id))
        }
    assert retired == GoldenStatus.MERGED
    assert ("golden.retired", alone_gid) in actions


def test_a_steward_decision_since_the_last_run_is_honoured(project: Project) -> None:
    config, store = project
    xw = mapping(store)
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, gid in sorted(xw.items()):
        groups.setdefault(gid, []).append(key)
    gid, members = next((g, m) for g, m in groups.items() if len(m) == 2)
    a, b = members
    singles = [m[0] for m in groups.values() if len(m) == 1]
    x, y = singles[0], singles[-1]
    _decide(store, a, b, "no_match")
    _decide(store, x, y, "match")
    before = history(store)
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "incremental"
    after = mapping(store)
    assert after[a] != after[b] and gid in {after[a], after[b]}  # split; one part keeps the id
    assert after[x] == after[y]  # merged
    assert summary.split >= 1 and summary.merged >= 1
    _check_same_as_full(config, store, before)


def test_drift_past_the_threshold_runs_a_full_resolve(project: Project) -> None:
    config, store = project
    put_these, gone = random_changes(_live(store), random.Random(3), 0.25, 0)
    put(store, put_these)
    delete(store, gone)
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "full"
    assert "since the last full run (more than 20%)" in summary.reason
    again = resolve_store(config, store, actor="test")
    assert again.mode == "unchanged"


def test_asked_for_or_changed_settings_run_a_full_resolve(project: Project) -> None:
    config, store = project
    assert resolve_store(config, store, actor="test", full=True).mode == "full"
    stricter = config.model_copy(
        update={"identity": config.identity.model_copy(update={"auto_merge_threshold": 0.97})}
    )
    put(store, _live(store)[:1])  # a change, so that there is something to resolve
    summary: ResolveSummary = resolve_store(stricter, store, actor="test")
    assert summary.mode == "full"
    assert summary.reason == "the identity settings or comparisons changed"


def test_a_sole_members_deletion_alone_retires_its_golden_record(project: Project) -> None:
    config, store = project
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, gid in sorted(mapping(store).items()):
        groups.setdefault(gid, []).append(key)
    gid, (alone,) = next((g, m) for g, m in groups.items() if len(m) == 1)
    delete(store, [alone])
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "incremental" and summary.affected == 0
    assert alone not in mapping(store)
    assert gid not in _golden(store)


def test_a_record_written_without_a_new_loaded_at_is_still_found(project: Project) -> None:
    """A writer that copies `loaded_at` (or deletes a row outright) is caught by the live
    count: the run then compares the index with every live id."""
    config, store = project
    c = customer_records.c
    with store.transaction() as conn:
        row = dict(conn.execute(sa.select(customer_records).order_by(c.id).limit(1)).one()._mapping)
        row.pop("id")
        original = (row["source"], row["source_id"])
        row.update(source="web", source_id="copied-stamp")  # the same loaded_at as the original
        conn.execute(customer_records.insert().values(**row))
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "incremental"
    xw = mapping(store)
    assert ("web", "copied-stamp") in xw
    with store.transaction() as conn:  # and gone again, without a stamp
        conn.execute(customer_records.delete().where(c.source_id == "copied-stamp"))
    resolve_store(config, store, actor="test")
    assert ("web", "copied-stamp") not in mapping(store)
    assert original in mapping(store)


def _open_sync(store: Store, started: dt.datetime) -> int:
    with store.transaction() as conn:
        run = conn.execute(
            connector_runs.insert().values(
                connector="erp", status=RunStatus.RUNNING, started_at=started, pid=os.getpid()
            )
        ).inserted_primary_key
    assert run is not None
    return int(run[0])


def _late_commit(store: Store, record: dict[str, Any], stamp: dt.datetime) -> None:
    """An update a sync stamped at `stamp` and commits only now, after a resolve read past it."""
    c = customer_records.c
    with store.transaction() as conn:
        conn.execute(
            customer_records.update()
            .where(c.source == record["source"], c.source_id == record["source_id"])
            .values(family_name=record["family_name"], loaded_at=stamp)
        )


@pytest.mark.parametrize(
    ("ends", "reading_run"),
    [
        ("before the next run", "incremental"),
        ("long before the next run", "incremental"),
        ("before the next run", "full"),
    ],
)
def test_a_batch_a_running_sync_commits_after_a_resolve_read_past_its_stamp(
    project: Project, ends: str, reading_run: str
) -> None:
    """Syncs of two sources side by side: one commits a newer stamp, the other's older stamp
    commits after a resolve has read. The watermark stays below the running sync's start,
    so the next run still sees that batch; once no sync can commit, it moves on."""
    config, store = project
    live = sorted(_live(store), key=lambda r: (r["source"], r["source_id"]))
    slow, fast = live[0], live[1]
    started = now()
    run = _open_sync(store, started)
    stamp = now()  # the slow sync stamps its batch ...
    put(store, [dict(fast, city="Debrecen")])  # ... another source's newer batch commits first
    full = reading_run == "full"
    assert resolve_store(config, store, actor="test", full=full).mode == reading_run
    changed = dict(slow, family_name="Late-Committed")
    _late_commit(store, changed, stamp)  # ... and the slow batch commits after that read
    finished = now() if ends == "before the next run" else now() - dt.timedelta(minutes=5)
    with store.transaction() as conn:
        conn.execute(
            connector_runs.update()
            .where(connector_runs.c.id == run)
            .values(status=RunStatus.SUCCEEDED, finished_at=finished)
        )
    before = history(store)
    summary = resolve_store(config, store, actor="test")
    assert summary.mode == "incremental", summary.line()
    assert {r["family_name"] for r in _live(store) if r["source_id"] == slow["source_id"]} == {
        "Late-Committed"
    }
    _check_same_as_full(config, store, before)  # the late batch is in, as a full run has it
    if ends == "long before the next run":  # nothing can commit any more: the mark moves on
        assert resolve_store(config, store, actor="test").mode == "unchanged"


def test_a_dead_syncs_running_row_does_not_hold_the_watermark(project: Project) -> None:
    config, store = project
    with store.transaction() as conn:
        conn.execute(
            connector_runs.insert().values(
                connector="erp",
                status=RunStatus.RUNNING,
                started_at=now() - dt.timedelta(hours=1),
                pid=_dead_pid(),
            )
        )
    live = _live(store)
    put(store, [dict(live[0], city="Szeged")])
    assert resolve_store(config, store, actor="test").mode == "incremental"
    assert resolve_store(config, store, actor="test").mode == "unchanged"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
