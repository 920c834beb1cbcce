"""Run a push: send each planned change through the system's writer, remember what was
written, record what failed, and keep the run history.

One record's failure never stops the others: it is kept in `push_failures` with the
system's message and retried on the next run (a record not yet written stays in the plan).
Retriable errors (429, 5xx, timeouts) back off exponentially within the run, honouring
Retry-After and the writer's rate limit. The state of a record is written only after the
system accepted it, so a run killed mid-way re-sends at most that one record next time.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.writers import PushItem, WriteError, Writer
from hub.core.clock import now
from hub.core.errors import HubError
from hub.core.retry import RetryPolicy
from hub.core.states import RunStatus
from hub.push.plan import Change, Plan, build_plan, writer_for
from hub.store.database import Store, open_run
from hub.store.locks import hub_lock
from hub.store.tables import push_failures, push_runs, push_state
from hub.store.upsert import upsert
from schemas.config import HubConfig, resolve_env

__all__ = ["PushResult", "push"]

Progress = Callable[[str, int, int], None]  # connector, done, total
UNREACHABLE_AFTER = 3  # consecutive records failing retriably (after backoff) = an outage


@dataclass
class PushResult:
    connector: str
    run_id: int
    dry_run: bool
    plan: Plan
    created: int = 0
    updated: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (record key, message)
    status: RunStatus = RunStatus.SUCCEEDED

    @property
    def sent(self) -> int:
        return self.created + self.updated

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"{self.connector} (dry run): would create {len(self.plan.creates)}, "
                f"update {len(self.plan.updates)}, unchanged {self.plan.unchanged}"
            )
        return (
            f"{self.connector}: sent {self.sent} ({self.created} created, {self.updated} "
            f"updated), unchanged {self.plan.unchanged}, failed {self.failed}"
        )


def _start(store: Store, name: str, mode: str, dry_run: bool) -> int:
    with store.write_transaction() as conn:
        return open_run(
            conn,
            push_runs,
            name,
            mode=mode,
            dry_run=dry_run,
            created=0,
            updated=0,
            unchanged=0,
            failed=0,
        )


def _remember(conn: Connection, name: str, change: Change, source_id: str, run_id: int) -> None:
    """What the system accepted: merged into what the hub wrote to that record before."""
    s = push_state.c
    old = conn.execute(
        sa.select(s.written).where(s.connector == name, s.source_id == source_id)
    ).scalar()
    row = {
        "connector": name,
        "source_id": source_id,
        "golden_id": change.golden_id,
        "written": {**(old or {}), **change.values},
        "written_at": now(),
        "run_id": run_id,
    }
    upsert(conn, push_state, [row], key=("connector", "source_id"))
    f = push_failures.c
    conn.execute(push_failures.delete().where(f.connector == name, f.item_key == change.key))


def _record_failure(
    conn: Connection, name: str, change: Change, error: WriteError, run_id: int
) -> None:
    """A refused record: one row per record, counting the attempts across runs."""
    stamp = now()
    row = {
        "connector": name,
        "item_key": change.key,
        "golden_id": change.golden_id,
        "error": str(error)[:4000],
        "retriable": error.retriable,
        "attempts": 1,
        "first_failed_at": stamp,
        "last_failed_at": stamp,
        "run_id": run_id,
    }
    upsert(
        conn,
        push_failures,
        [row],
        key=("connector", "item_key"),
        update=("golden_id", "error", "retriable", "last_failed_at", "run_id"),
        on_update={"attempts": push_failures.c.attempts + 1},
    )


class _Throttle:
    """Keeps a writer under its `max_requests_per_second`."""

    def __init__(self, per_second: float | None, sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self.sleep = sleep
        self.last = 0.0

    def wait(self) -> None:
        delay = self.last + self.interval - time.monotonic()
        if delay > 0:
            self.sleep(delay)
        self.last = time.monotonic()


def _retriable(error: BaseException) -> bool:
    return isinstance(error, WriteError) and error.retriable


def _retry_after(error: BaseException) -> float | None:
    return error.retry_after if isinstance(error, WriteError) else None


def _send(
    writer: Writer, change: Change, golden_id_field: str, retry: RetryPolicy, throttle: _Throttle
) -> str:
    """Write one change (retriable failures backed off, at least as long as the system's
    Retry-After asks); returns the record's id in the system."""
    item = PushItem(
        source_id=change.source_id,
        stream=change.stream,
        golden_id=change.golden_id,
        golden_id_field=golden_id_field,
        values=change.values,
        before=change.before,
        system_fields=change.system_fields,
    )

    def write() -> str:
        throttle.wait()
        if change.kind == "create":
            return writer.create(item)
        writer.update(item)
        return str(change.source_id)

    return retry.call(write, retriable=_retriable, at_least=_retry_after)


