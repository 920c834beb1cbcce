"""`crmhub status`, `crmhub quarantine` and `crmhub unlock`: what the hub holds and how its
runs went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import ConfigOpt, console, open_hub

__all__ = ["quarantine_command", "register", "status", "unlock"]


def status(config: ConfigOpt = Path("hub.yaml")) -> None:
    """Show the last runs, record counts per source, and open quarantine."""
    from rich.table import Table

    from hub.cli.push import push_runs_table
    from hub.store.status import hub_status

    _, store = open_hub(config)
    st = hub_status(store)
    runs = Table("run", "connector", "status", "started", "read", "new", "upd", "del", "quar.")
    runs.title = "Last runs"
    for r in st.runs:
        runs.add_row(
            str(r["id"]),
            r["connector"] + (" (dry run)" if r["dry_run"] else ""),
            r["status"] + (f": {r['error']}" if r["error"] else ""),
            r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
            *(str(r[f"records_{k}"]) for k in ("read", "inserted", "updated", "deleted")),
            str(r["records_quarantined"]),
        )
    console.print(runs)
    sources = Table("source", "records", "deleted", "customers", "interactions", "quarantined")
    sources.title = "Per source"
    for s in st.sources:
        sources.add_row(
            s.source,
            *(str(v) for v in (s.raw, s.deleted, s.customers, s.interactions, s.quarantined)),
        )
    console.print(sources)
    console.print(push_runs_table(store))
    total_q = sum(s.quarantined for s in st.sources)
    console.print(
        f"{sum(s.raw for s in st.sources):,} records from {len(st.sources)} source(s), "
        f"{total_q:,} in quarantine, {st.golden_records:,} golden records"
    )


def quarantine_command(
    config: ConfigOpt = Path("hub.yaml"),
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """List quarantined records: where they came from, why, and their raw text."""
    from rich.table import Table

    from hub.store.status import quarantined_items

    _, store = open_hub(config)
    items = quarantined_items(store, source=source, limit=limit)
    table = Table("source", "stream", "id", "stage", "location", "reason", "raw")
    for q in items:
        raw = q["raw"] if len(q["raw"]) < 60 else q["raw"][:57] + "..."
        table.add_row(
            q["source"],
            q["stream"],
            q["source_id"] or "",
            q["stage"],
            q["location"] or "",
            q["reason"],
            raw,
        )
    console.print(table)
    console.print(f"{len(items)} open quarantine item(s) shown")


def unlock(
    name: Annotated[str, typer.Argument(help="e.g. sync:erp, resolve, push:billing")],
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Remove a lock left by a run on a host that is gone (locks on this host clear themselves)."""
    from hub.store.locks import release_lock

    _, store = open_hub(config)
    removed = release_lock(store, name)
    console.print(f"lock {name} removed" if removed else f"no lock {name} was held")


def register(app: typer.Typer) -> None:
    """Add `crmhub status`, `quarantine` and `unlock` to the app."""
    app.command()(status)
    app.command(name="quarantine")(quarantine_command)
    app.command()(unlock)
