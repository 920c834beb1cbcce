"""`crmhub sync`: pull records from the configured connectors into the hub store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import ConfigOpt, console, open_hub

if TYPE_CHECKING:
    from hub.store.database import Store
    from hub.sync.run import SyncResult
    from schemas.config import HubConfig

__all__ = ["register", "run_sync", "sync_command"]


def run_sync(
    cfg: HubConfig, store: Store, connector: str | None, full_refresh: bool, dry_run: bool
) -> list[SyncResult]:
    """Sync with one live progress line per connector (read · written · quarantined)."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from hub.sync.run import sync
    from hub.sync.writes import WriteCounts

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

        results = sync(
            cfg,
            store,
            only=connector,
            full_refresh=full_refresh,
            dry_run=dry_run,
            on_progress=update,
        )
        for name, task in tasks.items():
            progress.update(task, total=1, completed=1, description=f"{name} done")
    return results


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
    from hub.sync.writes import WriteCounts

    cfg, store = open_hub(config)
    results = run_sync(cfg, store, connector, full_refresh, dry_run)
    for res in results:
        style = "green" if res.ok else "red"
        console.print(f"[{style}]{res.summary()}[/]")
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
    )
    if total.quarantined:
        console.print("See what was quarantined and why: [bold]crmhub quarantine[/]")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `crmhub sync` to the app."""
    app.command(name="sync")(sync_command)
