"""`crmhub discover`: run an external tap's discovery afresh and show what hub.yaml selects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hub.cli.common import ConfigOpt, ExitCode, console, err

__all__ = ["discover_command", "register"]


def discover_command(
    config: ConfigOpt = Path("hub.yaml"),
    connector: Annotated[
        str | None, typer.Option("--connector", help="Only this connector.")
    ] = None,
) -> None:
    """Rediscover each external (Singer) tap's catalog into .crmhub/catalogs/ and list its
    streams, marking those that hub.yaml's `select:` selects (all when `select:` is not
    given) with their replication method and key."""
    from hub.sync.catalog import selected_streams, stream_id
    from hub.sync.discovery import catalog_path, prepare_catalog
    from hub.sync.run import plugin_dir
    from hub.sync.runners import external_command
    from schemas.config import load_config, resolve_connector_config

    cfg = load_config(config)
    targets = [cfg.connector(connector)] if connector else list(cfg.connectors)
    singer = [c for c in targets if c.type == "singer"]
    if not singer:
        err.print("no external (`type: singer`) connector to discover — built-in ones need none")
        raise typer.Exit(ExitCode.FAILED)
    failed = 0
    for conn in singer:
        try:
            settings = resolve_connector_config(conn)
            exe = external_command(conn, plugin_dir(cfg), cfg.base_dir)
            catalog = prepare_catalog(cfg, conn, settings, exe, refresh=True)
        except Exception as exc:  # a tap's failure is reported, the others still run
            from hub.core.errors import one_line

            console.print(f"[red]✗[/] {escape(conn.name)}: {escape(one_line(exc))}")
            failed += 1
            continue
        if catalog is None:
            console.print(
                f"[yellow]•[/] {escape(conn.name)}: the tap takes no catalog (no `catalog` or "
                "`properties` capability) — it syncs what it sends by itself"
            )
            continue
        chosen = set(selected_streams(catalog.catalog))
        console.print(
            f"[green]✓[/] {escape(conn.name)}: {len(catalog.streams)} stream(s), "
            f"{len(chosen)} selected ("
            + (f"passed as {catalog.flag}" if catalog.passed else "the tap's own defaults")
            + "; "
            f"cached in {catalog_path(cfg, conn)})"
        )
        for entry in sorted(catalog.catalog["streams"], key=stream_id):
            sid = stream_id(entry)
            node: dict[str, object] = next(
                (m["metadata"] for m in entry["metadata"] if not m["breadcrumb"]), {}
            )
            props = [
                m["breadcrumb"][-1]
                for m in entry["metadata"]
                if len(m["breadcrumb"]) == 2 and m["metadata"].get("selected")
            ]
            how = node.get("replication-method") or ""
            key = node.get("replication-key")
            extra = f" {how}" + (f" by {key}" if key else "") if how else ""
            mark = "[green]selected[/]  " if sid in chosen else "[dim]unselected[/]"
            detail = f" ({len(props)} properties{extra})" if sid in chosen else ""
            console.print(f"  {mark} {escape(sid)}{escape(detail)}")
        if not chosen:
            console.print("  [red]none selected[/] — a sync would read nothing; check `select:`")
            failed += 1
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def register(app: typer.Typer) -> None:
    """Add `crmhub discover` to the app."""
    app.command(name="discover")(discover_command)
