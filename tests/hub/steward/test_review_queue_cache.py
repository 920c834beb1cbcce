"""The review queue is computed once per change of the store and never served stale: every
kind of mutation moves the marker, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import sqlalchemy as sa

from hub.resolve.run import resolve_store
from hub.steward import (
    QueueFilter,
    decide,
    decide_group,
    list_groups,
    list_queue,
    merge_golden,
    override_field,
    undo_action,
)
from hub.steward.review import cached_queue, page_copy, queue_marker
from hub.store.tables import match_candidates
from tests.hub.conftest import ResolvedHub


def groups(hub: ResolvedHub, flt: QueueFilter | None = None) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        page, total = list_groups(conn, flt, limit=1000)
    assert total == len(page)
    return page


def pair_ids(hub: ResolvedHub) -> list[int]:
    with hub.store.engine.connect() as conn:
        items, _ = list_queue(conn, limit=1000)
    return [i["id"] for i in items]


def test_a_decision_takes_its_group_off_the_next_page_at_once(hub: ResolvedHub) -> None:
    before = groups(hub)  # the queue is cached now
    first = before[0]
    assert groups(hub) == before, "an unchanged store answers the same queue"
    with hub.store.write_transaction() as conn:
        decide_group(
            conn, hub.settings, "sam", first["id"], "no_match", expected_pairs=first["pair_ids"]
        )
    after = groups(hub)
    assert first["id"] not in [g["id"] for g in after]
    assert [g["id"] for g in after] == [g["id"] for g in before[1:]]
    assert not set(first["pair_ids"]) & set(pair_ids(hub))


def test_a_match_an_undo_and_a_merge_each_show_on_the_next_read(hub: ResolvedHub) -> None:
    ids = pair_ids(hub)
    top = ids[0]
    with hub.store.write_transaction() as conn:
        result = decide(conn, hub.settings, "sam", top, "match")
    assert top not in pair_ids(hub)
    with hub.store.write_transaction() as conn:
        undo_action(conn, hub.settings, "sam", result.action_id)
    assert pair_ids(hub) == ids, "the undone decision puts the pair back where it was"

    item = groups(hub)[0]
    golden = [item["candidate"]["golden_id"], item["golden"]["golden_id"]]
    with hub.store.write_transaction() as conn:
        merge_golden(conn, hub.settings, "sam", golden, {})
    assert item["id"] not in [g["id"] for g in groups(hub)], "one customer now: nothing to ask"


def test_a_resolution_and_a_direct_status_change_move_the_marker(hub: ResolvedHub) -> None:
    ids = pair_ids(hub)
    with hub.store.transaction() as conn:  # what a resolve does to a pair it no longer finds
        conn.execute(match_candidates.delete().where(match_candidates.c.id == ids[-1]))
    assert pair_ids(hub) == ids[:-1]
    # a full resolve finds it again (an incremental one looks only at what changed since)
    resolve_store(hub.config, hub.store, actor="test", full=True)
    again = pair_ids(hub)
    assert len(again) == len(ids) and again[:-1] == ids[:-1]
    with hub.store.transaction() as conn:
        conn.execute(
            match_candidates.update()
            .where(match_candidates.c.id == again[0])
            .values(status="unsure")
        )
    assert again[0] not in pair_ids(hub)
    with hub.store.engine.connect() as conn:
        unsure, _ = list_queue(conn, QueueFilter(status="unsure"), limit=10)
    assert [i["id"] for i in unsure] == [again[0]]


def test_the_queue_is_computed_once_per_marker_and_pages_are_copies(
    hub: ResolvedHub,
) -> None:
    calls: list[int] = []

    def compute() -> list[dict[str, Any]]:
        calls.append(1)
        return [{"id": 1, "left": {"golden_id": "g1"}}]

    with hub.store.engine.connect() as conn:
        marker = queue_marker(conn)
        assert cached_queue(conn, "probe", compute) == cached_queue(conn, "probe", compute)
        assert len(calls) == 1, "an unchanged marker reuses the queue"
        assert queue_marker(conn) == marker

        page, _ = list_queue(conn, limit=1)
        page[0]["left"]["golden_id"] = "changed by a caller"
        again, _ = list_queue(conn, limit=1)
        assert again[0]["left"]["golden_id"] != "changed by a caller"
        grouped, _ = list_groups(conn, limit=1)
        grouped[0]["candidate"]["records"].clear()
        assert list_groups(conn, limit=1)[0][0]["candidate"]["records"]

    with hub.store.transaction() as conn:
        conn.execute(
            match_candidates.update()
            .where(
                match_candidates.c.id
                == sa.select(sa.func.min(match_candidates.c.id)).scalar_subquery()
            )
            .values(score=match_candidates.c.score / 2)
        )
    with hub.store.engine.connect() as conn:
        assert queue_marker(conn) != marker, "a rescored pair moves the marker"
        cached_queue(conn, "probe", compute)
    assert len(calls) == 2


def test_a_page_copy_equals_a_deep_copy_and_shares_no_container() -> None:
    """page_copy replaced copy.deepcopy on every review page: same values, nothing shared."""
    at = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    items = [
        {
            "id": 7,
            "left": {"golden_id": "g1", "golden_size": 2, "score": 0.5, "same": False},
            "pair_ids": [7, 9],
            "records": [["erp", "1"], ["crm", "2"]],
            "weights": {"name": {"weight": 3.5, "level": None}},
            "key": ("erp", "1"),
            "at": at,
            "odd": {1, 2},
        }
    ]
    fresh = page_copy(items)
    assert fresh == copy.deepcopy(items) == items

    def containers(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [value, *(c for v in value.values() for c in containers(v))]
        if isinstance(value, (list, set)):
            return [value, *(c for v in value for c in containers(v))]
        return []

    theirs = {id(c) for c in containers(items)}
    assert not theirs & {id(c) for c in containers(fresh)}


def test_a_field_override_keeps_the_cached_queue(hub: ResolvedHub) -> None:
    """An override changes a golden record's values, nothing the queue shows."""
    item = groups(hub)[0]
    with hub.store.engine.connect() as conn:
        marker = queue_marker(conn)
    with hub.store.write_transaction() as conn:
        override_field(
            conn, hub.settings, "sam", item["golden"]["golden_id"], "city", "Szeged", None
        )
    with hub.store.engine.connect() as conn:
        assert queue_marker(conn) == marker
    assert groups(hub)[0] == item
