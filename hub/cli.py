"""The `crmhub` command line: init, check, sync, status, quarantine, resolve, demo, and
(from hub.steward_cli) serve, user and review."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hub import steward_cli
from hub.check import check_connector
from hub.collector import cli as collector_cli
from hub.demo import write_example
from hub.errors import HubError
from hub.push import cli as push_cli
from hub.records import WriteCounts
from hub.status import hub_status, quarantined_items
from hub.store import Store
from hub.sync import SyncResult, sync
from schemas.config import ConfigError, HubConfig, load_config

__all__ = ["app", "main"]

app = typer.Typer(
    name="crmhub",
    help="crm-hub: pull customer data from every system, resolve it into golden records.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(soft_wrap=True)  # one-line summaries stay one line (grep-able)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config", "-c", envvar="CRMHUB_CONFIG", help="Path to hub.yaml.", show_default=True
    ),
]


def _load(path: Path) -> tuple[HubConfig, Store]:
    config = load_config(path)
    store = Store.from_config(config)
    store.migrate()
    return config, store


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write hub.yaml and data/.")] = Path(),
    force: Annotated[bool, typer.Option(help="Overwrite an existing hub.yaml.")] = False,
) -> None:
    """Write an example hub.yaml plus sample ERP, billing, support and web data."""
    files = write_example(directory, force=force)
    console.print(f"Wrote {len(files)} files under {directory.resolve()}:")
    for f in files:
        console.print(f"  {f}")
    console.print("Next: [bold]crmhub check[/] then [bold]crmhub sync[/]")


@app.command()
def check(config: ConfigOpt = Path("hub.yaml")) -> None:
    """Validate hub.yaml and test each connector's connection (runs its discovery)."""
    cfg = load_config(config)
    console.print(f"[green]✓[/] {config}: valid ({len(cfg.connectors)} connector(s))")
    failed = 0
    for conn in cfg.connectors:
        result = check_connector(cfg, conn)
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        console.print(f"{mark} {result.connector}: {result.detail}")
        failed += not result.ok
    store = Store.from_config(cfg)
    store.migrate()
    console.print(f"[green]✓[/] store: {store.display_url}")
    if failed:
        raise typer.Exit(1)


def _run_sync(
    cfg: HubConfig, store: Store, connector: str | None, full_refresh: bool, dry_run: bool
) -> list[SyncResult]:
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


@app.command(name="sync")
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
    cfg, store = _load(config)
    results = _run_sync(cfg, store, connector, full_refresh, dry_run)
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


@app.command()
def status(config: ConfigOpt = Path("hub.yaml")) -> None:
    """Show the last runs, record counts per source, and open quarantine."""
    _, store = _load(config)
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
    console.print(push_cli.push_runs_table(store))
    total_q = sum(s.quarantined for s in st.sources)
    console.print(
        f"{sum(s.raw for s in st.sources):,} records from {len(st.sources)} source(s), "
        f"{total_q:,} in quarantine, {st.golden_records:,} golden records"
    )


@app.command(name="quarantine")
def quarantine_command(
    config: ConfigOpt = Path("hub.yaml"),
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
) -> None:
    """List quarantined records: where they came from, why, and their raw text."""
    _, store = _load(config)
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


def _resolve_batch(input_path: Path, crosswalk: Path, golden: Path | None) -> None:
    from hub.batch import read_records, write_crosswalk, write_golden
    from identity.resolve import resolve

    started = time.monotonic()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(f"reading {input_path}", total=None)
        read = read_records(input_path)
        for bad in read.bad[:10]:
            err.print(f"[yellow]warning:[/] {input_path}:{bad.line}: {bad.reason} — line skipped")
        result = resolve(
            read.records,
            progress=lambda msg: progress.update(task, description=msg),
            build_golden=golden is not None,
        )
        progress.update(task, description=f"writing {crosswalk}")
        write_crosswalk(result, crosswalk)
        if golden is not None:
            write_golden(result, golden)
    s = result.stats
    non_identifying = sum(v for k, v in s.items() if k.startswith("non_identifying_"))
    console.print(
        f"resolved {s['records']:,} records into {s['golden_records']:,} golden records "
        f"({s['merged_records']:,} merged, {s['review_pairs']:,} pairs for review, "
        f"{s['candidate_pairs']:,} pairs compared, {s['placeholder_values']:,} placeholder "
        f"and {non_identifying:,} non-identifying values ignored, "
        f"{len(read.bad):,} unusable lines) in {time.monotonic() - started:.1f}s"
    )


