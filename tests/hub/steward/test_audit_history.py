"""A customer page's audit history: found from indexes (migration 0013), the entries about its
golden record and no other — also steward actions on several records, and entries written
before the migration — on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from hub.core.clock import now
from hub.steward import customer_view, merge_golden, record_audit
from hub.store.database import Store
from hub.store.tables import audit_log, audit_targets, golden_records
from tests.hub.conftest import ResolvedHub
from tests.migrate import migrate_to


def _history(hub: ResolvedHub, gid: str) -> list[tuple[str, str]]:
    with hub.store.engine.connect() as conn:
        return [(h["action"], h["target_id"]) for h in customer_view(conn, gid)["history"]]


def _two(hub: ResolvedHub) -> tuple[str, str]:
    xw = hub.crosswalk()
    return xw[("erp", "1001")], xw[("erp", "1002")]


def test_a_steward_merge_shows_in_the_survivors_history(hub: ResolvedHub) -> None:
    a, b = _two(hub)
    with hub.store.engine.connect() as conn:
        versions = dict(
            conn.execute(
                sa.select(golden_records.c.golden_id, golden_records.c.version).where(
                    golden_records.c.golden_id.in_([a, b])
                )
            ).all()
        )
    with hub.store.write_transaction() as conn:
        result = merge_golden(conn, hub.settings, "sam", [a, b], versions)
    survivor = next(iter(result.versions))
    assert ("steward.merge", ",".join(sorted([a, b]))) in _history(hub, survivor)


def test_only_entries_about_this_record_not_ids_that_contain_it(hub: ResolvedHub) -> None:
    a, b = _two(hub)
    with hub.store.write_transaction() as conn:
        record_audit(conn, "sam", "steward.override", "golden", a, {})
        record_audit(conn, "sam", "steward.override", "golden", a + "0", {})  # another id
        record_audit(conn, "sam", "steward.note", "review", f"x{a}", {})
        record_audit(conn, "sam", "steward.merge", "golden", f"{b},{a}9", {})
    history = _history(hub, a)
    assert ("steward.override", a) in history
    assert all(target == a or a in target.split(",") for _, target in history)
    assert ("steward.merge", f"{b},{a}9") in _history(hub, b)


def test_a_target_longer_than_the_column_is_still_filed_under_every_record(
    hub: ResolvedHub,
) -> None:
    a, _ = _two(hub)
    others = [f"G{n:016x}" for n in range(40)]
    target = ",".join([*others, a])  # 738 characters: the stored text loses `a`
    with hub.store.write_transaction() as conn:
        record_audit(conn, "sam", "steward.merge", "golden", target, {})
    stored = target[:500]
    assert a not in stored
    assert ("steward.merge", stored) in _history(hub, a)


def test_migration_0013_files_earlier_entries_and_goes_back_down(store: Store) -> None:
    migrate_to(store, "0012", down=True)
    assert "audit_targets" not in sa.inspect(store.engine).get_table_names()
    entry = {"at": now(), "actor": "sam", "target_type": "golden", "detail": {}}
    with store.engine.begin() as conn:
        conn.execute(
            audit_log.insert(),
            [
                {**entry, "action": "steward.merge", "target_id": "G1,G2"},
                {**entry, "action": "steward.override", "target_id": "G3"},
                {**entry, "action": "token.create", "target_id": "a,b", "target_type": "user"},
            ],
        )
    migrate_to(store, "head")
    with store.engine.connect() as conn:
        filed = set(conn.execute(sa.select(audit_targets.c.golden_id)).scalars())
    assert filed == {"G1", "G2"}
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("audit_log")}
    assert "ix_audit_log_target_id" in indexes
    migrate_to(store, "0012", down=True)
    assert "audit_targets" not in sa.inspect(store.engine).get_table_names()
    migrate_to(store, "head")
