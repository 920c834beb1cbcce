"""`crmhub push`: write golden ids and corrected contact data back into the systems."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import ConfigOpt, console, err, exit_code_for, fail, open_hub
from hub.cli.output import JsonOpt, WideOpt, print_json, say

if TYPE_CHECKING:
    from rich.table import Table

    from hub.push.plan import Plan
    from hub.store.database import Store

__all__ = ["last_pushes", "plan_json", "print_plan", "push_runs_table", "register"]


def print_plan(plan: Plan, *, wide: bool = False) -> None:
    """Per system: creates, updates with before -> after, unchanged; one row per field."""
    from rich.text import Text

    from hub.cli.output import add_columns, new_table

    say(
        f"{plan.connector} ({plan.mode}): {len(plan.creates)} to create, "
        f"{len(plan.updates)} to update, {plan.unchanged} unchanged"
    )
    for note in plan.notes:
        say(f"note: {note}", indent=2)
    if not plan.changes:
        return
    table = new_table()
    add_columns(table, "=change", "record", "field", "before", "after")
    if wide:
        add_columns(table, "=golden id")
    for change in plan.changes:
        fields: list[tuple[str, object, object]] = []
        if change.golden_id_changed:
            fields.append(
                (plan.golden_id_field, change.before.get(plan.golden_id_field), change.golden_id)
            )
        fields += [(f, change.before.get(f), v) for f, v in sorted(change.values.items())]
        for n, (name, before, after) in enumerate(fields):
            first = n == 0
            cells = [
                change.kind if first else "",
                (change.source_id or "(new)") if first else "",
                name,
                "—" if before is None else repr(before),
                "—" if after is None else repr(after),
            ]
            if wide:
                cells.append(change.golden_id if first else "")
            table.add_row(*(Text(c) for c in cells))
    console.print(table)


def plan_json(plan: Plan) -> dict[str, Any]:
    """A push plan for --json: per change its record, golden id and each field before/after."""
    return {
        "connector": plan.connector,
        "mode": plan.mode,
        "golden_id_field": plan.golden_id_field,
        "creates": len(plan.creates),
        "updates": len(plan.updates),
        "unchanged": plan.unchanged,
        "notes": list(plan.notes),
        "changes": [
            {
                "kind": c.kind,
                "stream": c.stream,
                "source_id": c.source_id,
                "golden_id": c.golden_id,
                "golden_id_changed": c.golden_id_changed,
                "fields": {
                    f: {"before": c.before.get(f), "after": v} for f, v in sorted(c.values.items())
                },
            }
            for c in plan.changes
        ],
    }


def last_pushes(store: Store, limit: int = 10) -> tuple[list[dict[str, Any]], int]:
    """The last push runs, newest first, and the count of records waiting to be retried."""
    import sqlalchemy as sa

    from hub.store.tables import push_failures, push_runs

    r = push_runs.c
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(push_runs).order_by(r.id.desc()).limit(limit)).all()
        pending = conn.execute(sa.select(sa.func.count()).select_from(push_failures)).scalar()
    return [dict(row._mapping) for row in rows], int(pending or 0)


def push_runs_table(rows: list[dict[str, Any]], pending: int, *, wide: bool = False) -> Table:
    """The last pushes per system, with the count of records waiting to be retried."""
    from rich.text import Text

    from hub.cli.output import add_columns, moment, new_table

    table = new_table(
        title="Last pushes",
        caption=f"{pending:,} record(s) refused by a system, retried on the next push",
    )
    add_columns(table, "#run", "system", "=status", "=started", "#created", "#updated")
    add_columns(table, "#unchanged", "#failed", *(("=mode", "error") if wide else ()))
    for row in rows:
        status = row["status"] if wide or not row["error"] else f"{row['status']}*"
        cells = [
            str(row["id"]),
            row["connector"] + (" (dry run)" if row["dry_run"] else ""),
            status,
            moment(row["started_at"], wide),
            *(f"{row[k]:,}" for k in ("created", "updated", "unchanged", "failed")),
        ]
        if wide:
            cells += [row["mode"], row["error"] or ""]
        table.add_row(*(Text(c) for c in cells))
    if not wide and any(row["error"] for row in rows):
        table.caption = f"{table.caption}; * failed: see --wide or --json for the error"
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
    json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Push golden ids and contact corrections to the systems (pushback.targets in hub.yaml).

    Only changes are sent: what a system already has, or the hub already wrote, is skipped.
    A record a system refuses is recorded with its error and retried on the next push.

    --json keys: pushes (one per system: connector, run_id, dry_run, status, created, updated,
    unchanged, failed, errors [{record, error}], plan {connector, mode, golden_id_field,
    creates, updates, unchanged, notes, changes [{kind, stream, source_id, golden_id,
    golden_id_changed, fields {name: {before, after}}}]}).
    """
    from rich.markup import escape
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
    with Progress(*columns, console=err, transient=True, disable=json) as progress:
        tasks: dict[str, Any] = {}

        def update(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(f"push {name}", total=total)
            progress.update(tasks[name], completed=done)

        try:
            results = push(cfg, store, connector=connector, dry_run=dry_run, progress=update)
        except HubError as error:
            raise fail(error, exit_code_for(error)) from error
    if json:
        print_json(
            {
                "pushes": [
                    {
                        "connector": r.connector,
                        "run_id": r.run_id,
                        "dry_run": r.dry_run,
                        "status": r.status,
                        "created": r.created,
                        "updated": r.updated,
                        "unchanged": r.plan.unchanged,
                        "failed": r.failed,
                        "errors": [{"record": k, "error": m} for k, m in r.errors],
                        "plan": plan_json(r.plan),
                    }
                    for r in results
                ]
            }
        )
    for result in [] if json else results:
        if dry_run:
            print_plan(result.plan, wide=wide)
        colour = "yellow" if result.failed else "green"
        console.print(f"[{colour}]{escape(result.summary())}[/]")
        for key, message in result.errors[:20]:
            say(f"refused {key}: {message}", indent=2)


def register(app: typer.Typer) -> None:
    """Add `crmhub push` to the app."""
    app.command(name="push")(push_command)
