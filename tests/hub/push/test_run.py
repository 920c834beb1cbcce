"""Push-back into the demo ERP (a real SQLite database read by the `sql` connector):
golden ids and fill-only fields written, only changes sent, echoes recognised, refused
records recorded without stopping the others, retries and run history."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from connectors.writers import PushItem, WriteError, Writer
from hub.core.retry import RetryPolicy
from hub.push import build_plan, push
from hub.push import plan as plan_module
from hub.resolve.run import resolve_store
from hub.store.tables import push_failures, push_runs, push_state
from hub.sync.run import sync
from tests.hub.conftest import ResolvedHub

FAST = RetryPolicy(attempts=3, initial_delay=0.01)


def erp_rows(hub: ResolvedHub) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(hub.config.base_dir / "data" / "erp.sqlite")
    db.row_factory = sqlite3.Row
    rows = {str(r["id"]): dict(r) for r in db.execute("SELECT * FROM customers")}
    db.close()
    return rows


def test_push_writes_golden_ids_then_sends_nothing_and_sync_sees_only_echoes(
    hub: ResolvedHub,
) -> None:
    xw = hub.crosswalk()
    with hub.store.engine.connect() as conn:
        planned = build_plan(conn, hub.config, "erp")
    assert planned.updates and not planned.creates
    assert all(c.golden_id_changed for c in planned.updates)

    [first] = push(hub.config, hub.store, retry=FAST)
    assert (first.updated, first.failed, first.created) == (len(planned.updates), 0, 0)
    rows = erp_rows(hub)
    for source_id, row in rows.items():
        assert row["crmhub_golden_id"] == xw[("erp", source_id)]

    [second] = push(hub.config, hub.store, retry=FAST)
    assert (second.sent, second.failed) == (0, 0)
    assert second.plan.unchanged == first.updated

    results = sync(hub.config, hub.store, full_refresh=True, retry=FAST)
    erp = next(r for r in results if r.connector == "erp")
    assert erp.counts.updated == 0, "the golden ids we wrote are our own echo"
    assert erp.counts.echoed == len(rows)
    summary = resolve_store(hub.config, hub.store, actor="test")
    assert (summary.new, summary.merged, summary.split, summary.changed_golden) == (0, 0, 0, 0)
    [third] = push(hub.config, hub.store, retry=FAST)
    assert third.sent == 0
    with hub.store.engine.connect() as conn:
        runs = conn.execute(sa.select(push_runs.c.status, push_runs.c.updated)).all()
    expected = [("succeeded", first.updated), ("succeeded", 0), ("succeeded", 0)]
    assert [tuple(r) for r in runs] == expected


def test_fill_only_fills_empty_fields_and_never_overwrites(sqlite_hub: ResolvedHub) -> None:
    hub = sqlite_hub
    db = sqlite3.connect(hub.config.base_dir / "data" / "erp.sqlite")
    db.execute("UPDATE customers SET phone = NULL WHERE id = 1001")
    db.execute("UPDATE customers SET email = 'anna.k@other.example' WHERE id = 1002")
    db.commit()
    db.close()
    sync(hub.config, hub.store, full_refresh=True, retry=FAST)
    resolve_store(hub.config, hub.store, actor="test")
    with hub.store.engine.connect() as conn:
        planned = {c.source_id: c for c in build_plan(conn, hub.config, "erp").changes}
    assert planned["1001"].values.get("phone"), "an empty phone is filled from the golden record"
    assert planned["1001"].before["phone"] is None
    assert "email" not in planned["1002"].values, "fill-only never replaces a value"
    assert all("postal_code" not in c.values for c in planned.values())  # policy: never

    push(hub.config, hub.store, retry=FAST)
    assert erp_rows(hub)["1001"]["phone"] == planned["1001"].values["phone"]


def test_dry_run_sends_nothing_and_records_the_plan(sqlite_hub: ResolvedHub) -> None:
    hub = sqlite_hub
    [result] = push(hub.config, hub.store, dry_run=True)
    assert result.dry_run and result.sent == 0 and result.plan.updates
    assert all(row["crmhub_golden_id"] is None for row in erp_rows(hub).values())
    with hub.store.engine.connect() as conn:
        run = conn.execute(sa.select(push_runs)).one()
        assert conn.execute(sa.select(sa.func.count()).select_from(push_state)).scalar() == 0
    assert run.dry_run and run.updated == len(result.plan.updates)


def test_a_refused_record_is_recorded_and_retried_next_run(sqlite_hub: ResolvedHub) -> None:
    hub = sqlite_hub
    db = sqlite3.connect(hub.config.base_dir / "data" / "erp.sqlite")
    db.execute("DELETE FROM customers WHERE id = 1003")  # gone since the last sync
    db.commit()
    db.close()
    [result] = push(hub.config, hub.store, retry=FAST)
    assert result.failed == 1 and result.updated == len(result.plan.updates) - 1
    assert result.errors[0][0] == "1003" and "no row '1003'" in result.errors[0][1]
    with hub.store.engine.connect() as conn:
        failure = conn.execute(sa.select(push_failures)).one()
    assert (failure.item_key, failure.attempts, failure.retriable) == ("1003", 1, False)

    [again] = push(hub.config, hub.store, retry=FAST)
    assert (again.updated, again.failed) == (0, 1), "only the refused record is tried again"
    with hub.store.engine.connect() as conn:
        assert conn.execute(sa.select(push_failures.c.attempts)).scalar() == 2


class FlakyWriter(Writer):
    """A stand-in system that answers 429 twice per record before accepting it (a real
    rate-limited API cannot be provoked on demand here; the SQL path above is real)."""

    writable_fields: ClassVar[frozenset[str]] = frozenset({"email", "phone"})
    calls: ClassVar[list[str]] = []

    def update(self, item: PushItem) -> None:
        FlakyWriter.calls.append(str(item.source_id))
        if FlakyWriter.calls.count(str(item.source_id)) <= 2:
            raise WriteError("429 Too Many Requests", retriable=True, retry_after=0.01)


class DownWriter(Writer):
    """A stand-in system that is unreachable (connection refused on every call)."""

    calls: ClassVar[int] = 0

    def update(self, item: PushItem) -> None:
        DownWriter.calls += 1
        raise WriteError("connection refused", retriable=True)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def use(writer: type[Writer]) -> None:
        monkeypatch.setattr(plan_module, "load_writer", lambda _type: writer)

    yield use


def test_retriable_errors_back_off_and_succeed(sqlite_hub: ResolvedHub, stand_in: Any) -> None:
    stand_in(FlakyWriter)
    FlakyWriter.calls.clear()
    [result] = push(sqlite_hub.config, sqlite_hub.store, retry=FAST)
    assert result.failed == 0 and result.updated == len(result.plan.updates)
    assert len(FlakyWriter.calls) == 3 * result.updated


class SlowDownWriter(Writer):
    """A stand-in system that answers 429 with Retry-After: 5 once per record."""

    writable_fields: ClassVar[frozenset[str]] = frozenset({"email", "phone"})
    calls: ClassVar[list[str]] = []

    def update(self, item: PushItem) -> None:
        SlowDownWriter.calls.append(str(item.source_id))
        if SlowDownWriter.calls.count(str(item.source_id)) == 1:
            raise WriteError("429 Too Many Requests", retriable=True, retry_after=5)


def test_backoff_waits_at_least_as_long_as_retry_after_asks(
    sqlite_hub: ResolvedHub, stand_in: Any
) -> None:
    stand_in(SlowDownWriter)
    SlowDownWriter.calls.clear()
    delays: list[float] = []
    policy = RetryPolicy(attempts=3, initial_delay=1, factor=2, sleep=delays.append)
    [result] = push(sqlite_hub.config, sqlite_hub.store, retry=policy)
    assert result.failed == 0 and result.updated == len(result.plan.updates)
    assert delays == [5] * result.updated  # Retry-After 5 s beats the first backoff of 1 s


def test_an_unreachable_system_backs_off_exponentially(
    sqlite_hub: ResolvedHub, stand_in: Any
) -> None:
    stand_in(DownWriter)
    delays: list[float] = []
    policy = RetryPolicy(attempts=3, initial_delay=1, factor=2, sleep=delays.append)
    with pytest.raises(Exception, match="unreachable"):
        push(sqlite_hub.config, sqlite_hub.store, retry=policy)
    assert delays == [1, 2] * 3  # three records, each retried after 1 s and 2 s


def test_an_unreachable_system_stops_the_run_early(sqlite_hub: ResolvedHub, stand_in: Any) -> None:
    stand_in(DownWriter)
    DownWriter.calls = 0
    with pytest.raises(Exception, match="unreachable"):
        push(sqlite_hub.config, sqlite_hub.store, retry=FAST)
    assert DownWriter.calls == 3 * FAST.attempts  # three records, each with its retries
    with sqlite_hub.store.engine.connect() as conn:
        run = conn.execute(sa.select(push_runs)).one()
    assert run.status == "failed" and "left for the next push" in run.error


def test_push_needs_it_enabled_and_a_target(sqlite_hub: ResolvedHub) -> None:
    hub = sqlite_hub
    disabled = hub.config.model_copy(
        update={"pushback": hub.config.pushback.model_copy(update={"enabled": False})}
    )
    with pytest.raises(Exception, match=r"pushback\.enabled: true"):
        push(disabled, hub.store)
    with pytest.raises(Exception, match=r"pushback\.targets\.billing"):
        push(hub.config, hub.store, connector="billing")
