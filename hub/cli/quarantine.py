"""`crmhub quarantine`: the records a sync could not take — where, why, and how many.

Also what a sync prints about them: one line per connector with the count by stage
(`quarantine_line`), while the rows themselves stay in the store's quarantine table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import ConfigOpt, console, fail, open_hub
from hub.cli.output import JsonOpt, WideOpt, add_columns, new_table, print_json, say

if TYPE_CHECKING:
    from hub.store.database import Store
    from schemas.config import HubConfig

__all__ = ["known_sources", "quarantine_command", "quarantine_line", "register"]

_RAW_CHARS = 200  # of a raw row, with --wide (the whole text is in --json)


def known_sources(config: HubConfig, store: Store) -> list[str]:
    """The configured connectors and every source the store holds records or quarantine of."""
    import sqlalchemy as sa

    from hub.store.tables import quarantine, raw_records

    names = {c.name for c in config.connectors}
    with store.engine.connect() as conn:
        for table in (quarantine, raw_records):
            names.update(conn.execute(sa.select(table.c.source).distinct()).scalars())
    return sorted(names)


def _open_count(store: Store, source: str | None) -> int:
    import sqlalchemy as sa

    from hub.store.tables import quarantine

    q = quarantine.c
    query = sa.select(sa.func.count()).where(q.resolved_at.is_(None))
    if source:
        query = query.where(q.source == source)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def quarantine_line(store: Store, connector: str, run_id: int, total: int) -> str:
    """`billing: 3 records quarantined (2 schema, 1 parse) — crmhub quarantine --source billing`
    for one sync run (a dry run stores nothing, so it has the total only)."""
    import sqlalchemy as sa

    from hub.store.tables import quarantine

    q = quarantine.c
    with store.engine.connect() as conn:
        by_stage = conn.execute(
            sa.select(q.stage, sa.func.count())
            .where(q.source == connector, q.last_run_id == run_id)
            .group_by(q.stage)
            .order_by(sa.func.count().desc(), q.stage)
        ).all()
    stages = ", ".join(f"{n:,} {stage}" for stage, n in by_stage)
    noun = "record" if total == 1 else "records"
    return (
        f"{connector}: {total:,} {noun} quarantined"
        + (f" ({stages})" if stages else "")
        + f" — crmhub quarantine --source {connector}"
    )


def quarantine_command(
    config: ConfigOpt = Path("hub.yaml"),
    source: Annotated[
        str | None, typer.Option(help="Only this source (a connector's name).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many, newest first.")] = 20,
    show_all: Annotated[bool, typer.Option("--all", help="Show every open item.")] = False,
    json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List quarantined records: where they came from, why, and (--wide, --json) their raw text.

    --json keys: total (open items matching), shown, source, items (id, source, stream,
    source_id, stage, reason, location, raw, first_run_id, last_run_id, created_at).
    """
    from hub.store.status import quarantined_items

    cfg, store = open_hub(config)
    try:
        if source is not None:
            known = known_sources(cfg, store)
            if source not in known:
                raise fail(f"unknown source {source!r} — known: {', '.join(known) or 'none yet'}")
        total = _open_count(store, source)
        items = quarantined_items(store, source=source, limit=total if show_all else limit)
    finally:
        store.dispose()
    if json:
        keys = ["id", "source", "stream", "source_id", "stage", "reason", "location", "raw"]
        keys += ["first_run_id", "last_run_id", "created_at"]
        rows = [{k: q[k] for k in keys} for q in items]
        print_json({"total": total, "shown": len(rows), "source": source, "items": rows})
        return
    from rich.text import Text

    table = new_table()
    if wide:
        add_columns(table, "#id", "=source", "stream", "record", "=stage", "location", "reason")
        add_columns(table, "raw", "#run")
    else:
        add_columns(table, "source", "record", "=stage", "reason")
    for q in items:
        if wide:
            raw = q["raw"] if len(q["raw"]) <= _RAW_CHARS else q["raw"][: _RAW_CHARS - 1] + "…"
            cells = [q["id"], q["source"], q["stream"], q["source_id"] or "—", q["stage"]]
            cells += [q["location"] or "—", q["reason"], raw, q["last_run_id"]]
            table.add_row(*(Text(str(c)) for c in cells))
        else:
            reason = Text(q["reason"])
            if q["location"]:
                reason.append(f"\nat {q['location']}", style="dim")
            source_stream = Text(f"{q['source']}/{q['stream']}")
            table.add_row(source_stream, Text(q["source_id"] or "—"), Text(q["stage"]), reason)
    if items:
        console.print(table)
    scope = f" from {source}" if source else ""
    if len(items) < total:
        say(
            f"showing {len(items):,} of {total:,} quarantined records{scope} — use "
            "--limit/--all/--json"
        )
    else:
        say(f"{total:,} quarantined record(s){scope}" + ("" if total else ": nothing to fix"))
    if items and not wide:
        say("their raw rows: add --wide (or --json)")


def register(app: typer.Typer) -> None:
    """Add `crmhub quarantine` to the app."""
    app.command(name="quarantine")(quarantine_command)