@app.command()
def resolve(
    config: ConfigOpt = Path("hub.yaml"),
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input", help="Batch mode: CustomerRecord JSON Lines (.jsonl or .jsonl.gz)."
        ),
    ] = None,
    crosswalk: Annotated[
        Path | None,
        typer.Option("--crosswalk", help="Batch mode: write source,source_id,golden_id CSV here."),
    ] = None,
    golden: Annotated[
        Path | None, typer.Option("--golden", help="Batch mode: also write golden records (JSONL).")
    ] = None,
) -> None:
    """Resolve identities into golden records.

    With --input/--crosswalk: a standalone batch run (no hub.yaml, no store, unsupervised).
    Without: resolves the hub store's customer records incrementally, keeping golden ids stable.
    """
    if input_path is not None or crosswalk is not None:
        if input_path is None or crosswalk is None:
            raise HubError("batch mode needs both --input FILE.jsonl and --crosswalk OUT.csv")
        if not input_path.is_file():
            raise HubError(f"{input_path}: no such file — give a CustomerRecord JSON Lines file")
        _resolve_batch(input_path, crosswalk, golden)
        return
    from hub.golden import resolve_store

    cfg, store = _load(config)
    summary = resolve_store(cfg, store, actor="crmhub resolve")
    console.print(summary.line())


@app.command()
def unlock(
    name: Annotated[str, typer.Argument(help="e.g. sync:erp, resolve, push:billing")],
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Remove a lock left by a run on a host that is gone (locks on this host clear themselves)."""
    from hub.locks import release_lock

    _, store = _load(config)
    removed = release_lock(store, name)
    console.print(f"lock {name} removed" if removed else f"no lock {name} was held")


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")] = Path(
        "demo"
    ),
) -> None:
    """Write the example project and run the whole pipeline on an embedded SQLite store."""
    write_example(directory, force=True)
    console.print(f"Example project written to {directory.resolve()}")
    cfg, store = _load(directory / "hub.yaml")
    results = _run_sync(cfg, store, None, False, False)
    for res in results:
        console.print(("[green]" if res.ok else "[red]") + res.summary() + "[/]")
    from hub.golden import resolve_store

    console.print(resolve_store(cfg, store, actor="crmhub demo").line())
    from hub.push import push

    for pushed in push(cfg, store):
        console.print(pushed.summary())
    st = hub_status(store)
    console.print(
        f"Demo summary: {sum(s.raw for s in st.sources)} records from {len(st.sources)} "
        f"sources, {sum(s.customers for s in st.sources)} customer records, "
        f"{sum(s.interactions for s in st.sources)} interactions, "
        f"{sum(s.quarantined for s in st.sources)} quarantined, "
        f"{st.golden_records} golden records"
    )
    console.print(
        f"Explore: cd {directory} && ../.venv/bin/crmhub status && ../.venv/bin/crmhub quarantine"
    )
    console.print(
        "Steward UI: ../.venv/bin/crmhub user add NAME --role admin && "
        "../.venv/bin/crmhub serve, then open http://127.0.0.1:8000/"
    )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


steward_cli.register(app)
collector_cli.register(app)
push_cli.register(app)


def _quiet_plugins(record: logging.LogRecord) -> bool:
    """Taps' metrics and progress chatter stays out of the CLI; their warnings do not."""
    noisy = record.name.startswith(("singer_sdk", "tap-", "alembic"))
    return record.levelno >= logging.WARNING or not noisy


def main() -> None:
    """Console entry point: user mistakes become one clear line and exit code 2."""
    logging.basicConfig(level=os.environ.get("CRMHUB_LOG_LEVEL", "WARNING"))
    for handler in logging.getLogger().handlers:  # singer-sdk sets its own loggers to INFO
        handler.addFilter(_quiet_plugins)
    try:
        app()
    except (ConfigError, HubError, FileExistsError) as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2)
