"""Merge, unmerge, override and undo on a real store (SQLite and PostgreSQL): the crosswalk
and stable-id rules hold, every change is audited, and later resolutions honour it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.resolve.run import resolve_store
from hub.steward import (
    Conflict,
    InvalidInput,
    customer_view,
    merge_golden,
    override_field,
    undo_action,
    unmerge_golden,
)
from hub.store.tables import audit_log, golden_records, steward_actions
from tests.hub.conftest import ResolvedHub


def golden(hub: ResolvedHub, gid: str) -> Any:
    with hub.store.engine.connect() as conn:
        return conn.execute(
            sa.select(golden_records).where(golden_records.c.golden_id == gid)
        ).one()


def two_customers(hub: ResolvedHub) -> tuple[str, str]:
    xw = hub.crosswalk()
    return xw[("erp", "1001")], xw[("erp", "1002")]  # Anna Kovács and someone else


def test_merge_keeps_the_oldest_id_and_survives_a_rerun(hub: ResolvedHub) -> None:
    a, b = two_customers(hub)
    ga, gb = golden(hub, a), golden(hub, b)
    members_b = [k for k, g in hub.crosswalk().items() if g == b]
    with hub.store.write_transaction() as conn:
        result = merge_golden(conn, hub.settings, "sam", [b, a], {a: ga.version, b: gb.version})
    survivor = min([ga, gb], key=lambda r: (r.created_at, r.golden_id)).golden_id
    absorbed = b if survivor == a else a
    xw = hub.crosswalk()
    assert {xw[k] for k in members_b} == {survivor}
    assert golden(hub, absorbed).status == "merged"
    assert golden(hub, absorbed).merged_into == survivor
    assert result.versions[survivor] == golden(hub, survivor).version
    with hub.store.engine.connect() as conn:
        assert customer_view(conn, absorbed)["merged_into"] == survivor
        actions = [r.action for r in conn.execute(sa.select(audit_log.c.action))]
    assert "steward.merge" in actions

    summary = resolve_store(hub.config, hub.store, actor="test")  # the engine honours it
    assert hub.crosswalk() == xw
    assert (summary.split, summary.new) == (0, 0)


def test_unmerge_moves_records_to_a_new_id_and_the_engine_keeps_them_apart(
    hub: ResolvedHub,
) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    members = sorted(k for k, g in hub.crosswalk().items() if g == anna)
    assert len(members) >= 3
    moved = [("support", "S1")]
    with hub.store.write_transaction() as conn:
        unmerge_golden(conn, hub.settings, "sam", anna, moved, golden(hub, anna).version)
    xw = hub.crosswalk()
    new = xw[("support", "S1")]
    assert new != anna and golden(hub, new).status == "active"
    assert all(xw[k] == anna for k in members if k not in moved)  # the id stays with the rest

    resolve_store(hub.config, hub.store, actor="test")
    assert hub.crosswalk() == xw


def test_unmerge_refuses_to_empty_a_golden_record_or_move_strangers(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    members = [k for k, g in hub.crosswalk().items() if g == anna]
    version = golden(hub, anna).version
    with pytest.raises(InvalidInput, match="every record"), hub.store.write_transaction() as c:
        unmerge_golden(c, hub.settings, "sam", anna, members, version)
    with pytest.raises(InvalidInput, match="not in golden"), hub.store.write_transaction() as c:
        unmerge_golden(c, hub.settings, "sam", anna, [("erp", "1002")], version)


def test_override_survives_reruns_shows_provenance_and_undoes(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    before = golden(hub, anna)
    assert before.record["email"] != "anna@kovacs.hu"
    with hub.store.write_transaction() as conn:
        result = override_field(
            conn, hub.settings, "sam", anna, "email", "anna@kovacs.hu", before.version
        )
    resolve_store(hub.config, hub.store, actor="test")
    row = golden(hub, anna)
    assert row.record["email"] == "anna@kovacs.hu"
    assert row.provenance["email"]["rule"] == "manual"
    assert row.provenance["email"]["by"] == "sam"
    with hub.store.engine.connect() as conn:
        view = customer_view(conn, anna)
    assert view["provenance"]["email"]["explanation"].startswith("manual, by sam, at ")

    with hub.store.write_transaction() as conn:
        undo_action(conn, hub.settings, "sam", result.action_id)
    assert golden(hub, anna).record["email"] == before.record["email"]  # as it was
    resolve_store(hub.config, hub.store, actor="test")
    after = golden(hub, anna)
    assert after.record["email"] == before.record["email"]  # the rerun does not bring it back
    assert after.provenance["email"] == before.provenance["email"]


def test_undo_merge_restores_both_records_and_lifts_the_constraint(hub: ResolvedHub) -> None:
    a, b = two_customers(hub)
    before = hub.crosswalk()
    with hub.store.write_transaction() as conn:
        merged = merge_golden(
            conn, hub.settings, "sam", [a, b], {a: golden(hub, a).version, b: None}
        )
    with hub.store.write_transaction() as conn:
        undo_action(conn, hub.settings, "alice", merged.action_id)
    assert hub.crosswalk() == before
    assert golden(hub, a).status == golden(hub, b).status == "active"
    resolve_store(hub.config, hub.store, actor="test")
    assert hub.crosswalk() == before  # no must-link left behind
    with pytest.raises(Conflict, match="already undone"), hub.store.write_transaction() as c:
        undo_action(c, hub.settings, "alice", merged.action_id)
    with hub.store.engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(sa.select(steward_actions.c.kind))]
    assert kinds == ["merge", "undo"]


def test_undo_refuses_when_a_later_change_touched_the_record(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    with hub.store.write_transaction() as conn:
        first = override_field(
            conn, hub.settings, "sam", anna, "city", "Szeged", golden(hub, anna).version
        )
    with hub.store.write_transaction() as conn:
        override_field(conn, hub.settings, "sam", anna, "city", "Pécs", golden(hub, anna).version)
    with pytest.raises(Conflict, match="undo the later"), hub.store.write_transaction() as c:
        undo_action(c, hub.settings, "sam", first.action_id)


def test_a_stale_version_is_a_conflict_not_a_lost_update(hub: ResolvedHub) -> None:
    anna = hub.crosswalk()[("erp", "1001")]
    seen = golden(hub, anna).version
    with hub.store.write_transaction() as conn:
        override_field(conn, hub.settings, "sam", anna, "city", "Győr", seen)
    with (
        pytest.raises(Conflict, match="changed since you loaded"),
        hub.store.write_transaction() as c,
    ):
        override_field(c, hub.settings, "alice", anna, "city", "Eger", seen)
    assert golden(hub, anna).record["city"] == "Győr"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("shoe_size", "42", "unknown golden field"),
        ("source", "x", "unknown golden field"),
        ("email", None, "no override to clear"),
        ("kind", "banana", "kind: Input should be 'person' or 'organization'"),
        ("email", "not an email", "not an e-mail address; write name@example.com"),
        ("email", "anna@@example.hu", "not an e-mail address"),
        ("phone", "call me maybe", "not a valid phone number; write it with its country code"),
        ("phone", "123", "not a valid phone number"),
        ("birth_date", "1990-13-01", "birth_date: birth_date must be YYYY-MM-DD"),
        ("country", "Hungary", "country: country must be an ISO-2 code"),
    ],
)
def test_override_rejects_bad_input_clearly(
    sqlite_hub: ResolvedHub, field: str, value: str | None, error: str
) -> None:
    hub = sqlite_hub
    anna = hub.crosswalk()[("erp", "1001")]
    with pytest.raises(InvalidInput, match=error), hub.store.write_transaction() as conn:
        override_field(conn, hub.settings, "sam", anna, field, value, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "organization"),
        ("email", "Anna.Kovacs+news@Example.hu"),
        ("phone", "06 30 999 8877"),  # national form: read with the golden record's country
        ("phone", "+44 20 7946 0958"),
        ("birth_date", "1979-04-02"),
        ("country", "AT"),
    ],
)
def test_override_accepts_what_the_standardisers_read(
    sqlite_hub: ResolvedHub, field: str, value: str
) -> None:
    hub = sqlite_hub
    anna = hub.crosswalk()[("erp", "1001")]
    with hub.store.write_transaction() as conn:
        override_field(conn, hub.settings, "sam", anna, field, value, None)
    assert str(golden(hub, anna).record[field]) == value
