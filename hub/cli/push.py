"""`crmhub push`: write golden ids and corrected contact data back into the systems."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import ConfigOpt, console, err, open_hub

if TYPE_CHECKING:
    from rich.table import Table

    from hub.push.plan import Plan
    from hub.store.database import Store

__all__ = ["print_plan", "push_runs_table", "register"]


def print_plan(plan: Plan) -> None:
    """Per system: creates, updates with before -> after, unchanged."""
    console.print(
        f"[bold]{plan.connector}[/] ({plan.mode}): {len(plan.creates)} to create, "
        f"{len(plan.updates)} to update, {plan.unchanged} unchanged"
    )
    for note in plan.notes:
        console.print(f"  [yellow]note:[/] {note}")
    for change in plan.changes:
        where = change.source_id or "(new)"
        parts = []
        if change.golden_id_changed:
            parts.append(f"{plan.golden_id_field}: -> {change.golden_id}")
        parts += [
            f"{f}: {change.before.get(f)!r} -> {v!r}" for f, v in sorted(change.values.items())
        ]
        console.print(f"  {change.kind} {where}: " + "; ".join(parts))


def push_runs_table(store: Store, limit: int = 10) -> Table:
    """The last pushes per system, with the count of records waiting to be retried."""
    import sqlalchemy as sa
    from rich.table import Table

    from hub.store.tables import push_failures, push_runs

    r = push_runs.c
    table = Table("run", "system", "status", "started", "created", "updated", "unchanged", "failed")
    table.title = "Last pushes"
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(push_runs).order_by(r.id.desc()).limit(limit)).all()
        pending = conn.execute(sa.select(sa.func.count()).select_from(push_failures)).scalar()
    for row in rows:
        table.add_row(
            str(row.id),
            row.connector + (" (dry run)" if row.dry_run else ""),
            row.status + (f": {row.error}" if row.error else ""),
            row.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            *(str(v) for v in (row.created, row.updated, row.unchanged, row.failed)),
        )
    table.caption = f"{pending or 0} record(s) refused by a system, retried on the next push"
    return table


def push_command(
    connector: Annotated[
        str | None, typer.Option("--connector", help="Only this system (default: every target).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan (creates, before -> after); send nothing."),
    ] = False,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Push golden ids and contact corrections to the systems (pushback.targets in hub.yaml).

    Only changes are sent: what a system already has, or the hub already wrote, is skipped.
    A record a system refuses is recorded with its error and retried on the next push.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.core.errors import HubError
    from hub.push.run import push

    cfg, store = open_hub(config)
    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(f"push {name}", total=total)
            progress.update(tasks[name], completed=done)

        try:
            results = push(cfg, store, connector=connector, dry_run=dry_run, progress=update)
        except HubError as error:
            err.print(f"[red]error:[/] {error}")
            raise typer.Exit(2) from error
    for result in results:
        if dry_run:
            print_plan(result.plan)
        colour = "yellow" if result.failed else "green"
        console.print(f"[{colour}]{result.summary()}[/]")
        for key, message in result.errors[:20]:
            console.print(f"  [red]refused[/] {key}: {message}")


def register(app: typer.Typer) -> None:
    """Add `crmhub push` to the app."""
    app.command(name="push")(push_command)
