"""`crmhub status` and `crmhub unlock`: what the hub holds and how its runs went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.common import ConfigOpt, console, open_hub
from hub.cli.output import JsonOpt, WideOpt, add_columns, moment, new_table, print_json, say

__all__ = ["register", "status", "unlock"]

_COUNTS = ("read", "inserted", "updated", "deleted", "quarantined")


def _run_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "pid"}


def status(
    config: ConfigOpt = Path("hub.yaml"), json: JsonOpt = False, wide: WideOpt = False
) -> None:
    """Show the last runs, record counts per source, the last pushes and open quarantine.

    --json keys: runs (one object per connector run, newest first: id, connector, status,
    error, started_at, finished_at, dry_run, full_refresh, records_*), sources (source, records,
    deleted, customers, interactions, quarantined), pushes (id, connector, status, error,
    mode, dry_run, started_at, finished_at, created, updated, unchanged, failed),
    push_retries_pending, records, quarantined, golden_records.
    """
    from rich.text import Text

    from hub.cli.push import last_pushes, push_runs_table
    from hub.store.status import hub_status

    _, store = open_hub(config)
    try:
        st = hub_status(store)
        pushes, pending = last_pushes(store)
    finally:
        store.dispose()
    records = sum(s.raw for s in st.sources)
    quarantined = sum(s.quarantined for s in st.sources)
    if json:
        print_json(
            {
                "runs": [_run_json(r) for r in st.runs],
                "sources": [
                    {
                        "source": s.source,
                        "records": s.raw,
                        "deleted": s.deleted,
                        "customers": s.customers,
                        "interactions": s.interactions,
                        "quarantined": s.quarantined,
                    }
                    for s in st.sources
                ],
                "pushes": [_run_json(p) for p in pushes],
                "push_retries_pending": pending,
                "records": records,
                "quarantined": quarantined,
                "golden_records": st.golden_records,
            }
        )
        return
    runs = new_table(title="Last runs")
    add_columns(runs, "#run", "connector", "=status", "=started", "#read", "#new", "#upd")
    add_columns(runs, "#del", "#quar.", *(("#unch.", "#finished", "error") if wide else ()))
    failures: list[str] = []
    for r in st.runs:
        name = r["connector"] + (" (dry run)" if r["dry_run"] else "")
        cells = [str(r["id"]), name, r["status"], moment(r["started_at"], wide)]
        cells += [f"{r[f'records_{k}']:,}" for k in _COUNTS]
        if wide:
            cells += [
                f"{r['records_unchanged']:,}",
                moment(r["finished_at"], wide),
                r["error"] or "",
            ]
        elif r["error"]:
            failures.append(f"run {r['id']} ({r['connector']}) {r['status']}: {r['error']}")
        runs.add_row(*(Text(c) for c in cells))
    console.print(runs)
    for line in failures:
        say(line, indent=2)
    sources = new_table(title="Per source")
    add_columns(sources, "source", "#records", "#deleted", "#customers", "#interactions")
    add_columns(sources, "#quarantined")
    for s in st.sources:
        counts = (s.raw, s.deleted, s.customers, s.interactions, s.quarantined)
        sources.add_row(Text(s.source), *(f"{v:,}" for v in counts))
    console.print(sources)
    console.print(push_runs_table(pushes, pending, wide=wide))
    say(
        f"{records:,} records from {len(st.sources)} source(s), {quarantined:,} in quarantine, "
        f"{st.golden_records:,} golden records"
    )


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
    """Add `crmhub status` and `unlock` to the app."""
    app.command()(status)
    app.command()(unlock)