def push_connector(
    config: HubConfig,
    store: Store,
    name: str,
    *,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Plan and (unless dry_run) send one connector's changes."""
    with hub_lock(store, f"push:{name}"):
        return _push_locked(config, store, name, dry_run=dry_run, retry=retry, progress=progress)


def _push_locked(
    config: HubConfig,
    store: Store,
    name: str,
    *,
    dry_run: bool,
    retry: RetryPolicy | None,
    progress: Progress | None,
) -> PushResult:
    connector, target, writer_class = writer_for(config, name)
    run_id = _start(store, name, target.mode, dry_run)
    result = PushResult(name, run_id, dry_run, Plan(name, target.mode, target.golden_id_field))
    try:
        with store.engine.connect() as conn:
            result.plan = plan = build_plan(conn, config, name)
        if not dry_run and plan.changes:
            settings: Any = resolve_env(connector.config, f"connectors.{name}.config")
            with contextlib.chdir(config.base_dir):  # relative paths as in hub.yaml, like sync
                _send_all(store, writer_class(settings), plan, result, retry, progress)
        result.status = RunStatus.SUCCEEDED
    except Exception as exc:
        result.status = RunStatus.FAILED
        _finish(store, result, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(store, result)
    return result


def _send_all(
    store: Store,
    writer: Writer,
    plan: Plan,
    result: PushResult,
    retry: RetryPolicy | None,
    progress: Progress | None,
) -> None:
    """Send every change; stop early when the system stays unreachable (the rest waits for
    the next run), so an outage costs a few backoffs, not one per record."""
    retry = retry or RetryPolicy()
    throttle = _Throttle(type(writer).max_requests_per_second, retry.sleep)
    outage = 0
    try:
        for done, change in enumerate(plan.changes, 1):
            error = _apply(store, writer, change, plan, result, retry, throttle)
            outage = outage + 1 if error is not None and error.retriable else 0
            if outage >= UNREACHABLE_AFTER:
                left = len(plan.changes) - done
                raise HubError(
                    f"{plan.connector} unreachable ({error}); stopped, {left} record(s) "
                    "left for the next push"
                )
            if progress:
                progress(plan.connector, done, len(plan.changes))
    finally:
        writer.close()


def _apply(
    store: Store,
    writer: Writer,
    change: Change,
    plan: Plan,
    result: PushResult,
    retry: RetryPolicy,
    throttle: _Throttle,
) -> WriteError | None:
    try:
        source_id = _send(writer, change, plan.golden_id_field, retry, throttle)
    except WriteError as error:
        result.failed += 1
        result.errors.append((change.key, str(error)))
        with store.transaction() as conn:
            _record_failure(conn, plan.connector, change, error, result.run_id)
        return error
    with store.transaction() as conn:
        _remember(conn, plan.connector, change, source_id, result.run_id)
    if change.kind == "create":
        result.created += 1
    else:
        result.updated += 1
    return None


def _finish(store: Store, result: PushResult, error: str | None = None) -> None:
    planned = len(result.plan.creates), len(result.plan.updates)
    with store.transaction() as conn:
        conn.execute(
            push_runs.update()
            .where(push_runs.c.id == result.run_id)
            .values(
                status=result.status,
                finished_at=now(),
                created=planned[0] if result.dry_run else result.created,
                updated=planned[1] if result.dry_run else result.updated,
                unchanged=result.plan.unchanged,
                failed=result.failed,
                error=error,
            )
        )


def push(
    config: HubConfig,
    store: Store,
    *,
    connector: str | None = None,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> list[PushResult]:
    """Push to one connector, or to every configured push-back target."""
    if not config.pushback.enabled and not dry_run:
        raise HubError("push-back is disabled; set pushback.enabled: true in hub.yaml")
    names = [connector] if connector else list(config.pushback.targets)
    if not names:
        raise HubError("no push-back targets; add pushback.targets.<connector> to hub.yaml")
    return [
        push_connector(config, store, n, dry_run=dry_run, retry=retry, progress=progress)
        for n in names
    ]
