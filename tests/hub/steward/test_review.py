"""The review queue: ordering, filters, decisions applied at once and honoured later,
oracle-style re-asking, and concurrent stewards on a real store."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.clock import now
from hub.resolve.run import resolve_store
from hub.steward import (
    Conflict,
    InvalidInput,
    QueueFilter,
    decide,
    decide_many,
    list_queue,
    merge_golden,
    review_pair,
)
from hub.store.tables import customer_records, golden_records, match_candidates, steward_decisions
from tests.hub.conftest import ResolvedHub


def queue(hub: ResolvedHub, flt: QueueFilter | None = None) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        items, total = list_queue(conn, flt, limit=1000)
    assert total == len(items)
    return items


def test_queue_orders_by_uncertainty_times_size_and_filters(hub: ResolvedHub) -> None:
    items = queue(hub)
    assert items, "the demo has uncertain pairs"
    priorities = [i["priority"] for i in items]
    assert priorities == sorted(priorities, reverse=True)
    for i in items:
        assert i["priority"] == pytest.approx(
            (1 - abs(2 * i["score"] - 1)) * i["records_affected"], abs=1e-3
        )
    web = queue(hub, QueueFilter(source="web"))
    assert web and all("web" in (i["left"]["source"], i["right"]["source"]) for i in web)
    assert queue(hub, QueueFilter(source="nowhere")) == []
    assert queue(hub, QueueFilter(min_score=0.99, max_score=1.0)) == [
        i for i in items if i["score"] >= 0.99
    ]
    assert queue(hub, QueueFilter(kind="organization")) == [
        i for i in items if i["kind"] == "organization"
    ]


def test_pair_shows_both_records_weights_and_the_merged_preview(hub: ResolvedHub) -> None:
    item = queue(hub)[0]
    with hub.store.engine.connect() as conn:
        pair = review_pair(conn, hub.settings, item["id"])
    assert pair["left"]["record"]["source"] == item["left"]["source"]
    assert pair["right"]["golden_id"] == item["right"]["golden_id"]
    assert {"weight", "level"} <= set(next(iter(pair["weights"].values())))
    names = [f["field"] for f in pair["fields"]]
    assert "email" in names and "given_name" in names
    members = {tuple(m) for m in pair["merged_preview"]["members"]}
    assert (item["left"]["source"], item["left"]["source_id"]) in members
    assert (item["right"]["source"], item["right"]["source_id"]) in members


def test_match_merges_now_is_stored_append_only_and_is_not_asked_again(
    hub: ResolvedHub,
) -> None:
    item = queue(hub)[0]
    left = (item["left"]["source"], item["left"]["source_id"])
    right = (item["right"]["source"], item["right"]["source_id"])
    with hub.store.write_transaction() as conn:
        result = decide(conn, hub.settings, "sam", item["id"], "match")
    xw = hub.crosswalk()
    assert xw[left] == xw[right]
    with hub.store.engine.connect() as conn:
        row = conn.execute(
            sa.select(steward_decisions).where(
                steward_decisions.c.decision == "match",
                steward_decisions.c.score_at_decision.is_not(None),  # not the merge's links
            )
        ).one()
    assert row is not None and row.decided_by == "sam" and row.action_id is not None
    assert row.score_at_decision == pytest.approx(item["score"])
    assert row.before["left"] != row.before["right"] and row.after["left"] == row.after["right"]
    assert result.summary.endswith("match")

    resolve_store(hub.config, hub.store, actor="test")
    assert hub.crosswalk()[left] == hub.crosswalk()[right]
    assert item["id"] not in [i["id"] for i in queue(hub)]
    with pytest.raises(Conflict, match="already decided"), hub.store.write_transaction() as c:
        decide(c, hub.settings, "alice", item["id"], "no_match")


def test_a_decided_pair_is_asked_again_when_identifying_data_changes(
    sqlite_hub: ResolvedHub,
) -> None:
    hub = sqlite_hub
    item = queue(hub)[0]
    with hub.store.write_transaction() as conn:
        decide(conn, hub.settings, "sam", item["id"], "no_match")
    resolve_store(hub.config, hub.store, actor="test")
    assert item["id"] not in [i["id"] for i in queue(hub)], "same data: not asked again"

    c = customer_records.c
    source, source_id = item["right"]["source"], item["right"]["source_id"]
    with hub.store.transaction() as conn:  # a sync brings a corrected birth date
        conn.execute(
            customer_records.update()
            .where(c.source == source, c.source_id == source_id)
            .values(birth_date="1970-01-01", loaded_at=now())  # as a sync writes it
        )
    resolve_store(hub.config, hub.store, actor="test")
    with hub.store.engine.connect() as conn:
        status = conn.execute(
            sa.select(match_candidates.c.status).where(match_candidates.c.id == item["id"])
        ).scalar()
    assert status == "open"


def test_unsure_and_skip_leave_no_constraint(hub: ResolvedHub) -> None:
    first, *rest = queue(hub)
    with hub.store.write_transaction() as conn:
        decide(conn, hub.settings, "sam", first["id"], "unsure")
    assert first["id"] in [i["id"] for i in queue(hub, QueueFilter(status="unsure"))]
    assert first["id"] not in [i["id"] for i in queue(hub)]
    if rest:
        with hub.store.write_transaction() as conn:
            decide(conn, hub.settings, "sam", rest[0]["id"], "skip")
        assert rest[0]["id"] in [i["id"] for i in queue(hub)]
    with hub.store.write_transaction() as conn, pytest.raises(InvalidInput, match="unknown"):
        decide(conn, hub.settings, "sam", first["id"], "maybe")


def test_bulk_decision_on_a_filtered_set(hub: ResolvedHub) -> None:
    items = queue(hub, QueueFilter(source="web"))
    outcome = decide_many(
        hub.store.write_transaction, hub.settings, "sam", QueueFilter(source="web"), "unsure"
    )
    assert outcome["decided"] == len(items) and outcome["conflicts"] == []
    assert queue(hub, QueueFilter(source="web")) == []


def test_two_stewards_deciding_the_same_pair_at_once(hub: ResolvedHub) -> None:
    item = queue(hub)[0]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def steward(name: str, decision: str) -> None:
        barrier.wait()
        try:
            with hub.store.write_transaction() as conn:
                decide(conn, hub.settings, name, item["id"], decision)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=steward, args=("sam", "match")),
        threading.Thread(target=steward, args=("alice", "no_match")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    with hub.store.engine.connect() as conn:
        decided = conn.execute(
            sa.select(sa.func.count()).where(  # the decisions, not a merge's own links
                steward_decisions.c.decision.in_(["match", "no_match"]),
                steward_decisions.c.score_at_decision.is_not(None),
            )
        ).scalar()
    assert decided == 1


def test_two_stewards_merging_the_same_golden_record_at_once(hub: ResolvedHub) -> None:
    xw = hub.crosswalk()
    a, b, c = xw[("erp", "1001")], xw[("erp", "1002")], xw[("erp", "1003")]
    assert len({a, b, c}) == 3
    with hub.store.engine.connect() as conn:
        versions = dict(
            conn.execute(sa.select(golden_records.c.golden_id, golden_records.c.version)).all()
        )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def steward(name: str, other: str) -> None:
        barrier.wait()
        try:
            with hub.store.write_transaction() as conn:
                merge_golden(
                    conn, hub.settings, name, [a, other], {a: versions[a], other: versions[other]}
                )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=steward, args=("sam", b)),
        threading.Thread(target=steward, args=("alice", c)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    with hub.store.engine.connect() as conn:
        active = conn.execute(
            sa.select(golden_records.c.golden_id, golden_records.c.version).where(
                golden_records.c.golden_id.in_([a, b, c]), golden_records.c.status == "active"
            )
        ).all()
    assert len(active) == 2  # exactly one merge happened, nothing half-done
