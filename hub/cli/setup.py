"""`crmhub init`, `crmhub check` and `crmhub demo`: start a project and see it work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import ConfigOpt, console, open_hub

__all__ = ["check", "demo", "init", "register"]


def init(
    directory: Annotated[Path, typer.Argument(help="Where to write hub.yaml and data/.")] = Path(),
    force: Annotated[bool, typer.Option(help="Overwrite an existing hub.yaml.")] = False,
) -> None:
    """Write an example hub.yaml plus sample ERP, billing, support and web data."""
    from hub.cli.example import write_example

    files = write_example(directory, force=force)
    console.print(f"Wrote {len(files)} files under {directory.resolve()}:")
    for f in files:
        console.print(f"  {f}")
    console.print("Next: [bold]crmhub check[/] then [bold]crmhub sync[/]")


def check(config: ConfigOpt = Path("hub.yaml")) -> None:
    """Validate hub.yaml and test each connector's connection (runs its discovery)."""
    from rich.markup import escape

    from hub.analyse.audiences import check_audiences
    from hub.analyse.settings import spec_from_config
    from hub.analyse.worklists import check_worklists
    from hub.push.system_destinations import check_system_destinations
    from hub.store.database import Store
    from hub.sync.check import check_connector
    from schemas.config import load_config

    cfg = load_config(config)
    spec = spec_from_config(cfg.analytics)  # a bad trait is refused here, not at 2 a.m.
    check_audiences(cfg, spec)  # and an audience rule naming an unknown trait
    check_worklists(cfg, spec)  # and a worklist rule naming one
    check_system_destinations(cfg)  # and an audience sent to a connector that cannot take it
    console.print(
        f"[green]✓[/] {escape(str(config))}: valid ({len(cfg.connectors)} connector(s), "
        f"{len(spec.traits)} profile traits, {len(cfg.audiences)} audience(s), "
        f"{len(cfg.worklists.rules)} worklist rule(s))"
    )
    failed = 0
    for conn in cfg.connectors:
        result = check_connector(cfg, conn)
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        console.print(f"{mark} {escape(result.connector)}: {escape(result.detail)}")
        failed += not result.ok
    store = Store.open(cfg)
    console.print(f"[green]✓[/] store: {store.display_url}")
    if failed:
        raise typer.Exit(1)


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")] = Path(
        "demo"
    ),
) -> None:
    """Write the example project and run the whole pipeline on an embedded SQLite store."""
    from hub.analyse.run import analyse_store
    from hub.cli.example import write_example
    from hub.cli.sync import run_sync
    from hub.push.run import push
    from hub.resolve.run import resolve_store
    from hub.store.status import hub_status

    write_example(directory, force=True)
    console.print(f"Example project written to {directory.resolve()}")
    cfg, store = open_hub(directory / "hub.yaml")
    results = run_sync(cfg, store, None, False, False)
    for res in results:
        console.print(("[green]" if res.ok else "[red]") + res.summary() + "[/]")
    console.print(resolve_store(cfg, store, actor="crmhub demo").line())
    console.print(analyse_store(cfg, store, actor="crmhub demo").line())
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


def register(app: typer.Typer) -> None:
    """Add `crmhub init`, `check` and `demo` to the app."""
    app.command()(init)
    app.command()(check)
    app.command()(demo)
