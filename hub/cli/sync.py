"""`crmhub sync`: pull records from the configured connectors into the hub store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hub.cli.common import ConfigOpt, ExitCode, console, err, open_hub

if TYPE_CHECKING:
    from hub.store.database import Store
    from hub.sync.run import SyncResult
    from schemas.config import HubConfig

__all__ = ["register", "run_sync", "sync_command"]


def run_sync(
    cfg: HubConfig, store: Store, connector: str | None, full_refresh: bool, dry_run: bool
) -> list[SyncResult]:
    """Sync with one live progress line per connector (read · written · quarantined).

    Ctrl-C or SIGTERM ends it cleanly: what each connector had committed is kept and said,
    and the command exits 130 (the next sync resumes from the last checkpoint).
    """
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from hub.store.locks import LockError
    from hub.sync.run import sync
    from hub.sync.writes import WriteCounts

    targets = [connector] if connector else [c.name for c in cfg.connectors]
    results: list[SyncResult] = []
    current: str | None = None
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def update(name: str, counts: WriteCounts) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=None, counts="")
                progress.update(
                    tasks[name],
                    counts=f"{counts.read:,} read · {counts.inserted + counts.updated:,} written"
                    f" · {counts.quarantined:,} quarantined",
                )

            for current in targets:  # one at a time, to know which one an interrupt stops
                results += sync(
                    cfg,
                    store,
                    only=current,
                    full_refresh=full_refresh,
                    dry_run=dry_run,
                    on_progress=update,
                )
            current = None
            for name, task in tasks.items():
                progress.update(task, total=1, completed=1, description=f"{name} done")
    except KeyboardInterrupt:
        records, saved = (0, False) if current is None or dry_run else _kept(store, current)
        _report_interrupt(results, current, records, saved, targets, dry_run)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except LockError:  # another run holds one connector: say what did run, then exit 3
        for res in results:
            console.print(f"[{'green' if res.ok else 'red'}]{escape(res.summary())}[/]")
        raise
    return results


def _kept(store: Store, connector: str) -> tuple[int, bool]:
    """What the connector's last run committed: the records it stored or quarantined, and
    whether it saved a checkpoint (a stream's bookmark in its Singer state) to resume from."""
    import sqlalchemy as sa

    from hub.store.tables import connector_runs, quarantine, raw_records, stream_state

    run = (
        sa.select(sa.func.max(connector_runs.c.id))
        .where(connector_runs.c.connector == connector)
        .scalar_subquery()
    )
    r, q, s = raw_records.c, quarantine.c, stream_state.c
    with store.engine.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).where(r.source == connector, r.last_seen_run_id == run)
        ).scalar_one()
        bad = conn.execute(
            sa.select(sa.func.count()).where(q.source == connector, q.last_run_id == run)
        ).scalar_one()
        states = conn.execute(
            sa.select(s.state).where(s.source == connector, s.run_id == run)
        ).scalars()
        # a bookmark to resume from; progress markers of an unsorted stream are not one
        saved = any(isinstance(v, dict) and "replication_key_value" in v for v in states)
    return int(stored) + int(bad), saved


def _report_interrupt(
    results: list[SyncResult],
    current: str | None,
    records: int,
    checkpointed: bool,
    targets: list[str],
    dry: bool,
) -> None:
    """What an interrupted sync leaves: the finished connectors, the one it stopped, the rest."""
    for res in results:
        console.print(f"[{'green' if res.ok else 'red'}]{escape(res.summary())}[/]")
    if dry:
        kept = "a dry run: nothing was written"
    elif current is None:
        kept = "every connector had finished"
    elif records and checkpointed:
        kept = (
            f"{current}: {records:,} records committed up to the last checkpoint; the next "
            "sync resumes from there"
        )
    elif records:
        kept = (
            f"{current}: {records:,} records committed, before its first checkpoint; the next "
            "sync reads it again from its previous bookmark and finds those records unchanged"
        )
    else:
        kept = f"{current}: nothing committed yet; the next sync starts it again"
    err.print(f"[yellow]interrupted[/] — {escape(kept)}", soft_wrap=False)
    rest = targets[targets.index(current) + 1 :] if current in targets else []
    if rest:
        err.print(f"not started: {escape(', '.join(rest))}")


def sync_command(
    config: ConfigOpt = Path("hub.yaml"),
    connector: Annotated[
        str | None, typer.Option("--connector", help="Sync only this connector.")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore bookmarks and re-read everything.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and report what would change; write nothing.")
    ] = False,
) -> None:
    """Pull records from the configured connectors into the hub store."""
    from hub.cli.quarantine import quarantine_line
    from hub.sync.writes import WriteCounts

    cfg, store = open_hub(config)
    results = run_sync(cfg, store, connector, full_refresh, dry_run)
    for res in results:
        style = ("yellow" if res.warnings else "green") if res.ok else "red"
        console.print(f"[{style}]{escape(res.summary())}[/]")
        if res.counts.quarantined and dry_run:
            console.print(f"  {res.connector}: {res.counts.quarantined:,} would be quarantined")
        elif res.counts.quarantined:  # one line per connector; the rows are in the store
            line = quarantine_line(store, res.connector, res.run_id, res.counts.quarantined)
            console.print(f"  [yellow]{escape(line)}[/]")
    total = WriteCounts()
    for res in results:
        total.add(res.counts)
    failed = [r.connector for r in results if not r.ok]
    prefix = "DRY RUN (nothing written): " if dry_run else ""
    console.print(
        f"{prefix}synced {len(results) - len(failed)}/{len(results)} connector(s): "
        f"{total.read:,} read, {total.inserted:,} new, {total.updated:,} updated, "
        f"{total.deleted:,} deleted, {total.quarantined:,} quarantined"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + (f"; {warned} warning(s)" if (warned := sum(len(r.warnings) for r in results)) else "")
    )
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def register(app: typer.Typer) -> None:
    """Add `crmhub sync` to the app."""
    app.command(name="sync")(sync_command)
