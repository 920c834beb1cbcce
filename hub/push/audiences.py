"""`crmhub audiences sync`: send each audience's membership changes to its destinations.

Only changes are sent: the entered/exited events (`audience_events`) after the destination's
cursor (`audience_cursors`), in event order and in batches. A batch's delivery and the moved
cursor are committed together, so a second sync of an unchanged audience sends nothing and a
killed sync, re-run, sends each change once more at most — and that once with the same
idempotency keys. A change the destination refused is kept in `push_failures` (connector
`audience:<audience>/<destination>`, item the event id) with the destination's message and
sent again first on the next sync, unless a later change of the same customer has replaced
it. A destination that cannot be reached ends its sync with `DestinationDown`: the cursor
stays where it was, so the next run sends everything still due. Each destination's sync is
one `push_runs` row (mode `audience`).

An audience whose rule changed since it was last computed (or was never computed) is
recomputed from the stored profiles first; a dry run reports the changes due without
sending or recomputing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.audiences import changes, members
from hub.analyse.audiences import check_audiences, recompute, stale_audiences, stored_profile_frame
from hub.analyse.run import LOCK as ANALYSE_LOCK
from hub.core.clock import now
from hub.core.errors import HubError
from hub.core.states import RunStatus
from hub.push.destinations import (
    AudienceChange,
    Destination,
    DestinationDown,
    FileSender,
    SqlTableSender,
    WebhookSender,
)
from hub.push.system_destinations import SystemSender, check_system_destinations
from hub.store.database import Store, open_run
from hub.store.locks import hub_lock
from hub.store.tables import (
    audience_cursors,
    audience_events,
    audience_members,
    push_failures,
    push_runs,
)
from hub.store.upsert import upsert
from schemas.audiences import (
    AudienceConfig,
    DestinationConfig,
    SqlTableDestination,
    SystemDestination,
    WebhookDestination,
)
from schemas.config import HubConfig

__all__ = ["DestinationSync", "connector_name", "sync_audiences"]

Progress = Callable[[str, int, int], None]  # "audience/destination", changes done, total
FILE_BATCH = 50_000  # changes per file
SQL_BATCH = 5_000  # changes per transaction in a destination database
SYSTEM_BATCH = 1  # a system's writes are not transactional: the cursor moves after each change


def connector_name(audience: str, destination: str) -> str:
    """How a destination is named in push_runs and push_failures."""
    return f"audience:{audience}/{destination}"


@dataclass
class DestinationSync:
    """What one destination of one audience was sent (or, in a dry run, is due)."""

    audience: str
    destination: str
    kind: str
    dry_run: bool
    entered: int = 0  # due (dry run) or sent
    exited: int = 0
    retried: int = 0  # earlier refusals sent again
    failed: int = 0  # refused by the destination this time
    superseded: int = 0  # earlier refusals dropped: a later change replaced them
    run_id: int | None = None
    error: str | None = None
    refusals: list[tuple[int, str]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.entered + self.exited

    def summary(self) -> str:
        where = f"{self.audience} → {self.destination} ({self.kind})"
        if self.dry_run:
            return (
                f"{where} (dry run): would send {self.entered} entered, {self.exited} exited, "
                f"retry {self.retried} refused"
            )
        text = (
            f"{where}: sent {self.sent} ({self.entered} entered, {self.exited} exited), "
            f"{self.retried} retried, {self.failed} refused"
        )
        return text + (f"; stopped: {self.error}" if self.error else "")


def _sender(
    config: HubConfig, store: Store, audience: AudienceConfig, dest: DestinationConfig
) -> Destination:
    if isinstance(dest, SystemDestination):
        return SystemSender(config, store, audience.name, dest, fields=audience.fields)
    if isinstance(dest, WebhookDestination):
        return WebhookSender(audience.name, dest)
    if isinstance(dest, SqlTableDestination):
        return SqlTableSender(audience.name, dest)
    return FileSender(audience.name, dest, audience.fields, config.base_dir)


def _change(row: Any) -> AudienceChange:
    return AudienceChange(
        event_id=int(row.id),
        audience=row.audience,
        golden_id=row.golden_id,
        event=row.event,
        at=row.at,
        fields=dict(row.fields or {}),
    )


def _cursor(conn: Connection, audience: str, destination: str) -> int:
    c = audience_cursors.c
    found = conn.execute(
        sa.select(c.event_id).where(c.audience == audience, c.destination == destination)
    ).scalar()
    return int(found or 0)


def _failed_ids(conn: Connection, name: str) -> list[int]:
    f = push_failures.c
    keys = conn.execute(sa.select(f.item_key).where(f.connector == name)).scalars()
    return sorted(int(k) for k in keys)


def _pending(conn: Connection, audience: str, after: int, size: int) -> list[AudienceChange]:
    e = audience_events.c
    rows = conn.execute(
        sa.select(audience_events)
        .where(e.audience == audience, e.id > after)
        .order_by(e.id)
        .limit(size)
    )
    return [_change(r) for r in rows]


def _due(conn: Connection, audience: str, after: int) -> dict[str, int]:
    e = audience_events.c
    rows = conn.execute(
        sa.select(e.event, sa.func.count())
        .where(e.audience == audience, e.id > after)
        .group_by(e.event)
    )
    return {str(event): int(n) for event, n in rows}


def _retries(conn: Connection, audience: str, name: str) -> tuple[list[AudienceChange], list[int]]:
    """The refused changes to send again, and those a later change of the same customer
    has replaced (their failure rows are dropped unsent)."""
    ids = _failed_ids(conn, name)
    if not ids:
        return [], []
    e = audience_events.c
    rows = conn.execute(sa.select(audience_events).where(e.id.in_(ids)).order_by(e.id)).all()
    changes = [_change(r) for r in rows]
    newest = dict(
        conn.execute(
            sa.select(e.golden_id, sa.func.max(e.id))
            .where(e.audience == audience, e.golden_id.in_({c.golden_id for c in changes}))
            .group_by(e.golden_id)
        ).all()
    )
    keep = [c for c in changes if newest.get(c.golden_id) == c.event_id]
    gone = [c.event_id for c in changes if newest.get(c.golden_id) != c.event_id]
    gone += sorted(set(ids) - {c.event_id for c in changes})  # events no longer stored
    return keep, gone


def _refused(
    conn: Connection,
    name: str,
    changes: Sequence[AudienceChange],
    refused: dict[int, str],
    run_id: int,
) -> None:
    stamp = now()
    rows = [
        {
            "connector": name,
            "item_key": str(c.event_id),
            "golden_id": c.golden_id,
            "error": refused[c.event_id],
            "retriable": True,
            "attempts": 1,
            "first_failed_at": stamp,
            "last_failed_at": stamp,
            "run_id": run_id,
        }
        for c in changes
        if c.event_id in refused
    ]
    if rows:
        upsert(
            conn,
            push_failures,
            rows,
            key=("connector", "item_key"),
            update=("golden_id", "error", "retriable", "last_failed_at", "run_id"),
            on_update={"attempts": push_failures.c.attempts + 1},
        )


def _forget(conn: Connection, name: str, ids: Sequence[int]) -> None:
    f = push_failures.c
    keys = [str(i) for i in ids]
    for start in range(0, len(keys), 500):
        conn.execute(
            push_failures.delete().where(
                f.connector == name, f.item_key.in_(keys[start : start + 500])
            )
        )


def _count(
    result: DestinationSync, changes: Sequence[AudienceChange], refused: dict[int, str]
) -> None:
    for c in changes:
        if c.event_id in refused:
            result.failed += 1
            result.refusals.append((c.event_id, refused[c.event_id]))
        elif c.event == "entered":
            result.entered += 1
        else:
            result.exited += 1


def _batches(store: Store, audience: str, after: int, size: int) -> Iterator[list[AudienceChange]]:
    while True:
        with store.engine.connect() as conn:
            batch = _pending(conn, audience, after, size)
        if not batch:
            return
        yield batch
        after = batch[-1].event_id


def _sync_destination(
    config: HubConfig,
    store: Store,
    audience: AudienceConfig,
    dest: DestinationConfig,
    *,
    dry_run: bool,
    progress: Progress | None,
    sender: Destination | None,
    preview: tuple[int, int] = (0, 0),
) -> DestinationSync:
    name = connector_name(audience.name, dest.name)
    result = DestinationSync(audience.name, dest.name, dest.kind, dry_run)
    with store.engine.connect() as conn:
        cursor = _cursor(conn, audience.name, dest.name)
        retry, superseded = _retries(conn, audience.name, name)
        due = _due(conn, audience.name, cursor)
    total = sum(due.values()) + len(retry)
    if dry_run:
        result.entered = due.get("entered", 0) + preview[0]
        result.exited = due.get("exited", 0) + preview[1]
        result.retried = len(retry)
        return result
    with store.write_transaction() as conn:
        result.run_id = run_id = open_run(
            conn, push_runs, name, mode="audience", dry_run=False,
            created=0, updated=0, unchanged=0, failed=0,
        )  # fmt: skip
    size = dest.batch_size if isinstance(dest, WebhookDestination) else FILE_BATCH
    if isinstance(dest, SqlTableDestination):
        size = SQL_BATCH
    if isinstance(dest, SystemDestination):
        size = SYSTEM_BATCH
    out = sender or _sender(config, store, audience, dest)
    done = 0
    try:
        if superseded:
            with store.transaction() as conn:
                _forget(conn, name, superseded)
            result.superseded = len(superseded)
        for start in range(0, len(retry), size):
            batch = retry[start : start + size]
            refused = out.deliver(batch)
            with store.transaction() as conn:
                _forget(conn, name, [c.event_id for c in batch if c.event_id not in refused])
                _refused(conn, name, batch, refused, run_id)
            result.retried += len(batch) - len(refused)
            result.failed += len(refused)
            done += len(batch)
            if progress:
                progress(f"{audience.name}/{dest.name}", done, total)
        for batch in _batches(store, audience.name, cursor, size):
            refused = out.deliver(batch)
            with store.transaction() as conn:  # the cursor moves with what was delivered
                _refused(conn, name, batch, refused, run_id)
                upsert(
                    conn,
                    audience_cursors,
                    [
                        {
                            "audience": audience.name,
                            "destination": dest.name,
                            "event_id": batch[-1].event_id,
                            "delivered_at": now(),
                            "run_id": run_id,
                        }
                    ],
                    key=("audience", "destination"),
                )
            _count(result, batch, refused)
            done += len(batch)
            if progress:
                progress(f"{audience.name}/{dest.name}", done, total)
    except DestinationDown as exc:
        result.error = str(exc)
        _finish(store, result, RunStatus.FAILED)
        raise
    except BaseException as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        _finish(store, result, RunStatus.FAILED)
        raise
    finally:
        out.close()
    _finish(store, result, RunStatus.SUCCEEDED)
    return result


def _finish(store: Store, result: DestinationSync, status: RunStatus) -> None:
    with store.transaction() as conn:
        conn.execute(
            push_runs.update()
            .where(push_runs.c.id == result.run_id)
            .values(
                status=status,
                finished_at=now(),
                created=result.entered,
                updated=result.exited + result.retried,
                failed=result.failed,
                error=result.error,
            )
        )


def sync_audiences(
    config: HubConfig,
    store: Store,
    *,
    audience: str | None = None,
    destination: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    senders: dict[tuple[str, str], Destination] | None = None,
) -> list[DestinationSync]:
    """Sync one audience (or all of hub.yaml's) to each of its destinations (or only the
    one named `destination`: the Airflow DAG runs one task per destination).

    Raises HubError for an unknown audience name, ConfigError for an unknown trait,
    DestinationDown when a destination cannot be reached (the other destinations of the
    audience already synced keep their progress; the failed one's cursor is unchanged),
    LockError while another sync of the same audience runs. `senders` replaces the built
    destinations by (audience, destination) — for tests only.
    """
    check_audiences(config)
    check_system_destinations(config)
    chosen = list(config.audiences)
    if audience is not None:
        chosen = [a for a in chosen if a.name == audience]
        if not chosen:
            known = ", ".join(a.name for a in config.audiences) or "none"
            raise HubError(f"no audience named {audience!r} in hub.yaml (configured: {known})")
    if destination is not None:
        named = [d.name for a in chosen for d in a.destinations]
        if destination not in named:
            raise HubError(
                f"no destination named {destination!r} in audience {audience or '(any)'} "
                f"(configured: {', '.join(named) or 'none'})"
            )
    results: list[DestinationSync] = []
    for item in chosen:
        with hub_lock(store, f"audience:{item.name}"):
            preview = _preview(store, item) if dry_run else (0, 0)
            if not dry_run:
                _refresh(store, item)
            for dest in item.destinations:
                if destination is not None and dest.name != destination:
                    continue
                sender = (senders or {}).get((item.name, dest.name))
                results.append(
                    _sync_destination(
                        config,
                        store,
                        item,
                        dest,
                        dry_run=dry_run,
                        progress=progress,
                        sender=sender,
                        preview=preview,
                    )
                )
    return results


def _preview(store: Store, item: AudienceConfig) -> tuple[int, int]:
    """(entered, exited) a recomputation of an edited or new audience would add, computed
    in memory for a dry run, which changes nothing."""
    with store.engine.connect() as conn:
        if not stale_audiences(conn, [item]):
            return 0, 0
        frame, _ = stored_profile_frame(conn)
        m = audience_members.c
        before = conn.execute(sa.select(m.golden_id).where(m.audience == item.name)).scalars()
        entered, exited = changes(np.asarray(list(before), dtype=str), members(item.rule, frame))
    return len(entered), len(exited)


def _refresh(store: Store, item: AudienceConfig) -> None:
    """Recompute the audience from the stored profiles when its rule changed (or it was
    never computed): a new or edited audience needs no new analysis to be synced.

    Under the analysis's lock: events must be appended by one writer at a time, so that
    their ids grow in commit order and no destination's cursor passes an event committed
    later with a smaller id."""
    with store.engine.connect() as conn:
        stale = stale_audiences(conn, [item])
    if not stale:
        return
    with hub_lock(store, ANALYSE_LOCK), store.transaction() as conn:
        frame, run_id = stored_profile_frame(conn)
        if run_id is None:
            raise HubError(
                f"audience {item.name!r}: no customer profiles yet — run `crmhub analyse` first"
            )
        recompute(conn, [item], frame, run_id)
